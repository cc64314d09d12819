"""Checks at the entry of :func:`labeldist.api.run`: everything a run needs, before anything is loaded or written.

:class:`~labeldist.runs.runner.RunConfig` checks its names (backend, dtype, decoding...);
these check the values a run cannot use (a batch of zero items, a negative seed), the
examples (objects of the right type, non-empty unique string ids) and the output path, so a
bad input costs no model load and never leaves a run directory behind.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from labeldist.errors import LabeldistError
from labeldist.records import Example, LabelSet

__all__ = ["check_examples", "check_label_set", "check_out_dir", "check_run_config"]


def _int_at_least(value, low: int, what: str, example: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise LabeldistError(f"{what} must be an integer >= {low}, got {value!r}", f"use e.g. {example}")


def check_run_config(config) -> None:
    """Raise a one-line error for a value of ``config`` (a RunConfig) that no run can use."""
    from labeldist.runs.runner import RunConfig

    if not isinstance(config, RunConfig):
        raise LabeldistError(f"config must be a labeldist RunConfig, got {type(config).__name__}",
                             "build it with labeldist.runs.runner.RunConfig(...)")
    _int_at_least(config.batch_size, 1, "batch size (--batch-size)", "--batch-size 20")
    _int_at_least(config.max_binary_pairs, 1, "--max-binary-pairs", "--max-binary-pairs 820")
    _int_at_least(config.prompt.seed, 0, "seed (--seed)", "--seed 0")


def check_label_set(label_set) -> LabelSet:
    if not isinstance(label_set, LabelSet):
        raise LabeldistError(f"label_set must be a labeldist LabelSet, got {type(label_set).__name__}",
                             "build it with LabelSet.parse('joy,anger')")
    return label_set


def check_examples(examples: Sequence) -> list[Example]:
    """``examples`` as a list, each an :class:`Example` with a non-empty string id, ids unique."""
    if isinstance(examples, (str, bytes)) or not hasattr(examples, "__iter__"):
        raise LabeldistError(f"examples must be a sequence of Example objects, got {type(examples).__name__}",
                             "pass a list of labeldist.records.Example (or read a file with read_annotated_file)")
    examples = list(examples)
    seen: set[str] = set()
    for i, ex in enumerate(examples):
        if not isinstance(ex, Example):
            raise LabeldistError(f"examples[{i}] is a {type(ex).__name__}, not an Example",
                                 "pass labeldist.records.Example(id, text) objects")
        if not isinstance(ex.id, str) or not ex.id.strip():
            raise LabeldistError(f"examples[{i}] has id {ex.id!r}; ids must be non-empty strings",
                                 "give every example a unique string id")
        if ex.id in seen:
            raise LabeldistError(f"duplicate example id {ex.id!r}", "give every example a unique id")
        seen.add(ex.id)
    return examples


def check_out_dir(out_dir) -> Path:
    """The run directory as a Path; an existing file (or a file on the way to it) is refused."""
    if not isinstance(out_dir, (str, Path)) or not str(out_dir).strip():
        raise LabeldistError(f"the run directory must be a path, got {out_dir!r}", "pass --out DIRECTORY")
    path = Path(out_dir)
    for p in (path, *path.parents):
        if p.exists():
            if not p.is_dir():
                what = "is a file" if p == path else f"is inside {p}, which is a file"
                raise LabeldistError(f"run directory {path} {what}", "choose a new --out directory")
            break
    return path
