"""StepRecompute equals the zero-shot estimators run on stored steps with logits divided by T."""

from dataclasses import replace

import numpy as np
import pytest

from labeldist.calibration import TemperatureCalibrator
from labeldist.calibration.recompute import StepRecompute
from labeldist.errors import LabeldistError
from labeldist.estimators import zero_shot
from labeldist.records import LabelSet, StepScores

ML = LabelSet(("anger", "joy", "fear"))
SL = LabelSet(("pos", "neg", "neu"), multilabel=False)


def _steps(rng, n, label_set, max_steps=3):
    n_cand = len(label_set.candidates)
    out = []
    for i in range(n):
        k = int(rng.integers(0, max_steps + 1))  # some examples have no step
        out.append([StepScores(2 * j, 0, label_set.labels[0], rng.normal(0, 3, n_cand)) for j in range(k)])
    return out


def _reference(method, steps, label_set, t):
    fn = getattr(zero_shot, method)
    rows = []
    for ex in steps:
        p = fn([replace(s, scores=s.scores / t) for s in ex], label_set)
        rows.append(zero_shot.no_label_fallback(label_set) if p is None else p)
    return np.array(rows)


@pytest.mark.parametrize("label_set, method", [(ML, "first_step"), (ML, "compare_to_none"),
                                               (ML, "max_over_generations"), (SL, "first_step")])
def test_equals_the_estimators_on_scaled_logits(label_set, method):
    rng = np.random.default_rng(0)
    steps = _steps(rng, 50, label_set)
    rec = StepRecompute(method, steps, label_set)
    assert rec.n_fallback == sum(not s for s in steps) > 0
    for t in (0.07, 0.5, 1.0, 3.0, 20.0):
        np.testing.assert_allclose(rec(t), _reference(method, steps, label_set, t), rtol=1e-12, atol=1e-15)


def test_temperature_recovers_the_sharpening_from_steps():
    rng = np.random.default_rng(1)
    n = 400
    z = rng.normal(0, 1.5, (n, len(SL.candidates)))
    true = np.exp(2 * z) / np.exp(2 * z).sum(axis=1, keepdims=True)
    steps = [[StepScores(0, 0, "pos", row)] for row in z]
    cal = TemperatureCalibrator().fit(StepRecompute("first_step", steps, SL), true, multilabel=False)
    assert cal.temperature_ == pytest.approx(0.5, abs=1e-4)


@pytest.mark.parametrize("label_set, method", [(ML, "hard"), (SL, "compare_to_none"), (SL, "max_over_generations")])
def test_undefined_methods_are_refused(label_set, method):
    with pytest.raises(LabeldistError, match="temperature scaling is not defined"):
        StepRecompute(method, [], label_set)


def test_bad_logits_and_temperatures_are_refused():
    with pytest.raises(LabeldistError, match="expected 4 finite candidate logits"):
        StepRecompute("first_step", [[StepScores(0, 0, "joy", np.array([1.0, np.nan, 0.0, 0.0]))]], ML)
    with pytest.raises(LabeldistError, match="expected 4 finite"):
        StepRecompute("first_step", [[StepScores(0, 0, "joy", np.zeros(3))]], ML)
    with pytest.raises(LabeldistError, match="temperature must be positive"):
        StepRecompute("first_step", [[]], ML)(0.0)
