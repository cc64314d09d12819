"""Per-label decision thresholds chosen on a dev split, saved as a small JSON file.

Rule: label l is predicted iff p_l ≥ t_l, with p clipped to [1e-8, 1 − 1e-8] first (as in
:mod:`labeldist.metrics`), so t_l = 1.0 predicts no item. The candidate thresholds of a label
are the distinct (clipped) dev values of p_l: any other cut point selects the same items as
the smallest candidate above it. At candidate t, with P the label's dev positives::

    TP(t) = #{i : p_il ≥ t, y_il = 1},  PP(t) = #{i : p_il ≥ t}
    precision = TP / PP,  recall = TP / P,  F1 = 2 TP / (PP + P)

Objectives:

* ``f1``: the candidate with the largest F1.
* ``precision`` with a target: among candidates with precision ≥ target, the largest recall.
  If no candidate reaches the target, the label gets t = 1.0 (predicts nothing) and a note.
* ``recall`` with a target: the highest candidate with recall ≥ target (always exists: the
  lowest candidate has recall 1).

Ties (equal F1, or equal recall among precision-feasible candidates) go to the highest
threshold, i.e. the fewest predicted positives. Gold y is 0/1; when only the human
distribution q is given, y = 1[q ≥ 0.5].
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from labeldist.calibration._common import (
    MIN_ITEMS,
    FitInfo,
    check_min_items,
    write_json_atomic,
)
from labeldist.errors import LabeldistError
from labeldist.metrics import EPS, check_probs

OBJECTIVES = ("f1", "precision", "recall")
FORMAT = "labeldist-thresholds"
VERSION = 1


def _check_objective(objective: str, target) -> float | None:
    if objective not in OBJECTIVES:
        raise LabeldistError(f"unknown threshold objective {objective!r}", f"use one of {', '.join(OBJECTIVES)}")
    if objective == "f1":
        if target is not None:
            raise LabeldistError("the f1 threshold objective takes no target",
                                 "drop the target, or use objective precision or recall")
        return None
    if target is None or isinstance(target, bool) or not isinstance(target, (int, float)) \
            or not np.isfinite(target) or not 0 < target <= 1:
        raise LabeldistError(f"the {objective} objective needs a target in (0, 1], got {target!r}",
                             f"pass e.g. --target-{objective} 0.8")
    return float(target)


@dataclass(frozen=True)
class Thresholds:
    """Per-label thresholds of one method.

    Parameters
    ----------
    labels : tuple of str
        Label names, in label-set order.
    method : str
        The method whose probabilities they threshold.
    objective : {"f1", "precision", "recall"}
    target : float or None
        The precision or recall target (None for f1).
    thresholds : tuple of float
        t_l in [0, 1], one per label.
    fitted_on : FitInfo
    calibrator : str, default="none"
        The calibrator applied to the probabilities the thresholds were chosen on
        (``"none"``: raw); apply them to probabilities calibrated the same way.
    notes : dict of str to str
        Per label, why a threshold is a fallback (a target not met on dev).
    """

    labels: tuple[str, ...]
    method: str
    objective: str
    target: float | None
    thresholds: tuple[float, ...]
    fitted_on: FitInfo
    calibrator: str = "none"
    notes: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", tuple(str(l) for l in self.labels))
        object.__setattr__(self, "target", _check_objective(self.objective, self.target))
        try:
            thr = tuple(float(t) for t in self.thresholds)
        except (TypeError, ValueError):
            raise LabeldistError(f"thresholds must be numbers, got {self.thresholds!r}",
                                 "pass one value in [0, 1] per label") from None
        if len(thr) != len(self.labels) or not self.labels:
            raise LabeldistError(f"{len(thr)} thresholds for {len(self.labels)} labels", "pass one per label")
        for name, t in zip(self.labels, thr):
            if not (np.isfinite(t) and 0.0 <= t <= 1.0):
                raise LabeldistError(f"threshold for label {name!r} is {t!r}, outside [0, 1]",
                                     "thresholds are probabilities; refit them or fix the file")
        object.__setattr__(self, "thresholds", thr)
        if not isinstance(self.fitted_on, FitInfo):
            raise LabeldistError("thresholds need a FitInfo for fitted_on", "pass FitInfo(split, n_items)")
        bad = [k for k in self.notes if k not in self.labels]
        if bad:
            raise LabeldistError(f"threshold notes name unknown labels {bad!r}", "key notes by label name")

    @property
    def values(self) -> np.ndarray:
        """Thresholds as float64, shape (n_labels,)."""
        return np.array(self.thresholds)

    def check(self, labels: Sequence[str] | None = None, method: str | None = None) -> "Thresholds":
        """Raise LabeldistError unless these thresholds belong to ``labels`` (same order) and ``method``."""
        if labels is not None and tuple(labels) != self.labels:
            raise LabeldistError(f"thresholds were chosen for labels [{', '.join(self.labels)}], "
                                 f"not [{', '.join(labels)}]", "choose thresholds on this label set")
        if method is not None and method != self.method:
            raise LabeldistError(f"thresholds were chosen for method {self.method!r}, not {method!r}",
                                 "choose thresholds for this method, or apply them to their own method")
        return self

    def apply(self, probs) -> np.ndarray:
        """0/1 predictions 1[clip(p_il) ≥ t_l], float64 of shape (n_examples, n_labels)."""
        p = check_probs(probs, "probs", columns=self.labels, where=f"thresholds of {self.method!r}")
        if p.shape[1] != len(self.labels):
            raise LabeldistError(f"thresholds have {len(self.labels)} labels but probs have {p.shape[1]} columns",
                                 "apply them to the label set they were chosen on")
        return (np.clip(p, EPS, 1.0 - EPS) >= self.values).astype(np.float64)

    def to_dict(self) -> dict:
        return {"format": FORMAT, "version": VERSION, "labels": list(self.labels), "method": self.method,
                "objective": self.objective, "target": self.target, "thresholds": list(self.thresholds),
                "calibrator": self.calibrator, "fitted_on": self.fitted_on.to_dict(), "notes": dict(self.notes)}

    @classmethod
    def from_dict(cls, d: dict) -> "Thresholds":
        if not isinstance(d, dict) or d.get("format") != FORMAT or d.get("version") != VERSION:
            raise LabeldistError(f"not a labeldist thresholds record of version {VERSION}",
                                 "rerun the threshold selection with this version")
        try:
            return cls(tuple(d["labels"]), str(d["method"]), str(d["objective"]), d.get("target"),
                       tuple(d["thresholds"]), FitInfo.from_dict(d["fitted_on"]), str(d.get("calibrator", "none")),
                       dict(d.get("notes", {})))
        except (KeyError, TypeError) as e:
            raise LabeldistError(f"thresholds record is malformed ({type(e).__name__}: {e})",
                                 "rerun the threshold selection") from None

    def to_json(self, path) -> Path:
        """Write the record as JSON (parent folders created; replaced atomically)."""
        return write_json_atomic(path, self.to_dict())

    @classmethod
    def from_json(cls, path, *, labels: Sequence[str] | None = None, method: str | None = None) -> "Thresholds":
        """Read a file written by :meth:`to_json`, checking ``labels`` and ``method`` when given."""
        path = Path(path)
        if not path.is_file():
            raise LabeldistError(f"no thresholds file at {path}", "choose thresholds first, or fix the path")
        try:
            d = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise LabeldistError(f"cannot read {path} ({type(e).__name__}: {e})", "rerun the threshold selection") from None
        return cls.from_dict(d).check(labels, method)


def threshold_curve(p: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Candidates in descending order with TP and PP at each: (t (m,), tp (m,), pp (m,)) for one label.

    ``p`` clipped probabilities (n,), ``y`` 0/1 (n,); inputs trusted.
    """
    order = np.argsort(-p, kind="stable")
    ps, ys = p[order], y[order]
    last = np.flatnonzero(np.r_[ps[1:] != ps[:-1], True])  # last index of each run of equal values
    tp = np.cumsum(ys)[last]
    return ps[last], tp.astype(np.float64), (last + 1).astype(np.float64)


