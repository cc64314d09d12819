"""Input checks shared by the supervised classifiers: features, texts, target matrices, minimum counts.

Targets are a float64 matrix Y of shape ``(n_items, n_labels)`` in label-set order:

* ``targets="soft"``: annotator fractions q, values in [0, 1];
* ``targets="hard"``: aggregate gold, values exactly 0 or 1.

Single-label rows must sum to 1 (vote shares, or a one-hot gold row).

Minimum training data (:data:`MIN_PER_CLASS` = 2), checked per label:

* multi-label, hard: at least 2 train items with y = 1 **and** 2 with y = 0;
* multi-label, soft: at least 2 train items with q > 0 **and** 2 with q < 1 (the items that
  contribute a positive, resp. negative, weighted row);
* single-label: at least 2 train items with weight on each class (y_c = 1, resp. q_c > 0).

Below that a logistic model of the label is not identifiable (no positive item: the
intercept diverges) or its dev-chosen penalty is meaningless, so we refuse rather than
return a degenerate constant.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from labeldist.errors import LabeldistError

#: Minimum number of train items per label on each side (positive / negative), see the module docstring.
MIN_PER_CLASS = 2
TARGET_KINDS = ("soft", "hard")


def check_target_kind(targets: str) -> str:
    if targets not in TARGET_KINDS:
        raise LabeldistError(f"unknown targets {targets!r}", "use targets='soft' (annotator fractions) or 'hard' (gold)")
    return targets


def label_names(labels: Sequence[str] | None, n_labels: int) -> tuple[str, ...]:
    """The given label names (checked against ``n_labels``), or ``label_0 … label_{L-1}``."""
    if labels is None:
        return tuple(f"label_{j}" for j in range(n_labels))
    names = tuple(str(l) for l in labels)
    if len(names) != n_labels:
        raise LabeldistError(f"{len(names)} label names for {n_labels} target columns",
                             "pass one name per column of Y, in column order")
    if len(set(names)) != len(names):
        raise LabeldistError(f"duplicate label names in {list(names)!r}", "list each label once")
    return names


def check_features(X, name: str, *, n_features: int | None = None) -> np.ndarray:
    """``X`` as float64 of shape (n_items, n_features), finite, non-empty; the width must match if given."""
    try:
        arr = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError):
        raise LabeldistError(f"{name} is not a numeric array", "pass floats of shape (n_items, n_features)") from None
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise LabeldistError(f"{name} must have shape (n_items, n_features) with both >= 1; got shape {arr.shape}",
                             "pass one feature row per item")
    if not np.all(np.isfinite(arr)):
        i = int(np.argwhere(~np.isfinite(arr))[0, 0])
        raise LabeldistError(f"{name} has a NaN or infinite feature (first in row {i}, "
                             f"{int((~np.isfinite(arr)).any(axis=1).sum())} rows in all)",
                             "drop those items or fix the feature extraction (a NaN usually means a failed capture)")
    if n_features is not None and arr.shape[1] != n_features:
        raise LabeldistError(f"{name} has {arr.shape[1]} features but the model was fitted on {n_features}",
                             "pass features from the same model and layer as the training features")
    return arr


def check_texts(texts, name: str) -> list[str]:
    """A non-empty list of non-blank strings."""
    if isinstance(texts, str):
        raise LabeldistError(f"{name} is one string, not a list of texts", "wrap it in a list")
    out = list(texts)
    if not out:
        raise LabeldistError(f"{name} is empty", "pass at least one text")
    for i, t in enumerate(out):
        if not isinstance(t, str) or not t.strip():
            raise LabeldistError(f"{name}[{i}] is not a non-empty string ({t!r})", "drop the item or fill in its text")
    return out


def check_targets(Y, name: str, *, n_items: int, multilabel: bool, targets: str,
                  n_labels: int | None = None) -> np.ndarray:
    """``Y`` as float64 of shape (n_items, n_labels), validated for the target kind (module docstring)."""
    try:
        arr = np.asarray(Y, dtype=np.float64)
    except (TypeError, ValueError):
        raise LabeldistError(f"{name} is not a numeric array", "pass floats of shape (n_items, n_labels)") from None
    if arr.ndim != 2 or arr.shape[1] == 0:
        raise LabeldistError(f"{name} must have shape (n_items, n_labels); got shape {arr.shape}",
                             "pass one target row per item and one column per label")
    if arr.shape[0] != n_items:
        raise LabeldistError(f"{name} has {arr.shape[0]} rows for {n_items} items", "pass one target row per item")
    if n_labels is not None and arr.shape[1] != n_labels:
        raise LabeldistError(f"{name} has {arr.shape[1]} label columns but the model has {n_labels}",
                             "pass targets over the same label set as the training targets")
    bad = ~np.isfinite(arr) | (arr < 0.0) | (arr > 1.0)
    if bad.any():
        i, j = (int(v) for v in np.argwhere(bad)[0])
        raise LabeldistError(f"{name}[{i}, {j}] is {float(arr[i, j])!r}, not in [0, 1]",
                             "pass annotator fractions or 0/1 gold")
    if targets == "hard" and np.any((arr != 0.0) & (arr != 1.0)):
        i, j = (int(v) for v in np.argwhere((arr != 0.0) & (arr != 1.0))[0])
        raise LabeldistError(f"{name}[{i}, {j}] is {float(arr[i, j])!r} but targets='hard' needs 0/1 gold",
                             "pass the aggregate gold labels, or use targets='soft' for annotator fractions")
    if not multilabel:
        sums = arr.sum(axis=1)
        off = np.abs(sums - 1.0) > 1e-6
        if off.any():
            i = int(np.argmax(off))
            raise LabeldistError(f"{name} row {i} sums to {float(sums[i]):.6g}, but single-label targets sum to 1",
                                 "pass vote shares or a one-hot gold row (drop items whose gold is a tie)")
    return arr


def check_min_counts(Y: np.ndarray, labels: Sequence[str], *, multilabel: bool, what: str = "train") -> None:
    """Raise unless every label has :data:`MIN_PER_CLASS` train items on each side (module docstring)."""
    pos = (Y > 0.0).sum(axis=0)
    neg = (Y < 1.0).sum(axis=0)
    for j, lab in enumerate(labels):
        if pos[j] == 0:
            raise LabeldistError(f"label {lab!r} has no positive {what} item",
                                 "add items with that label, or drop the label from the label set")
        if pos[j] < MIN_PER_CLASS:
            raise LabeldistError(f"label {lab!r} has {int(pos[j])} positive {what} item(s), fewer than the minimum "
                                 f"{MIN_PER_CLASS}", "add items with that label, or drop the label from the label set")
        if multilabel and neg[j] < MIN_PER_CLASS:
            raise LabeldistError(f"label {lab!r} has {int(neg[j])} negative {what} item(s), fewer than the minimum "
                                 f"{MIN_PER_CLASS}", "add items without that label, or drop the label")
