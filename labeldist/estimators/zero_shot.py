"""Zero-shot estimators: pure functions over stored per-step scores (paper §5.2.1-5.2.2).

Inputs are the :class:`~labeldist.records.StepScores` of one example (candidate
order = ``LabelSet.candidates``: labels, then ``none`` for multi-label sets) and, for hard
predictions, the parsed labels. Outputs are float64 arrays of shape ``(n_labels,)`` in
label-set order; ``none`` is never an output column.

When the model generated no label token at all, the step-based estimators have nothing
to read. They then return ``None`` and the caller (``labeldist.methods.apply_methods``)
records the example as a fallback (stored per method in the record, counted in the run
summary) and uses :func:`no_label_fallback` — never silently.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from labeldist.numeric import EPS, sigmoid
from labeldist.records import LabelSet, StepScores


def first_step(steps: Sequence[StepScores], label_set: LabelSet) -> np.ndarray | None:
    """p_l = softmax over candidates of the scores at the first label position, real labels only.

    For multi-label sets the ``none`` mass is dropped without renormalising (the values are
    then read as independent per-label scores, as the paper's first-step baseline); for
    single-label sets this is the categorical distribution over the labels.
    """
    if not steps:
        return None
    return steps[0].probs[: label_set.n_labels]


def compare_to_none(steps: Sequence[StepScores], label_set: LabelSet, *, w: float = 1.0, b: float = 0.0) -> np.ndarray | None:
    """p_l = σ(w · (z_l − z_none) + b) at the first label position (paper §5.2.1).

    Zero-shot ``w = 1, b = 0``, so p_l = p_1(l) / (p_1(l) + p_1(none)). ``(w, b)`` from Platt
    scaling fitted on a dev split (:mod:`labeldist.calibration.platt`). Multi-label only.

    >>> s = StepScores(0, 0, "a", np.array([2.0, 0.0, 0.0]))
    >>> compare_to_none([s], LabelSet(("a", "b"))).round(4).tolist()
    [0.8808, 0.5]
    """
    if not label_set.multilabel:
        raise ValueError("compare-to-none needs the 'none' candidate of a multi-label set")
    if not steps:
        return None
    z = steps[0].scores
    return sigmoid(w * (z[: label_set.n_labels] - z[label_set.n_labels]) + b)


def hard_predictions(parsed: Sequence[str], label_set: LabelSet, *, eps: float = EPS) -> np.ndarray:
    """p_l = 1 − ε if the model output label l, else ε (paper §5.2.1)."""
    on = set(parsed)
    return np.array([1.0 - eps if l in on else eps for l in label_set.labels])


def max_over_generations(steps: Sequence[StepScores], label_set: LabelSet, *, eps: float = EPS) -> np.ndarray | None:
    """p_l = max over label positions t of p_t(l), floored at ε, not renormalised (paper §5.2.2).

    >>> a = StepScores(0, 0, "a", np.log([0.7, 0.1, 0.2]))
    >>> b = StepScores(3, 0, "b", np.log([0.1, 0.6, 0.3]))
    >>> max_over_generations([a, b], LabelSet(("a", "b"))).round(3).tolist()
    [0.7, 0.6]
    """
    if not steps:
        return None
    probs = np.stack([s.probs[: label_set.n_labels] for s in steps])
    return np.maximum(probs.max(axis=0), eps)


def no_label_fallback(label_set: LabelSet) -> np.ndarray:
    """What a step-based method gives an example with no label step: 1/L′ for every label
    (L′ = number of candidates, ``none`` included). Not the 0.5 *baseline* of the evaluation
    (``labeldist.metrics.uniform_baseline``)."""
    return np.full(label_set.n_labels, 1.0 / len(label_set.candidates))
