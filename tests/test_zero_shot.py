"""Zero-shot estimators against hand-computed values."""

import math

import numpy as np
import pytest

from labeldist.estimators.zero_shot import (
    compare_to_none, first_step, hard_predictions, max_over_generations, no_label_fallback)
from labeldist.methods import apply_methods, selected_methods
from labeldist.records import ExampleRecord, GenerationRecord, LabelSet, StepScores

LS = LabelSet(("a", "b"))


def step(scores, pos=0):
    return StepScores(pos, 0, "a", np.asarray(scores, dtype=float))


def test_first_step_drops_none_without_renormalising():
    # logits [ln 2, ln 1, ln 1] -> probs [0.5, 0.25, 0.25]
    p = first_step([step(np.log([2, 1, 1]))], LS)
    np.testing.assert_allclose(p, [0.5, 0.25])


def test_compare_to_none_is_sigmoid_of_difference():
    p = compare_to_none([step([2.0, -1.0, 0.5])], LS)
    np.testing.assert_allclose(p, [1 / (1 + math.exp(-1.5)), 1 / (1 + math.exp(1.5))])
    # with Platt (w=2, b=-1): sigma(2*1.5-1)=sigma(2)
    np.testing.assert_allclose(compare_to_none([step([2.0, -1.0, 0.5])], LS, w=2, b=-1)[0], 1 / (1 + math.exp(-2)))


def test_compare_to_none_uses_first_step_only_and_equals_prob_ratio():
    s1, s2 = step(np.log([0.6, 0.1, 0.3])), step(np.log([0.1, 0.8, 0.1]), 4)
    np.testing.assert_allclose(compare_to_none([s1, s2], LS), [0.6 / 0.9, 0.1 / 0.4])


def test_hard_predictions():
    np.testing.assert_allclose(hard_predictions(["b"], LS), [1e-8, 1 - 1e-8])


def test_max_over_generations_floor_and_none_excluded():
    s1 = step(np.log([0.5, 1e-12, 0.5]))
    p = max_over_generations([s1], LS)
    np.testing.assert_allclose(p, [0.5, 1e-8])


def estimate_all(steps, parsed, label_set):
    """Every generation method on one record, as the runner computes them."""
    rec = ExampleRecord("x", "text", steps=list(steps),
                        generation=GenerationRecord("", [], list(parsed), [], "eos"))
    fallbacks = apply_methods(rec, selected_methods(["generation"], label_set), label_set)
    assert rec.fallbacks == fallbacks  # stored in the record, not only returned
    return rec.methods, fallbacks


def test_no_label_token_falls_back_and_is_reported():
    probs, fallbacks = estimate_all([], [], LS)
    # (the token-level methods have no per-token log-probabilities in this record either)
    assert fallbacks == ["first_step", "compare_to_none", "max_over_generations", "conditional", "joint"]
    np.testing.assert_allclose(probs["first_step"], [1 / 3, 1 / 3])
    np.testing.assert_allclose(no_label_fallback(LS), [1 / 3, 1 / 3])


def test_single_label_has_no_compare_to_none():
    single = LabelSet(("a", "b"), multilabel=False)
    probs, _ = estimate_all([step(np.log([0.75, 0.25]))], ["a"], single)
    assert set(probs) == {"first_step", "hard", "conditional", "joint"}
    np.testing.assert_allclose(probs["first_step"], [0.75, 0.25])
    with pytest.raises(ValueError):
        compare_to_none([step([0.0, 0.0])], single)
