"""Choose a method's calibrator on its dev split by K-fold cross-validated NLL, or take a named one.

The stated rule: every candidate — ``none`` (identity), ``temperature`` (only when the input
has a recompute function), ``platt``, ``isotonic`` — is scored by its 5-fold cross-validated
NLL on the dev split: examples (not (example, label) pairs) are shuffled with a seeded
generator and cut into 5 folds; each fold is predicted by the candidate fitted on the other
four; the NLL of these out-of-fold predictions is averaged over all dev examples. The lowest
wins; candidates within 1e-9 of the lowest count as tied, and a tie goes to the simpler one in
the order none < temperature < platt < isotonic. The winner is then refitted on all of dev.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
from sklearn.base import clone

from labeldist.calibration._common import check_min_items, check_targets, label_names
from labeldist.calibration.calibrators import CALIBRATORS, Calibrator, as_input
from labeldist.errors import LabeldistError
from labeldist.metrics import nll_loss

N_FOLDS = 5
TIE_TOL = 1e-9
#: Simplicity order; earlier names win ties.
CANDIDATE_ORDER = tuple(CALIBRATORS)  # ("none", "temperature", "platt", "isotonic")

RULE = f"lowest {N_FOLDS}-fold cross-validated dev NLL; ties within {TIE_TOL:g} go to the simpler of " \
       + " < ".join(CANDIDATE_ORDER)


@dataclass(frozen=True)
class CalibrationSelection:
    """The outcome of :func:`select_calibrator`.

    Attributes
    ----------
    name : str
        The chosen calibrator's name.
    calibrator : Calibrator
        That calibrator refitted on the whole dev split.
    cv_nll : dict of str to float
        Cross-validated dev NLL per candidate, in candidate order; empty when the name was forced.
    rule : str
        How the calibrator was chosen (:data:`RULE`, or ``"forced: <name>"``).
    """

    name: str
    calibrator: Calibrator
    cv_nll: dict[str, float] = field(default_factory=dict)
    rule: str = RULE

    def to_dict(self) -> dict:
        return {"name": self.name, "calibrator": self.calibrator.to_dict(), "cv_nll": dict(self.cv_nll),
                "rule": self.rule}

    @classmethod
    def from_dict(cls, d: dict) -> "CalibrationSelection":
        try:
            cal = Calibrator.from_dict(d["calibrator"])
            cv = {str(k): float(v) for k, v in d.get("cv_nll", {}).items()}
            rule = str(d.get("rule", ""))
        except (KeyError, TypeError, AttributeError) as e:
            raise LabeldistError(f"calibration record is malformed ({type(e).__name__}: {e})",
                                 "refit the calibration") from None
        if d.get("name", cal.name) != cal.name:
            raise LabeldistError(f"calibration record names {d.get('name')!r} but holds a {cal.name!r} calibrator",
                                 "refit the calibration; the file was edited")
        return cls(cal.name, cal, cv, rule)


def fold_indices(n_items: int, n_folds: int = N_FOLDS, seed: int = 0) -> list[np.ndarray]:
    """Seeded K-fold split of example indices: a permutation cut into ``n_folds`` near-equal parts."""
    perm = np.random.default_rng(seed).permutation(n_items)
    return [np.sort(f) for f in np.array_split(perm, n_folds)]


def cross_validated_nll(calibrator: Calibrator, inputs, targets, *, multilabel: bool = True,
                        n_folds: int = N_FOLDS, seed: int = 0) -> float:
    r"""Mean NLL over dev examples of out-of-fold calibrated predictions.

    ::

        CV-NLL = (1/n) Σ_k Σ_{i in fold k} NLL_i(q_i, c_{-k}(x_i))

    with c_{-k} the calibrator fitted on every fold but k. Folds come from :func:`fold_indices`.
    The per-label minimum-data checks are not applied inside folds: a fold whose training part
    lacks a label's positives simply yields a poor (but finite) out-of-fold prediction.

    Parameters
    ----------
    calibrator : Calibrator
        Unfitted template (cloned per fold).
    inputs : CalibrationInput, ndarray or callable
    targets : array-like of shape (n_examples, n_labels)
    """
    inp = as_input(inputs)
    t = check_targets(targets, inp.n_labels, f"{calibrator.name} cross-validation")
    if t.shape[0] != inp.n_items:
        raise LabeldistError(f"cross-validation: {t.shape[0]} target rows for {inp.n_items} examples",
                             "pass the targets of the same examples, in the same order")
    if inp.n_items < n_folds:
        raise LabeldistError(f"cross-validation needs at least {n_folds} items, got {inp.n_items}",
                             "fit on a larger dev split")
    names = label_names(None, inp.n_labels)
    oof = np.empty_like(inp.probs)  # (n, L) out-of-fold predictions
    all_idx = np.arange(inp.n_items)
    for test_idx in fold_indices(inp.n_items, n_folds, seed):
        train_idx = np.setdiff1d(all_idx, test_idx, assume_unique=True)
        fitted = clone(calibrator)._fit_checked(inp.subset(train_idx), t[train_idx], multilabel=multilabel,
                                                 names=names)
        oof[test_idx] = fitted.transform(inp.subset(test_idx))
    return float(nll_loss(t, oof, multilabel=multilabel))


def candidate_names(inputs) -> tuple[str, ...]:
    """Candidates available for this input: temperature only where a recompute function is given."""
    inp = as_input(inputs)
    return tuple(n for n in CANDIDATE_ORDER if n != "temperature" or inp.recompute is not None)


def select_calibrator(inputs, targets, *, multilabel: bool = True, labels: Sequence[str] | None = None,
                      calibrator: str | None = None, candidates: Sequence[str] | None = None,
                      n_folds: int = N_FOLDS, seed: int = 0, platt_on: str = "probs") -> CalibrationSelection:
    """Fit every candidate calibrator on the dev split and keep the one with the lowest CV NLL (see module doc).

    Parameters
    ----------
    inputs : CalibrationInput, ndarray of shape (n_examples, n_labels), or callable
        The method's dev-split output; a recompute function makes ``temperature`` a candidate.
    targets : array-like of shape (n_examples, n_labels)
        Dev annotator fractions q (or 0/1 gold where the data has no annotators).
    multilabel : bool, default=True
    labels : sequence of str, optional
        Label names, quoted in errors.
    calibrator : str, optional
        Force this calibrator (``"none"``, ``"temperature"``, ``"platt"``, ``"isotonic"``):
        no cross-validation is run and ``cv_nll`` is empty.
    candidates : sequence of str, optional
        Restrict the candidates (default: all available, see :func:`candidate_names`).
    n_folds, seed : int
        Cross-validation folds (default 5) and their shuffling seed.
    platt_on : {"probs", "scores"}, default="probs"
        Platt's input: logit(p), or ``inputs.scores``.

    Returns
    -------
    CalibrationSelection

    Raises
    ------
    LabeldistError
        Unknown or unavailable calibrator name; fewer than ``MIN_ITEMS`` (20) dev items; with
        Platt or isotonic among the candidates, a label without a dev item with q > 0 and one
        with q < 1.
    """
    inp = as_input(inputs)
    available = candidate_names(inp)
    names = label_names(labels, inp.n_labels)

    def make(name: str) -> Calibrator:
        return CALIBRATORS[name](on=platt_on) if name == "platt" else CALIBRATORS[name]()

    def check_name(name) -> str:
        if name not in CALIBRATORS:
            raise LabeldistError(f"unknown calibrator {name!r}", f"use one of {', '.join(CANDIDATE_ORDER)}")
        if name not in available:
            raise LabeldistError("calibrator 'temperature' needs the method's candidate logits (a recompute function)",
                                 "use it for step-based methods only, or choose platt, isotonic or none")
        return name

    if calibrator is not None:
        name = check_name(calibrator)
        fitted = make(name).fit(inp, targets, multilabel=multilabel, labels=names)
        return CalibrationSelection(name, fitted, {}, f"forced: {name}")

    chosen = available if candidates is None else tuple(check_name(c) for c in CANDIDATE_ORDER if c in candidates)
    if candidates is not None:
        unknown = [c for c in candidates if c not in CALIBRATORS]
        if unknown or not chosen:
            raise LabeldistError(f"no usable calibrator among candidates {list(candidates)!r}",
                                 f"use names from {', '.join(CANDIDATE_ORDER)}")
    check_min_items(inp.n_items, "calibrator selection")
    # Validate each candidate's data needs on the full dev split before any fold is fitted.
    for name in chosen:
        make(name)._check_fit(inp, targets, names)
    t = check_targets(targets, inp.n_labels, "calibrator selection")
    cv = {name: cross_validated_nll(make(name), inp, t, multilabel=multilabel, n_folds=n_folds, seed=seed)
          for name in chosen}
    best = min(cv.values())
    winner = next(name for name in chosen if cv[name] <= best + TIE_TOL)  # chosen is in simplicity order
    fitted = make(winner).fit(inp, t, multilabel=multilabel, labels=names)
    return CalibrationSelection(winner, fitted, cv, RULE)


__all__ = ["CANDIDATE_ORDER", "N_FOLDS", "RULE", "TIE_TOL", "CalibrationSelection",
           "candidate_names", "cross_validated_nll", "fold_indices", "select_calibrator"]
