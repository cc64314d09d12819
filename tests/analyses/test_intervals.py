"""Cluster bootstrap intervals over examples."""

import math

import numpy as np
import pytest

from labeldist.analyses import (
    GroupedSample,
    analyze_steps,
    concordance_sample,
    instruction_order_agreement,
    joint_interval,
    multilabel_rate_sample,
    order_accuracy,
    order_accuracy_sample,
    sample_interval,
    step_sample,
)
from labeldist.errors import LabeldistError
from labeldist.metrics import resample_weights
from tests.analyses.helpers import trace

RNG = np.random.default_rng(7)
GROUPS = [f"e{i}" for i in RNG.integers(0, 25, 120)]
VALUES = RNG.random(120)


def test_interval_is_seeded_and_equals_explicit_cluster_resampling():
    s = GroupedSample.mean(GROUPS, VALUES)
    a, b = sample_interval(s, n_boot=400, seed=3), sample_interval(s, n_boot=400, seed=3)
    assert a == b and a != sample_interval(s, n_boot=400, seed=4)
    assert a.estimate == pytest.approx(VALUES.mean()) and a.low < a.estimate < a.high and a.n_boot == 400
    # explicit: draw examples with the same counts, take all of each drawn example's rows
    keys = sorted(set(GROUPS))
    w = resample_weights(len(keys), n_boot=400, seed=3)
    boot = []
    for row in w:
        num = sum(c * VALUES[[g == k for g in GROUPS]].sum() for k, c in zip(keys, row))
        den = sum(c * sum(g == k for g in GROUPS) for k, c in zip(keys, row))
        boot.append(num / den)
    assert (a.low, a.high) == pytest.approx(tuple(np.quantile(boot, [0.025, 0.975])))


def test_ratio_sample_and_degenerate_cases():
    s = GroupedSample(("a", "b"), np.array([1.0, 3.0]), np.array([2.0, 4.0]))
    assert s.estimate == pytest.approx(4 / 6)
    one = sample_interval(GroupedSample.mean(["x", "x"], [0.2, 0.4]), n_boot=50)
    assert (one.low, one.estimate, one.high) == pytest.approx((0.3, 0.3, 0.3))  # one example: no spread
    empty = sample_interval(GroupedSample.mean([], []), n_boot=50)
    assert math.isnan(empty.estimate) and math.isnan(empty.low)
    with pytest.raises(LabeldistError):
        GroupedSample(("a",), np.array([1.0, 2.0]), np.array([1.0]))
    with pytest.raises(LabeldistError, match="n_boot"):
        sample_interval(GroupedSample.mean(["a"], [1.0]), n_boot=0)


def test_joint_interval_of_a_difference():
    s1 = GroupedSample.mean(GROUPS, VALUES)
    same = joint_interval([s1, s1], lambda r: r[0] - r[1], n_boot=200)
    assert (same.estimate, same.low, same.high) == (0.0, 0.0, 0.0)
    shifted = GroupedSample.mean(GROUPS, VALUES + 0.5)
    d = joint_interval([shifted, s1], lambda r: r[0] - r[1], n_boot=200)
    assert (d.estimate, d.low, d.high) == pytest.approx((0.5, 0.5, 0.5))  # resampled jointly: the shift is exact


def test_samples_of_the_analyses():
    t1 = trace("t1", [[0.6, 0.3, 0.1, 0.0], [0.1, 0.2, 0.7, 0.0]], ("a", "c"), gold=("a",))
    t2 = trace("t2", [[0.5, 0.4, 0.1, 0.0], [0.1, 0.8, 0.1, 0.0]], ("a", "b"), gold=("b",))
    t3 = trace("t3", [[0.9, 0.1, 0.0, 0.0]], ("a",), gold=("a",))
    rows = analyze_steps([t1, t2, t3]).rows
    assert step_sample(rows, "top_prob", is_last=True).estimate == pytest.approx((0.7 + 0.8 + 0.9) / 3)
    assert step_sample(rows, "top_prob", step=1).estimate == pytest.approx((0.6 + 0.5 + 0.9) / 3)
    assert step_sample(rows, "is_next_pred_correct").estimate == 0.5  # t1 miss, t2 hit; last steps left out
    assert step_sample(rows, "never_predicted").groups == ("t1",)
    acc = order_accuracy([t1, t2, t3], min_count=0)
    assert order_accuracy_sample(acc, 1).estimate == 0.5 and order_accuracy_sample(acc, 2).estimate == 0.5
    assert multilabel_rate_sample([t1, t2, t3]).estimate == pytest.approx(2 / 3)
    conc = concordance_sample(instruction_order_agreement([t1, t2], ("a", "b", "c")))
    assert conc.estimate == 1.0
    with pytest.raises(LabeldistError, match="unknown step field"):
        step_sample(rows, "nope")
