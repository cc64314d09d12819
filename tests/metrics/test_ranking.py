"""Per-label ECE, ROC-AUC and average precision against hand-computed values and scikit-learn."""

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from labeldist.metrics import macro_average_precision_score, macro_calibration_error, macro_roc_auc_score
from labeldist.metrics.ranking import _average_precision_scorer, _roc_auc_scorer


def test_ece_hand_computed():
    gold = [[1, 0], [0, 0], [0, 1], [1, 1]]
    pred = [[0.85, 0.05], [0.8, 0.15], [0.1, 0.95], [0.35, 1.0]]
    # label 0: bin [.8,.9): p {.85,.8} mean .825, y {1,0} mean .5 -> (2/4)*.325 = .1625
    #          bin [.1,.2): p .1 y 0 -> (1/4)*.1 = .025 ; bin [.3,.4): p .35 y 1 -> (1/4)*.65 = .1625  => .35
    # label 1: bin [0,.1): p .05 y 0 -> .0125; bin [.1,.2): .15 -> .0375;
    #          bin [.9,1]: p {.95, 1-1e-8} y {1, 1} -> (2/4)*|.975 - 1e-8/2 - 1| = .0125  => .0625
    np.testing.assert_allclose(macro_calibration_error(gold, pred, reduce="none"), [0.35, 0.0625], atol=1e-8)
    assert macro_calibration_error(gold, pred) == pytest.approx((0.35 + 0.0625) / 2, abs=1e-8)


def test_ece_perfectly_calibrated_bins_are_zero():
    # bin [.5,.6): p .5 twice, y {1, 0} -> mean p .5 = mean y .5
    assert macro_calibration_error([[1], [0]], [[0.5], [0.5]]) == pytest.approx(0.0)


def test_roc_auc_hand_computed_with_ties():
    gold = [[1], [1], [0], [0]]
    pred = [[0.9], [0.4], [0.4], [0.1]]
    # pairs (pos, neg): (.9,.4)=1 (.9,.1)=1 (.4,.4)=.5 (.4,.1)=1 -> 3.5 / 4
    assert macro_roc_auc_score(gold, pred) == pytest.approx(0.875)
    assert roc_auc_score(np.ravel(gold), np.ravel(pred)) == pytest.approx(0.875)


def test_average_precision_hand_computed_with_ties():
    gold = [[1], [0], [1], [0]]
    pred = [[0.9], [0.5], [0.5], [0.1]]
    # threshold .9: P=1, R=1/2 ; threshold .5 (tie, one pos one neg): P=2/3, R=1 -> .5*1 + .5*2/3
    assert macro_average_precision_score(gold, pred) == pytest.approx(0.5 + 1 / 3)
    assert average_precision_score(np.ravel(gold), np.ravel(pred)) == pytest.approx(0.5 + 1 / 3)


def test_single_class_labels_are_nan_and_left_out():
    gold = [[1, 0, 1], [0, 0, 1], [1, 0, 1]]
    pred = [[0.8, 0.1, 0.3], [0.3, 0.2, 0.9], [0.6, 0.3, 0.5]]
    # label 0 defined (AUC 1, AP 1); label 1 all negative, label 2 all positive: NaN
    for f in (macro_roc_auc_score, macro_average_precision_score):
        per = f(gold, pred, reduce="none")
        assert per[0] == pytest.approx(1.0) and np.isnan(per[1]) and np.isnan(per[2])
        assert f(gold, pred) == pytest.approx(1.0)
    assert np.isnan(macro_roc_auc_score([[1], [1]], [[0.2], [0.3]]))


def test_all_zero_predictions_rank_as_ties():
    gold = [[1], [0], [0]]
    assert macro_roc_auc_score(gold, np.zeros((3, 1))) == pytest.approx(0.5)
    assert macro_average_precision_score(gold, np.zeros((3, 1))) == pytest.approx(1 / 3)


def test_weighted_forms_match_sklearn_sample_weight():
    rng = np.random.default_rng(3)
    gold = (rng.random((40, 3)) < 0.4).astype(float)
    pred = np.round(rng.random((40, 3)), 1)  # rounding makes ties
    w = rng.integers(0, 4, size=(2, 40)).astype(float)
    auc = _roc_auc_scorer(gold, pred)(w)
    ap = _average_precision_scorer(gold, pred)(w)
    for b in range(2):
        for l in range(3):
            assert auc[b, l] == pytest.approx(roc_auc_score(gold[:, l], pred[:, l], sample_weight=w[b]))
            assert ap[b, l] == pytest.approx(average_precision_score(gold[:, l], pred[:, l], sample_weight=w[b]))
