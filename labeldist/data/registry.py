"""Dataset name -> loader registry, the shared-datasets root, and what is available on this machine.

The shared root (holding ``goemotions/``, ``semeval2018_ec/``, …) is, in order: the ``root``
argument, the environment variable ``LABELDIST_SHARED_DATASETS``, or
``<repo>/../shared/datasets``. VADER lives in its own data folder (see
:mod:`labeldist.data.vader`); ``<root>/vader`` is also tried.

Each dataset names its demo split (always ``train``) and the splits the paper-style test
sets are drawn from (``eval_splits``: the reference evaluates GoEmotions and SemEval on
``dev`` and MFRC on ``dev`` + ``test``; everything else on ``test``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from labeldist.data import chaosnli, dynasent, goemotions, hatexplain, lewidi, mfrc, semeval
from labeldist.data._common import env_path
from labeldist.errors import LabeldistError
from labeldist.records import Dataset

ENV_ROOT = "LABELDIST_SHARED_DATASETS"


@dataclass(frozen=True)
class DatasetSpec:
    """How to load one named dataset: ``loader(root, skip_invalid)`` with ``root`` the shared root."""

    name: str
    loader: Callable[[Path, bool], Dataset]
    summary: str
    eval_splits: tuple[str, ...] = ("test",)
    demo_split: str = "train"


@dataclass(frozen=True)
class DatasetInfo:
    """What ``list_datasets`` reports for one dataset (``reason`` says why it is unavailable)."""

    name: str
    available: bool
    reason: str = ""
    summary: str = ""
    n_items: dict[str, int] = field(default_factory=dict)
    labels: tuple[str, ...] = ()
    multilabel: bool | None = None
    has_annotators: bool = False
    annotators_per_item: tuple[int, float, int] | None = None  # (min, mean, max) over items with annotators
    load_seconds: float | None = None


def default_root() -> Path:
    """``<repo>/../shared/datasets``: the shared folder next to the repository checkout."""
    return Path(__file__).resolve().parents[2].parent / "shared" / "datasets"


def resolve_root(root: str | Path | None = None) -> Path:
    if root is not None:
        return Path(root).expanduser()
    return env_path(ENV_ROOT) or default_root()


def _shared(folder: str, fn: Callable[..., Dataset], **kwargs) -> Callable[[Path, bool], Dataset]:
    def load(root: Path, skip_invalid: bool) -> Dataset:
        path = root / folder
        if not path.is_dir():
            raise LabeldistError(f"no folder {path}", f"put the files there, or set --root / {ENV_ROOT} to the folder holding {folder}/")
        return fn(path, skip_invalid=skip_invalid, **kwargs)
    return load


VADER_CORPORA = ("tweets", "movies", "nyt", "amazon")  # labeldist.data.vader.CORPORA


def _vader(corpus: str, levels: int) -> Callable[[Path, bool], Dataset]:
    def load(root: Path, skip_invalid: bool) -> Dataset:
        # Imported here so that `python -m labeldist.data.vader` does not import itself twice.
        from labeldist.data.vader import load_vader

        return load_vader(corpus, levels=levels, root=root, skip_invalid=skip_invalid)
    return load


_SPECS = [
    DatasetSpec("goemotions", _shared("goemotions", goemotions.load_goemotions),
                "GoEmotions, 27 emotions pooled to 7 clusters (paper A.2); per-rater CSVs used when present", ("dev",)),
    DatasetSpec("goemotions-27", _shared("goemotions", goemotions.load_goemotions, clusters=False),
                "GoEmotions with all 27 emotions", ("dev",)),
    DatasetSpec("mfrc", _shared("mfrc", mfrc.load_mfrc), "Moral Foundations Reddit Corpus, 6 foundations",
                ("dev", "test")),
    DatasetSpec("semeval2018-ec", _shared("semeval2018_ec", semeval.load_semeval),
                "SemEval-2018 E-c English, 11 emotions, aggregate only", ("dev",)),
    DatasetSpec("hatexplain", _shared("hatexplain", hatexplain.load_hatexplain), "HateXplain, hate/normal/offensive"),
    *(DatasetSpec(f"chaosnli-{s}", _shared("chaosnli", chaosnli.load_chaosnli, subset=s),
                  f"ChaosNLI {s}, 100 votes per item") for s in chaosnli.SUBSETS),
    *(DatasetSpec(f"dynasent-{s}", _shared("dynasent", dynasent.load_dynasent, subset=s),
                  f"DynaSent {s}, 5 workers per sentence") for s in dynasent.ROUNDS),
    *(DatasetSpec(f"lewidi-{t}", _shared("lewidi2023", lewidi.load_lewidi2023, task=t),
                  f"Le-Wi-Di 2023 {lewidi.TASKS_2023[t][0]}, binary") for t in lewidi.TASKS_2023),
    DatasetSpec("lewidi-hsbrexit-ml", _shared("lewidi2023", lewidi.load_lewidi2023, task="hsbrexit", variant="ml"),
                "Le-Wi-Di 2023 HS-Brexit: hate/aggressive/offensive per annotator"),
    DatasetSpec("lewidi-convabuse-types", _shared("lewidi2023", lewidi.load_lewidi2023, task="convabuse", variant="types"),
                "Le-Wi-Di 2023 ConvAbuse: 7 abuse types per annotator"),
    *(DatasetSpec(f"lewidi-{t}", _shared("lewidi2025", lewidi.load_lewidi2025, task=t),
                  f"Le-Wi-Di 2025 {lewidi.TASKS_2025[t][0]}") for t in lewidi.TASKS_2025),
    *(DatasetSpec(f"vader-{c}" + ("-9" if lv == 9 else ""), _vader(c, lv),
                  f"VADER {c}, {lv}-level per-rater sentiment") for c in VADER_CORPORA for lv in (3, 9)),
]
REGISTRY: dict[str, DatasetSpec] = {s.name: s for s in _SPECS}


def get_spec(name: str) -> DatasetSpec:
    try:
        return REGISTRY[name]
    except KeyError:
        raise LabeldistError(f"unknown dataset {name!r}", f"use one of: {', '.join(REGISTRY)}, or pass a file path") from None


def load_dataset(name: str, *, root: str | Path | None = None, skip_invalid: bool = False) -> Dataset:
    """Load a registered dataset; a missing folder or file raises saying where it looked and the fix."""
    spec = get_spec(name)
    return spec.loader(resolve_root(root), skip_invalid)


def eval_splits(name: str) -> tuple[str, ...]:
    """The splits the paper-style test sets of ``name`` are drawn from (``("test",)`` if unregistered)."""
    spec = REGISTRY.get(name)
    return spec.eval_splits if spec is not None else ("test",)


def describe(name: str, *, root: str | Path | None = None) -> DatasetInfo:
    """Load ``name`` once and summarise it; unavailability is reported, not raised."""
    spec = get_spec(name)
    start = time.perf_counter()
    try:
        ds = load_dataset(name, root=root)
    except LabeldistError as e:
        return DatasetInfo(name, False, reason=str(e), summary=spec.summary)
    seconds = time.perf_counter() - start
    examples = [ex for split in ds.splits.values() for ex in split]
    counts = [ex.human.n_annotators for ex in examples
              if ex.annotations is not None and ex.human is not None and ex.human.n_annotators]
    per_item = (min(counts), sum(counts) / len(counts), max(counts)) if counts else None
    return DatasetInfo(
        name, True, summary=spec.summary, n_items={k: len(v) for k, v in ds.splits.items()},
        labels=ds.label_set.labels, multilabel=ds.label_set.multilabel, has_annotators=bool(counts),
        annotators_per_item=per_item, load_seconds=seconds,
    )


def list_datasets(root: str | Path | None = None) -> list[DatasetInfo]:
    """Every registered dataset, loaded once to count items and time the load."""
    return [describe(name, root=root) for name in REGISTRY]
