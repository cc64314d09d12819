"""Target matrices for the supervised baselines, built from :class:`~labeldist.records.Example` records.

* ``soft``: Y[i] = q_i, the item's human distribution (fraction of annotators per label;
  vote shares for single-label sets). Needs ``human.kind`` in {annotators, fractions}.
* ``hard``: Y[i] = the aggregate gold as a 0/1 vector (multi-hot; one-hot for single-label).

Items without a usable target (no human distribution for ``soft``; no gold, or a
single-label gold that is a tie, for ``hard``) are marked ``keep[i] = False`` and get a
zero row; the caller drops them (``Y[keep]``) and should report how many.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from labeldist.errors import LabeldistError
from labeldist.records import Example, LabelSet
from labeldist.supervised._validation import check_target_kind


def default_target_kind(examples: Sequence[Example]) -> str:
    """``"soft"`` when every item has an annotator distribution, else ``"hard"``."""
    ok = all(e.human is not None and e.human.is_distribution for e in examples)
    return "soft" if examples and ok else "hard"


def target_matrix(examples: Sequence[Example], label_set: LabelSet, targets: str) -> tuple[np.ndarray, np.ndarray]:
    """Targets Y of shape (n_items, n_labels) and a bool mask ``keep`` of shape (n_items,).

    Raises
    ------
    LabeldistError
        If no item has a usable target of the requested kind.
    """
    check_target_kind(targets)
    L = label_set.n_labels
    Y = np.zeros((len(examples), L), dtype=np.float64)
    keep = np.zeros(len(examples), dtype=bool)
    for i, e in enumerate(examples):
        if targets == "soft":
            if e.human is None or not e.human.is_distribution:
                continue
            if len(e.human.probs) != L:
                raise LabeldistError(f"item {e.id!r} has {len(e.human.probs)} human fractions for {L} labels",
                                     "build the examples and the label set from the same dataset")
            Y[i] = e.human.probs
        else:
            if e.gold is None:
                continue
            row = np.asarray(label_set.multi_hot(e.gold), dtype=np.float64)
            if not label_set.multilabel and row.sum() != 1:
                continue  # tie or empty gold: no single class to train on
            Y[i] = row
        keep[i] = True
    if not keep.any():
        need = ("annotator fractions (human distributions)" if targets == "soft" else "aggregate gold labels")
        alt = "targets='hard'" if targets == "soft" else "targets='soft'"
        raise LabeldistError(f"no item has {need}, so targets={targets!r} has nothing to train on",
                             f"use {alt} or a dataset that has them")
    return Y, keep
