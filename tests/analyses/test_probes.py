"""Probe analysis (Fig 7) on synthetic features: Gold, Pred, Pred 2+ and the model's own micro-F1."""

import numpy as np
import pytest

from labeldist.analyses.probes import _micro_sample, probe_analysis
from labeldist.errors import LabeldistError

L = 4


def _synthetic(n=160, seed=0):
    """Features encode gold exactly and the model's FIRST label exactly; its second label is noise."""
    rng = np.random.default_rng(seed)
    gold = (rng.random((n, L)) < 0.35).astype(float)
    first = rng.integers(0, L, size=n)
    pred = np.zeros((n, L))
    pred[np.arange(n), first] = 1.0
    second = (first + rng.integers(1, L, size=n)) % L  # a different label, independent of the features
    has_second = rng.random(n) < 0.5
    pred[np.flatnonzero(has_second), second[has_second]] = 1.0
    X = np.hstack([2 * gold - 1, np.eye(L)[first] * 2 - 1, rng.normal(scale=0.1, size=(n, 3))])
    return X, gold, pred, first


def test_micro_f1_sample_is_pooled_over_examples_and_labels():
    t = np.array([[1, 0, 1], [0, 1, 0]])
    p = np.array([[1, 1, 0], [0, 1, 0]])
    s = _micro_sample(["x", "y"], t, p)
    # TP = 2, FP = 1, FN = 1 -> 2*2 / (2*2 + 1 + 1)
    assert s.estimate == pytest.approx(4 / 6)
    assert s.num.tolist() == [2.0, 2.0] and s.den.tolist() == [4.0, 2.0]


def test_first_label_state_predicts_gold_and_the_first_label_but_not_later_labels():
    X, gold, pred, first = _synthetic()
    res = probe_analysis(X, gold, pred, first, n_boot=200, seed=0)
    assert res.gold.estimate > 0.95  # gold is linearly encoded
    assert res.pred_2plus.estimate < 0.5 < res.pred.estimate  # only the first label is encoded
    assert res.pred_drop.low > 0  # the paper's claim holds here, with its interval
    assert res.pred_drop.estimate == pytest.approx(res.pred.estimate - res.pred_2plus.estimate)
    # the model's own labels against gold, computed by hand
    tp = (gold * pred).sum()
    assert res.perf.estimate == pytest.approx(2 * tp / (2 * tp + (pred * (1 - gold)).sum() + (gold * (1 - pred)).sum()))
    assert res.n_examples == 160 and res.n_2plus == 160 and res.n_constant == 0


def test_pred_2plus_removes_the_first_label_from_both_sides_and_skips_empty_outputs():
    # two identical blocks, so that every fold learns the same thing; the label 0 is always first
    X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0]] * 6)
    pred = np.array([[1, 1, 0], [1, 0, 1], [1, 1, 1], [0, 0, 0]] * 6, dtype=float)
    first = np.array([0, 0, 0, -1] * 6)
    res = probe_analysis(X, pred, pred, first, n_boot=50, seed=1)
    assert res.n_2plus == 18  # the empty outputs are not scored after the first label
    assert res.pred.estimate == pytest.approx(1.0) and res.pred_2plus.estimate == pytest.approx(1.0)
    assert res.perf.estimate == 1.0


def test_a_label_too_rare_to_fit_gets_the_training_majority():
    X, gold, pred, first = _synthetic(n=40, seed=2)
    gold[:, 3] = 0.0
    gold[0, 3] = 1.0  # one positive: no fold can fit that label
    res = probe_analysis(X, gold, pred, first, n_boot=20)
    assert res.n_constant >= 2


def test_bad_inputs_name_the_problem():
    X, gold, pred, first = _synthetic(n=20)
    with pytest.raises(LabeldistError, match="probe inputs disagree"):
        probe_analysis(X[:5], gold, pred, first)
    bad = first.copy()
    bad[0] = (first[0] + 1) % L
    bad_pred = pred.copy()
    bad_pred[0] = 0
    bad_pred[0, first[0]] = 1
    with pytest.raises(LabeldistError, match="a first generated label is not among that example's predicted labels"):
        probe_analysis(X, gold, bad_pred, bad)
    with pytest.raises(LabeldistError, match="n_folds=1 must be in"):
        probe_analysis(X, gold, pred, first, n_folds=1)
    with pytest.raises(LabeldistError, match="labels 0/1"):
        probe_analysis(X, gold * 0.5, pred, first)
