"""Shared pieces of the calibration layer: the fitted-on record, minimum-data rules, input checks."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from labeldist.errors import LabeldistError
from labeldist.metrics import check_probs

#: Fewest dev items any fitted calibrator (or a threshold choice) accepts.
MIN_ITEMS = 20

TARGET_KINDS = ("human", "gold")


@dataclass(frozen=True)
class FitInfo:
    """What a calibrator or threshold set was fitted on.

    Parameters
    ----------
    split : str
        The dev split's name, e.g. ``"dev"``.
    n_items : int
        Examples used for the fit.
    target : {"human", "gold"}
        ``"human"``: annotator fractions q; ``"gold"``: 0/1 aggregate labels (data without annotators).
    """

    split: str
    n_items: int
    target: str = "human"

    def __post_init__(self) -> None:
        if not isinstance(self.split, str) or not self.split:
            raise LabeldistError(f"fitted-on split must be a non-empty name, got {self.split!r}", "pass e.g. 'dev'")
        if isinstance(self.n_items, bool) or not isinstance(self.n_items, int) or self.n_items < 1:
            raise LabeldistError(f"fitted-on n_items must be a positive integer, got {self.n_items!r}",
                                 "pass the number of dev examples used")
        if self.target not in TARGET_KINDS:
            raise LabeldistError(f"fitted-on target {self.target!r} is not one of {TARGET_KINDS}",
                                 "use 'human' for annotator fractions, 'gold' for 0/1 labels")

    def to_dict(self) -> dict:
        return {"split": self.split, "n_items": self.n_items, "target": self.target}

    @classmethod
    def from_dict(cls, d: dict) -> "FitInfo":
        try:
            return cls(split=d["split"], n_items=d["n_items"], target=d.get("target", "human"))
        except (KeyError, TypeError):
            raise LabeldistError(f"fitted-on record {d!r} lacks 'split' or 'n_items'",
                                 "refit; the file was not written by labeldist") from None


def label_names(labels: Sequence[str] | None, n_labels: int) -> tuple[str, ...]:
    """Names for error messages: the given ones, or ``label 0``, ``label 1``, ..."""
    if labels is None:
        return tuple(f"#{j}" for j in range(n_labels))
    names = tuple(str(l) for l in labels)
    if len(names) != n_labels:
        raise LabeldistError(f"{len(names)} label names given for {n_labels} probability columns",
                             "pass one name per column, in label-set order")
    return names


def check_targets(targets, n_labels: int | None, what: str) -> np.ndarray:
    """Targets q (or 0/1 gold) as float64 (n, L) in [0, 1]."""
    t = check_probs(targets, "targets", where=what)
    if n_labels is not None and t.shape[1] != n_labels:
        raise LabeldistError(f"{what}: targets have {t.shape[1]} label columns, expected {n_labels}",
                             "pass the targets of the same label set")
    return t


def check_min_items(n: int, what: str) -> None:
    if n < MIN_ITEMS:
        raise LabeldistError(f"{what}: the dev split has {n} items, fewer than the minimum {MIN_ITEMS}",
                             f"fit on a dev split with at least {MIN_ITEMS} items, or use --calibrator none")


def check_both_sides(targets: np.ndarray, names: Sequence[str], what: str) -> None:
    """Each label needs a dev item with q_l > 0 and one with q_l < 1 (else its fit is a constant)."""
    for j, name in enumerate(names):
        col = targets[:, j]
        if not np.any(col > 0):
            raise LabeldistError(
                f"{what}: label {name!r} has no dev item with a positive target (q > 0) among {col.size} items",
                "add dev items that carry this label, or choose --calibrator none or temperature")
        if not np.any(col < 1):
            raise LabeldistError(
                f"{what}: label {name!r} has no dev item with q < 1 among {col.size} items (every item carries it)",
                "add dev items without this label, or choose --calibrator none or temperature")


def write_json_atomic(path, doc) -> Path:
    """Write ``doc`` as JSON to ``path`` (parent folders created; replaced atomically: a temporary file
    renamed over it, so a reader never sees half a file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=1, allow_nan=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path
