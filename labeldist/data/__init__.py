"""Datasets: texts with per-annotator labels, their human label distributions (paper eq. 1), and test sets.

Public API::

    load_dataset(name, *, root=None, skip_invalid=False) -> Dataset
    list_datasets(root=None) -> list[DatasetInfo]
    read_annotated_file(path, *, layout="auto", labels=None, multilabel=True, ...) -> Dataset
    open_dataset(name_or_path, *, root=None, skip_invalid=False, **file_options) -> Dataset
    sample_test_set(dataset, *, n=200, seed=0, splits=None) -> tuple[Example, ...]
    sample_multilabel_test_set(dataset, *, n=200, seed=0, splits=None) -> tuple[Example, ...]
    check_no_overlap(demos, test_items) -> None   # raises LabeldistError on overlap
    train_base_rates(examples, label_set) -> list[float] | None
    install_vader(dest=None) -> Path

Every loader returns :class:`~labeldist.records.Dataset`; rows skipped under
``skip_invalid=True`` are listed in ``Dataset.skipped``.
"""

from __future__ import annotations

from pathlib import Path

from labeldist.data.baserates import train_base_rates
from labeldist.data.files import LAYOUTS, read_annotated_file
from labeldist.data.layout import FileLayout
from labeldist.data.registry import (
    REGISTRY,
    DatasetInfo,
    DatasetSpec,
    describe,
    eval_splits,
    list_datasets,
    load_dataset,
    resolve_root,
)
from labeldist.data.testsets import (
    agreement_of,
    cell_of,
    check_no_overlap,
    sample_multilabel_test_set,
    sample_test_set,
)
from labeldist.errors import LabeldistError
from labeldist.records import Dataset


def open_dataset(name_or_path: str | Path, *, root: str | Path | None = None, skip_invalid: bool = False,
                 **file_options) -> Dataset:
    """A registered dataset by name, or an annotated file by path (for ``labeldist run``).

    A string naming a registered dataset wins; anything else is read as a file with
    :func:`read_annotated_file` and ``file_options``.
    """
    if isinstance(name_or_path, str) and name_or_path in REGISTRY:
        return load_dataset(name_or_path, root=root, skip_invalid=skip_invalid)
    if not Path(name_or_path).exists():
        raise LabeldistError(f"{str(name_or_path)!r} is neither a registered dataset nor an existing file",
                             f"use one of {', '.join(REGISTRY)} or a path to a CSV/TSV/JSONL/Parquet file")
    return read_annotated_file(name_or_path, skip_invalid=skip_invalid, **file_options)


def __getattr__(name: str):
    # Lazy, so that `python -m labeldist.data.vader` does not import the module twice.
    if name in ("install_vader", "vader_data_dir"):
        from labeldist.data import vader

        return getattr(vader, name)
    raise AttributeError(f"module 'labeldist.data' has no attribute {name!r}")


__all__ = [
    "LAYOUTS",
    "FileLayout",
    "REGISTRY",
    "DatasetInfo",
    "DatasetSpec",
    "agreement_of",
    "cell_of",
    "check_no_overlap",
    "describe",
    "eval_splits",
    "install_vader",
    "list_datasets",
    "load_dataset",
    "open_dataset",
    "read_annotated_file",
    "resolve_root",
    "sample_multilabel_test_set",
    "sample_test_set",
    "train_base_rates",
    "vader_data_dir",
]
