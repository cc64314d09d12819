"""Unary / binary breakdown: hand-computed probabilities from tiny score arrays."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit

from labeldist.estimators.bradley_terry import all_pairs, fit_bradley_terry
from labeldist.estimators.breakdown import (
    aggregate_variants,
    binary_breakdown_probs,
    binary_pair_probs,
    two_way_probs,
    unary_breakdown_probs,
)
from labeldist.records import LabelSet

ML = LabelSet(("joy", "anger"))  # candidates: joy, anger, none
SL = LabelSet(("hate", "normal", "offensive"), multilabel=False)


def test_aggregate_variants():
    s = np.array([[0.0, np.log(3.0)], [-np.inf, 1.0]])
    np.testing.assert_allclose(aggregate_variants(s), [np.log(3.0), 1.0])
    np.testing.assert_allclose(aggregate_variants(s, variant_agg="logsumexp"), [np.log(4.0), 1.0])
    with pytest.raises(ValueError, match="variant_agg"):
        aggregate_variants(s, variant_agg="mean")
    with pytest.raises(ValueError, match="NaN"):
        aggregate_variants([np.nan])


def test_two_way_probs():
    # P(first) = e^2 / (e^2 + e^0) with the max over variants (2 beats 1; 0 beats -5)
    assert two_way_probs([1.0, 2.0], [0.0, -5.0]) == pytest.approx(np.exp(2) / (np.exp(2) + 1))
    assert two_way_probs([-np.inf], [0.0]) == 0.0
    with pytest.raises(ValueError, match="undefined"):
        two_way_probs([-np.inf], [-np.inf])


def test_unary_multilabel_hand_computed():
    # logits: joy r=2,u=0 -> sigma(2); anger r=0 (max of 0, -1), u=ln 3 -> 1/4; none r=u -> 1/2
    r = [[2.0, 1.0], [0.0, -1.0], [5.0, 5.0]]
    u = [[0.0], [np.log(3.0)], [5.0]]
    res = unary_breakdown_probs(r, u, ML)
    np.testing.assert_allclose(res.probs, [expit(2.0), 0.25])
    np.testing.assert_allclose(res.reasonable_probs, [expit(2.0), 0.25, 0.5])
    assert res.none_probs == pytest.approx(0.5)


def test_unary_single_label_sum_and_softmax():
    # P(reasonable) = 0.5, 0.25, 0.25
    r = [[0.0], [0.0], [0.0]]
    u = [[0.0], [np.log(3.0)], [np.log(3.0)]]
    res = unary_breakdown_probs(r, u, SL)
    np.testing.assert_allclose(res.probs, [0.5, 0.25, 0.25])  # already sums to 1
    assert res.none_probs is None
    soft = unary_breakdown_probs(r, u, SL, single_label_norm="softmax").probs
    e = np.exp([0.5, 0.25, 0.25])
    np.testing.assert_allclose(soft, e / e.sum())  # the reference's flatter "softmax of probs"
    u2 = [[0.0], [np.log(3.0)], [np.log(7.0)]]  # 0.5, 0.25, 0.125 -> / 0.875
    np.testing.assert_allclose(unary_breakdown_probs(r, u2, SL).probs, np.array([4, 2, 1]) / 7)


def test_unary_batched_and_shape_check():
    rng = np.random.default_rng(0)
    r, u = rng.normal(size=(4, 3, 2)), rng.normal(size=(4, 3, 1))
    res = unary_breakdown_probs(r, u, ML)
    assert res.probs.shape == (4, 2) and res.none_probs.shape == (4,)
    np.testing.assert_allclose(res.probs[2], unary_breakdown_probs(r[2], u[2], ML).probs)
    with pytest.raises(ValueError, match="3 candidates"):
        unary_breakdown_probs(r[:, :2], u[:, :2], ML)


def test_binary_pair_probs_and_disagreement():
    # forward P(a): pair0 sigma(1), pair1 sigma(-2), pair2 0.5
    a = [[1.0], [0.0], [0.0]]
    b = [[0.0], [2.0], [0.0]]
    p, dis = binary_pair_probs(a, b)
    np.testing.assert_allclose(p, [expit(1), expit(-2), 0.5])
    assert dis is None
    # swapped P(a | j first): sigma(2), sigma(2), 0.5 -> P(i beats j) = sigma(-2), sigma(-2), 0.5
    sa = [[2.0], [2.0], [0.0]]
    sb = [[0.0], [0.0], [0.0]]
    p, dis = binary_pair_probs(a, b, swapped_a_scores=sa, swapped_b_scores=sb)
    np.testing.assert_allclose(p, [(expit(1) + expit(-2)) / 2, expit(-2), 0.5])
    assert dis == pytest.approx(1 / 3)  # only pair 0 flips winner; pair 2 ties in both orders
    with pytest.raises(ValueError, match="both"):
        binary_pair_probs(a, b, swapped_a_scores=sa)


def test_binary_multilabel_hand_computed():
    # Pairs over (joy, anger, none): (0,1) (0,2) (1,2). Choose pairwise logits so that
    # p = sigma(s_i - s_j) + (2 lam / n) (s_i - s_j) for s* = (1, -1, 0): the exact BT optimum.
    s_true = np.array([1.0, -1.0, 0.0])
    pairs = all_pairs(3)
    d = s_true[pairs[:, 0]] - s_true[pairs[:, 1]]
    p = expit(d) + 2 * 0.01 / 3 * d
    logit = np.log(p / (1 - p))
    res = binary_breakdown_probs(logit[:, None], np.zeros((3, 1)), ML)
    np.testing.assert_allclose(res.pair_probs, p)
    np.testing.assert_allclose(res.scores, s_true, atol=1e-9)
    np.testing.assert_allclose(res.probs, [expit(1.0), expit(-1.0)], atol=1e-9)
    assert res.position_disagreement is None


def test_binary_single_label_softmax_and_hard():
    pairs = all_pairs(3)
    a = np.array([[3.0], [3.0], [-3.0]])  # hate > normal, hate > offensive, offensive > normal
    b = np.zeros((3, 1))
    res = binary_breakdown_probs(a, b, SL)
    assert res.probs.sum() == pytest.approx(1.0)
    assert res.probs.argmax() == 0 and res.probs[2] > res.probs[1]
    hard = binary_breakdown_probs(a, b, SL, hard=True)
    np.testing.assert_allclose(hard.scores, fit_bradley_terry(pairs, [1.0, 1.0, 0.0], 3))
    np.testing.assert_allclose(hard.pair_probs, res.pair_probs)  # pair_probs are pre-hardening


def test_binary_batched_and_swapped():
    rng = np.random.default_rng(1)
    shape = (5, 3, 2)
    a, b, sa, sb = (rng.normal(size=shape) for _ in range(4))
    res = binary_breakdown_probs(a, b, ML, swapped_a_scores=sa, swapped_b_scores=sb)
    assert res.probs.shape == (5, 2) and res.scores.shape == (5, 3)
    assert res.position_disagreement.shape == (5,)
    one = binary_breakdown_probs(a[3], b[3], ML, swapped_a_scores=sa[3], swapped_b_scores=sb[3])
    np.testing.assert_allclose(res.probs[3], one.probs, atol=1e-12)
    # averaging both orders == symmetric: swapping the roles of forward and swapped data
    # gives P(j beats i), i.e. 1 - p
    rev = binary_breakdown_probs(sa, sb, ML, swapped_a_scores=a, swapped_b_scores=b)
    np.testing.assert_allclose(rev.pair_probs, 1 - res.pair_probs, atol=1e-12)


def test_binary_shape_check():
    with pytest.raises(ValueError, match="expected 3 pair prompts"):
        binary_breakdown_probs(np.zeros((2, 1)), np.zeros((2, 1)), ML)


def test_label_permutation_equivariance():
    """Relabelling the candidates permutes the per-label probabilities the same way."""
    rng = np.random.default_rng(2)
    labels = ("a", "b", "c")
    ls = LabelSet(labels)
    n = 4  # candidates a, b, c, none
    u_r, u_u = rng.normal(size=(n, 1)), rng.normal(size=(n, 1))
    perm = np.array([2, 0, 1])  # new label k is old label perm[k]; none stays last
    cand_perm = np.append(perm, 3)
    ls_p = LabelSet(tuple(labels[i] for i in perm))
    np.testing.assert_allclose(
        unary_breakdown_probs(u_r[cand_perm], u_u[cand_perm], ls_p).probs,
        unary_breakdown_probs(u_r, u_u, ls).probs[perm],
    )
    # binary: P(old i beats old j) as a full matrix, re-read in the new order
    logits = rng.normal(size=(n, n))
    logits = logits - logits.T
    pairs = all_pairs(n)
    base = binary_breakdown_probs(logits[pairs[:, 0], pairs[:, 1]][:, None], np.zeros((6, 1)), ls)
    old = cand_perm[pairs]
    permuted = binary_breakdown_probs(logits[old[:, 0], old[:, 1]][:, None], np.zeros((6, 1)), ls_p)
    np.testing.assert_allclose(permuted.probs, base.probs[perm], atol=1e-10)
