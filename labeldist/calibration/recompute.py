"""``recompute(T)`` for temperature scaling of the step-based methods, from stored per-step candidate logits.

For a temperature T every stored candidate score vector z (``StepScores.scores``, candidate
order = labels, then ``none`` for multi-label sets) becomes z / T and the method's estimator
(:mod:`labeldist.estimators.zero_shot`) is applied again, vectorised over examples:

* ``first_step``: p = softmax(z_1 / T)[:L]
* ``compare_to_none``: p_l = σ((z_1l − z_1,none) / T)   (multi-label only)
* ``max_over_generations``: p_l = max(max_t softmax(z_t / T)_l, 1e-8)

An example without any label step has no logits: it gets the runner's uniform fallback
1/L′ for every label, whatever T (counted in ``n_fallback``). At T = 1 the output equals the
method's stored probabilities.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from labeldist.errors import LabeldistError
from labeldist.estimators.zero_shot import EPS, generation_methods
from labeldist.records import LabelSet, StepScores

TEMPERATURE_METHODS = ("first_step", "compare_to_none", "max_over_generations")


def _softmax_rows(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


class StepRecompute:
    """A method's estimator as a function of the temperature: ``StepRecompute(...)(T) -> probs (n, L)``.

    Parameters
    ----------
    method : {"first_step", "compare_to_none", "max_over_generations"}
    steps : sequence of sequences of StepScores
        Per example (in evaluation order), its stored label steps.
    label_set : LabelSet

    Attributes
    ----------
    n_fallback : int
        Examples without steps (uniform rows, independent of T).

    Examples
    --------
    >>> s = StepScores(0, 0, "a", np.array([2.0, 0.0, 0.0]))
    >>> rec = StepRecompute("compare_to_none", [[s], []], LabelSet(("a", "b")))
    >>> rec(2.0).round(4).tolist(), rec.n_fallback  # σ(2/2) = 0.7311, σ(0) = 0.5; then uniform 1/3
    ([[0.7311, 0.5], [0.3333, 0.3333]], 1)
    """

    def __init__(self, method: str, steps: Sequence[Sequence[StepScores]], label_set: LabelSet):
        allowed = [m for m in TEMPERATURE_METHODS if m in generation_methods(label_set)]
        if method not in allowed:
            raise LabeldistError(f"temperature scaling is not defined for method {method!r} on this label set",
                                 f"use it for {', '.join(allowed)}, or choose --calibrator platt, isotonic or none")
        self.method, self.label_set = method, label_set
        n_cand, n = len(label_set.candidates), len(steps)
        rows, owner = [], []
        for i, ex_steps in enumerate(steps):
            for s in ex_steps:
                z = np.asarray(s.scores, dtype=np.float64)
                if z.shape != (n_cand,) or not np.all(np.isfinite(z)):
                    raise LabeldistError(f"example index {i}: stored step scores have shape {z.shape} or are "
                                         f"not finite; expected {n_cand} finite candidate logits",
                                         "recompute the run; the backend returned bad logits")
                rows.append(z)
                owner.append(i)
        self._all = np.array(rows).reshape(-1, n_cand)  # (S, L') every step of every example
        self._owner = np.array(owner, dtype=int)  # (S,) example of each step, non-decreasing
        self._has = np.zeros(n, dtype=bool)
        self._has[self._owner] = True
        self._starts = np.flatnonzero(np.r_[True, self._owner[1:] != self._owner[:-1]]) if owner else np.array([], int)
        self._first = self._all[self._starts]  # (n_with_steps, L') first step of each example with steps
        self.n_items, self.n_fallback = n, int(n - self._has.sum())

    def __call__(self, temperature: float) -> np.ndarray:
        t = float(temperature)
        if not np.isfinite(t) or t <= 0:
            raise LabeldistError(f"temperature must be positive, got {temperature!r}", "use a value in [0.05, 20]")
        n_labels = self.label_set.n_labels
        out = np.full((self.n_items, n_labels), 1.0 / len(self.label_set.candidates))  # uniform fallback
        if not self._has.any():
            return out
        if self.method == "first_step":
            vals = _softmax_rows(self._first / t)[:, :n_labels]
        elif self.method == "compare_to_none":
            d = (self._first[:, :n_labels] - self._first[:, n_labels:]) / t
            vals = 0.5 * (1.0 + np.tanh(0.5 * d))  # σ, as zero_shot.sigmoid
        else:
            probs = _softmax_rows(self._all / t)[:, :n_labels]  # (S, L)
            vals = np.maximum(np.maximum.reduceat(probs, self._starts, axis=0), EPS)
        out[self._has] = vals
        return out
