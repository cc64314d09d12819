"""Seeded bootstrap intervals and paired tests."""

import numpy as np
import pytest

from labeldist.metrics import bootstrap_interval, l1_error, paired_bootstrap_test, resample_weights
from labeldist.metrics.bootstrap import paired_p_value

RNG = np.random.default_rng(1)
HUMAN = RNG.integers(0, 5, size=(60, 4)) / 4
GOLD = (HUMAN >= 0.5).astype(float)
PRED = RNG.random((60, 4))


def test_resample_weights_are_counts_and_seeded():
    w = resample_weights(7, n_boot=250, seed=3)
    assert w.shape == (250, 7) and np.all(w.sum(1) == 7) and np.all(w == np.round(w))
    np.testing.assert_array_equal(w, resample_weights(7, n_boot=250, seed=3))
    assert not np.array_equal(w, resample_weights(7, n_boot=250, seed=4))
    # the first resamples do not depend on how many are drawn
    np.testing.assert_array_equal(w[:100], resample_weights(7, n_boot=100, seed=3))


def test_interval_is_reproducible_and_matches_explicit_resampling():
    a = bootstrap_interval("l1", HUMAN, PRED, n_boot=300, seed=5)
    b = bootstrap_interval("l1", HUMAN, PRED, n_boot=300, seed=5)
    assert a == b
    assert a.estimate == pytest.approx(l1_error(HUMAN, PRED))
    assert a.low < a.estimate < a.high
    # the same interval from explicit index resampling with the same counts
    per_example = l1_error(HUMAN, PRED, reduce="none")
    w = resample_weights(60, n_boot=300, seed=5)
    boot = np.array([np.repeat(per_example, row.astype(int)).mean() for row in w])
    assert (a.low, a.high) == pytest.approx(tuple(np.quantile(boot, [0.025, 0.975])))


@pytest.mark.parametrize("metric", ["nll", "example_f1", "micro_f1", "roc_auc", "ece"])
def test_identical_methods_differ_by_zero_with_p_one(metric):
    target = HUMAN if metric == "nll" else GOLD
    t = paired_bootstrap_test(metric, target, PRED, PRED.copy(), n_boot=200, seed=0)
    assert t.mean_diff == 0.0 and t.low == 0.0 and t.high == 0.0 and t.p_value == 1.0


def test_clearly_better_method_has_small_p_and_interval_excluding_zero():
    t = paired_bootstrap_test("l1", HUMAN, HUMAN * 0.9 + 0.05, PRED, n_boot=500, seed=0)
    assert t.mean_diff < 0 and t.high < 0
    assert t.p_value == pytest.approx(2 / 501)  # no resample has d* >= 0: 2 (0 + 1) / (B + 1)


def test_paired_test_is_antisymmetric():
    a, b = PRED, np.clip(PRED + 0.05 * RNG.standard_normal(PRED.shape), 0, 1)
    ab = paired_bootstrap_test("nll", HUMAN, a, b, n_boot=300, seed=2)
    ba = paired_bootstrap_test("nll", HUMAN, b, a, n_boot=300, seed=2)
    assert ab.mean_diff == pytest.approx(-ba.mean_diff)
    assert (ab.low, ab.high) == pytest.approx((-ba.high, -ba.low))
    assert ab.p_value == pytest.approx(ba.p_value)


def test_p_value_formula():
    # 3 of 4 resampled differences are > 0, one < 0: 2 * (1 + 1) / 5
    assert paired_p_value(np.array([0.1, 0.2, -0.1, 0.3])) == pytest.approx(0.8)
    assert np.isnan(paired_p_value(np.array([np.nan])))
