"""``recompute(T)`` for temperature scaling of the step-based methods, from stored per-step candidate logits.

For a temperature T every stored candidate score vector z (``StepScores.scores``, candidate
order = labels, then ``none`` for multi-label sets) becomes z / T and the method's own
estimator, from the registry (:mod:`labeldist.methods`), is applied again. The methods
this applies to are those that read only the label steps (``MethodSpec.reads ==
("steps",)``): first-step p = softmax(z_1 / T)[:L], compare-to-none p_l =
σ((z_1l − z_1,none) / T), max-over-generations p_l = max(max_t softmax(z_t / T)_l, ε).

An example without any label step has no logits: it gets the runner's no-label fallback
1/L′ for every label, whatever T (counted in ``n_fallback``). At T = 1 the output equals the
method's stored probabilities.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

import numpy as np

from labeldist.errors import LabeldistError
from labeldist.estimators.zero_shot import no_label_fallback
from labeldist.methods import METHODS, EstimateOptions, MethodSpec
from labeldist.records import ExampleRecord, LabelSet, StepScores


def temperature_methods(label_set: LabelSet) -> list[str]:
    """Registered methods that temperature scaling applies to on this label set."""
    return [m for m, s in METHODS.items() if s.reads == ("steps",) and s.applies_to(label_set)]


class StepRecompute:
    """A method's estimator as a function of the temperature: ``StepRecompute(...)(T) -> probs (n, L)``.

    Parameters
    ----------
    method : str
        A registered method that reads only the label steps (:func:`temperature_methods`).
    steps : sequence of sequences of StepScores
        Per example (in evaluation order), its stored label steps.
    label_set : LabelSet

    Attributes
    ----------
    n_fallback : int
        Examples without steps (no-label fallback rows, independent of T).

    Examples
    --------
    >>> s = StepScores(0, 0, "a", np.array([2.0, 0.0, 0.0]))
    >>> rec = StepRecompute("compare_to_none", [[s], []], LabelSet(("a", "b")))
    >>> rec(2.0).round(4).tolist(), rec.n_fallback  # σ(2/2) = 0.7311, σ(0) = 0.5; then uniform 1/3
    ([[0.7311, 0.5], [0.3333, 0.3333]], 1)
    """

    def __init__(self, method: str, steps: Sequence[Sequence[StepScores]], label_set: LabelSet):
        allowed = temperature_methods(label_set)
        if method not in allowed:
            raise LabeldistError(f"temperature scaling is not defined for method {method!r} on this label set",
                                 f"use it for {', '.join(allowed)}, or choose --calibrator platt, isotonic or none")
        self.spec: MethodSpec = METHODS[method]
        self.method, self.label_set = method, label_set
        n_cand = len(label_set.candidates)
        for i, ex_steps in enumerate(steps):
            for s in ex_steps:
                z = np.asarray(s.scores, dtype=np.float64)
                if z.shape != (n_cand,) or not np.all(np.isfinite(z)):
                    raise LabeldistError(f"example index {i}: stored step scores have shape {z.shape} or are "
                                         f"not finite; expected {n_cand} finite candidate logits",
                                         "recompute the run; the backend returned bad logits")
        self._steps = [list(ex) for ex in steps]
        self.n_items = len(self._steps)
        self.n_fallback = sum(not ex for ex in self._steps)

    def __call__(self, temperature: float) -> np.ndarray:
        t = float(temperature)
        if not np.isfinite(t) or t <= 0:
            raise LabeldistError(f"temperature must be positive, got {temperature!r}", "use a value in [0.05, 20]")
        out = np.empty((self.n_items, self.label_set.n_labels))
        for i, ex in enumerate(self._steps):
            rec = ExampleRecord("", "", steps=[replace(s, scores=np.asarray(s.scores, dtype=np.float64) / t) for s in ex])
            p = self.spec.estimate(rec, self.label_set, EstimateOptions())
            out[i] = no_label_fallback(self.label_set) if p is None else p
        return out
