"""NLL, L1 and Brier against hand-computed values."""

import math

import numpy as np
import pytest

from labeldist.metrics import EPS, brier_score_loss, l1_error, nll_loss

LN2 = math.log(2)


def test_nll_multilabel_hand_computed():
    q = [[0.75, 0.0], [1.0, 0.5]]
    p = [[0.5, 0.25], [0.8, 0.5]]
    # ex 0: -(0.75 ln .5 + .25 ln .5) - (0 + 1 * ln .75) = ln 2 - ln 0.75
    # ex 1: -(1 * ln .8 + 0) - (.5 ln .5 + .5 ln .5) = -ln 0.8 + ln 2
    ex0 = LN2 - math.log(0.75)
    ex1 = -math.log(0.8) + LN2
    np.testing.assert_allclose(nll_loss(q, p, reduce="none"), [ex0, ex1])
    assert nll_loss(q, p) == pytest.approx((ex0 + ex1) / 2)


def test_nll_single_label_hand_computed():
    q = [[0.5, 0.5, 0.0]]
    p = [[0.25, 0.5, 0.25]]
    # -(0.5 ln .25 + 0.5 ln .5 + 0) = 0.5 * 2 ln 2 + 0.5 ln 2 = 1.5 ln 2
    assert nll_loss(q, p, multilabel=False) == pytest.approx(1.5 * LN2)


def test_nll_q_zero_and_one_with_exact_predictions_is_clipped_not_infinite():
    # q in {0, 1} and p equal to it: each term is -ln(1 - EPS) ~ EPS, not 0 * log 0 = NaN
    q = [[0.0, 1.0]]
    assert nll_loss(q, q) == pytest.approx(-2 * math.log1p(-EPS))
    # confidently wrong: p = 1 where q = 0 costs -ln(EPS) per label
    assert nll_loss([[0.0]], [[1.0]]) == pytest.approx(-math.log(EPS))


def test_nll_all_zero_predictions():
    # every p clipped to EPS: labels with q = 0 cost ~0, the label with q = 1 costs -ln EPS
    q = [[1.0, 0.0, 0.0]]
    assert nll_loss(q, [[0.0, 0.0, 0.0]]) == pytest.approx(-math.log(EPS) - 2 * math.log1p(-EPS))


def test_l1_hand_computed():
    q = [[0.75, 0.0, 0.25], [0.0, 0.0, 0.0]]
    p = [[0.5, 0.5, 0.25], [0.1, 0.2, 0.3]]
    # ex 0: .25 + .5 + 0 = .75 ; ex 1: .1 + .2 + .3 = .6
    np.testing.assert_allclose(l1_error(q, p, reduce="none"), [0.75, 0.6])
    assert l1_error(q, p) == pytest.approx(0.675)


def test_l1_edges_all_zero_predictions_and_q_one():
    # p = 0 is clipped to EPS, so |EPS - 1| + |EPS - 0| = 1
    assert l1_error([[1.0, 0.0]], [[0.0, 0.0]]) == pytest.approx(1.0)
    assert l1_error([[1.0, 0.0]], [[1.0, 0.0]]) == pytest.approx(0.0, abs=1e-7)


def test_brier_is_a_mean_over_labels():
    q = [[1.0, 0.0, 0.5, 0.5]]
    p = [[0.5, 0.5, 0.5, 0.0]]
    # (.25 + .25 + 0 + .25) / 4 = 0.1875
    assert brier_score_loss(q, p) == pytest.approx(0.1875)


def test_single_label_l1_matches_multilabel_formula():
    q, p = [[0.6, 0.4]], [[0.3, 0.7]]
    assert l1_error(q, p, multilabel=False) == l1_error(q, p) == pytest.approx(0.6)