def _choose(t: np.ndarray, tp: np.ndarray, pp: np.ndarray, n_pos: int, objective: str,
            target: float | None) -> tuple[float, str | None]:
    # candidates are in descending threshold order, so argmax's first hit is the highest threshold
    if objective == "f1":
        return float(t[np.argmax(2 * tp / (pp + n_pos))]), None
    precision, recall = tp / pp, tp / n_pos
    if objective == "precision":
        ok = precision >= target
        if not ok.any():
            return 1.0, f"no dev threshold reaches precision {target:g} (best {precision.max():.3f}); predicts nothing"
        return float(t[np.argmax(np.where(ok, recall, -1.0))]), None
    return float(t[np.argmax(recall >= target)]), None


def select_thresholds(pred_probs, gold=None, *, human_probs=None, labels: Sequence[str], method: str,
                      objective: str = "f1", target: float | None = None, split: str = "dev",
                      calibrator: str = "none") -> Thresholds:
    """Choose per-label thresholds on a dev split (rule and ties in the module docstring).

    Parameters
    ----------
    pred_probs : array-like of shape (n_examples, n_labels)
        The method's dev probabilities (calibrated with ``calibrator``, if any).
    gold : array-like of shape (n_examples, n_labels), optional
        0/1 dev gold. Give exactly one of ``gold`` and ``human_probs``.
    human_probs : array-like of shape (n_examples, n_labels), optional
        Dev annotator fractions q; gold is then 1[q ≥ 0.5].
    labels : sequence of str
    method : str
    objective : {"f1", "precision", "recall"}, default="f1"
    target : float, optional
        Precision or recall target in (0, 1]; required for those objectives.
    split : str, default="dev"
    calibrator : str, default="none"

    Raises
    ------
    LabeldistError
        Fewer than ``MIN_ITEMS`` (20) dev items, a label without a dev gold positive, bad
        objective or target, or mismatched shapes.

    Examples
    --------
    >>> p = np.r_[np.linspace(0.05, 0.95, 20)][:, None]
    >>> y = (p >= 0.5).astype(float)
    >>> select_thresholds(p, y, labels=["a"], method="m").thresholds  # the smallest positive's value
    (0.5236842105263158,)
    """
    target = _check_objective(objective, target)
    p = check_probs(pred_probs, "pred_probs", where="threshold selection")
    if (gold is None) == (human_probs is None):
        raise LabeldistError("threshold selection needs exactly one of gold and human_probs",
                             "pass the dev gold, or the dev annotator fractions to derive it from")
    if gold is not None:
        y, kind = check_probs(gold, "gold", where="threshold selection"), "gold"
        if np.any((y != 0) & (y != 1)):
            raise LabeldistError("threshold selection: gold must be 0 or 1",
                                 "pass human_probs=q for annotator fractions instead")
    else:
        y, kind = (check_probs(human_probs, "human_probs", where="threshold selection") >= 0.5).astype(float), "human"
    if y.shape != p.shape:
        raise LabeldistError(f"threshold selection: targets have shape {y.shape}, pred_probs {p.shape}",
                             "pass the same examples and labels to both")
    labels = tuple(str(l) for l in labels)
    if len(labels) != p.shape[1]:
        raise LabeldistError(f"{len(labels)} label names for {p.shape[1]} columns", "pass one name per column")
    check_min_items(p.shape[0], "threshold selection")
    p = np.clip(p, EPS, 1.0 - EPS)
    thresholds, notes = [], {}
    for j, name in enumerate(labels):
        n_pos = int(y[:, j].sum())
        if n_pos == 0:
            raise LabeldistError(f"threshold selection: label {name!r} has no positive dev item among {p.shape[0]}",
                                 "choose thresholds on a dev split where every label occurs")
        t, note = _choose(*threshold_curve(p[:, j], y[:, j]), n_pos, objective, target)
        thresholds.append(t)
        if note:
            notes[name] = note
    return Thresholds(labels, method, objective, target, tuple(thresholds), FitInfo(split, p.shape[0], kind),
                      calibrator, notes)


__all__ = ["MIN_ITEMS", "OBJECTIVES", "Thresholds", "select_thresholds", "threshold_curve"]
