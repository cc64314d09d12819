"""Zero-shot estimators: pure functions over stored per-step scores (paper §5.2.1-5.2.2).

Inputs are the :class:`~labeldist.runs.records.StepScores` of one example (candidate
order = ``LabelSet.candidates``: labels, then ``none`` for multi-label sets) and, for hard
predictions, the parsed labels. Outputs are float64 arrays of shape ``(n_labels,)`` in
label-set order; ``none`` is never an output column.

When the model generated no label token at all, the step-based estimators have nothing
to read. They then return ``None`` and the caller records the example as a fallback
(counted in the run summary) and uses the uniform distribution — never silently.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from labeldist.records import LabelSet
from labeldist.records import StepScores

EPS = 1e-8


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=np.float64)))


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
    scaling fitted on a dev split (:mod:`labeldist.estimators.platt`). Multi-label only.

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


def uniform(label_set: LabelSet) -> np.ndarray:
    """The fallback: 1/L' for every label (L' = number of candidates incl. ``none``)."""
    return np.full(label_set.n_labels, 1.0 / len(label_set.candidates))


GENERATION_METHODS = ("first_step", "compare_to_none", "hard", "max_over_generations")


def generation_methods(label_set: LabelSet) -> tuple[str, ...]:
    return GENERATION_METHODS if label_set.multilabel else ("first_step", "hard")


def estimate_all(steps: Sequence[StepScores], parsed: Sequence[str], label_set: LabelSet) -> tuple[dict[str, np.ndarray], list[str]]:
    """Every generation-based estimate for one example; returns (probs by method, methods that fell back)."""
    out: dict[str, np.ndarray] = {}
    fallbacks: list[str] = []
    for name in generation_methods(label_set):
        if name == "hard":
            p = hard_predictions(parsed, label_set)
        elif name == "first_step":
            p = first_step(steps, label_set)
        elif name == "compare_to_none":
            p = compare_to_none(steps, label_set)
        else:
            p = max_over_generations(steps, label_set)
        if p is None:
            fallbacks.append(name)
            p = uniform(label_set)
        out[name] = p
    return out, fallbacks
