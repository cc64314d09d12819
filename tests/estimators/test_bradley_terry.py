"""Bradley–Terry solver: exact optima, invariances, edge cases, batching."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
from scipy.special import expit

from labeldist.estimators.bradley_terry import (
    BradleyTerry,
    BradleyTerryConvergenceWarning,
    all_pairs,
    binary_probs_multilabel,
    binary_probs_single,
    bradley_terry_loss,
    fit_bradley_terry,
    fit_bradley_terry_batch,
)


def _grad(s, pairs, p, l2):
    d = s[pairs[:, 0]] - s[pairs[:, 1]]
    g = 2 * l2 * s
    np.add.at(g, pairs[:, 0], expit(d) - p)
    np.add.at(g, pairs[:, 1], -(expit(d) - p))
    return g


def test_all_pairs_matches_combinations():
    assert all_pairs(5).tolist() == [list(c) for c in itertools.combinations(range(5), 2)]


# Two items, one pair (0, 1) with P(0 beats 1) = p. With d = s0 - s1:
#   dL/ds0 =  (sigma(d) - p) + 2 lam s0
#   dL/ds1 = -(sigma(d) - p) + 2 lam s1
# Adding both: 2 lam (s0 + s1) = 0, so s = (d/2, -d/2). Substituting s0 = d/2 into the first:
#   sigma(d) - p + lam d = 0.
# Choosing d = 1 and lam = 0.01 therefore needs p = sigma(1) + 0.01, and the optimum is
# exactly s = (0.5, -0.5).
def test_two_items_hand_derived():
    p = expit(1.0) + 0.01
    s = fit_bradley_terry([[0, 1]], [p], 2, l2=0.01)
    np.testing.assert_allclose(s, [0.5, -0.5], atol=1e-12)


@pytest.mark.parametrize("p", [0.0, 1.0])
def test_two_items_extreme_probabilities_are_finite(p):
    s = fit_bradley_terry([[0, 1]], [p], 2)
    d = s[0] - s[1]
    assert np.all(np.isfinite(s))
    assert expit(d) + 0.01 * d == pytest.approx(p, abs=1e-10)  # same optimality condition
    assert np.isfinite(bradley_terry_loss(s, [[0, 1]], [p]))


# Generalisation to a complete comparison graph on n items with mean-zero scores s*:
# sum_k d*_k (e_i - e_j) = (n I - 1 1^T) s* = n s*, so p_k = sigma(d*_k) + (2 lam / n) d*_k
# makes the gradient vanish at s*; by strict convexity s* is *the* optimum at lam = 0.01.
def test_complete_graph_exact_optimum_at_default_l2():
    rng = np.random.default_rng(1)
    n = 6
    true = rng.normal(size=n)
    true -= true.mean()
    pairs = all_pairs(n)
    d = true[pairs[:, 0]] - true[pairs[:, 1]]
    p = expit(d) + 2 * 0.01 / n * d
    s = fit_bradley_terry(pairs, p, n)
    np.testing.assert_allclose(s, true, atol=1e-10)
    assert np.linalg.norm(_grad(s, pairs, p, 0.01)) < 1e-10


def test_recovers_scores_with_small_l2():
    rng = np.random.default_rng(2)
    n = 9
    true = rng.normal(scale=1.5, size=n)
    true -= true.mean()
    pairs = all_pairs(n)
    p = expit(true[pairs[:, 0]] - true[pairs[:, 1]])
    s = fit_bradley_terry(pairs, p, n, l2=1e-9)
    np.testing.assert_allclose(s, true, atol=1e-6)


def test_invariant_to_pair_order_and_orientation():
    rng = np.random.default_rng(3)
    n = 7
    pairs = all_pairs(n)
    p = rng.random(len(pairs))
    base = fit_bradley_terry(pairs, p, n)
    perm = rng.permutation(len(pairs))
    np.testing.assert_allclose(fit_bradley_terry(pairs[perm], p[perm], n), base, atol=1e-12)
    flip = rng.random(len(pairs)) < 0.5  # (i, j, p) -> (j, i, 1 - p) is the same comparison
    pairs2 = np.where(flip[:, None], pairs[:, ::-1], pairs)
    p2 = np.where(flip, 1 - p, p)
    np.testing.assert_allclose(fit_bradley_terry(pairs2, p2, n), base, atol=1e-12)


def test_optimum_sums_to_zero_and_is_stationary():
    rng = np.random.default_rng(4)
    pairs = all_pairs(5)
    p = rng.choice([0.0, 1.0, 0.3], size=len(pairs))
    s = fit_bradley_terry(pairs, p, 5)
    assert abs(s.sum()) < 1e-12
    assert np.linalg.norm(_grad(s, pairs, p, 0.01)) < 1e-10


def test_batch_equals_per_item_and_is_deterministic():
    rng = np.random.default_rng(5)
    n = 8
    pairs = all_pairs(n)
    probs = rng.random((6, len(pairs)))
    probs[0] = 1.0
    probs[1] = 0.5
    batch = fit_bradley_terry_batch(pairs, probs, n)
    single = np.stack([fit_bradley_terry(pairs, row, n) for row in probs])
    np.testing.assert_allclose(batch, single, atol=1e-12)
    np.testing.assert_array_equal(batch, fit_bradley_terry_batch(pairs, probs, n))
    np.testing.assert_array_equal(batch[1], np.zeros(n))


def test_hard_outcomes():
    pairs = [[0, 1], [0, 2], [1, 2]]
    probs = np.array([[0.7, 0.5, 0.2]])
    hard = fit_bradley_terry_batch(pairs, probs, 3, hard=True)
    np.testing.assert_allclose(hard, fit_bradley_terry_batch(pairs, [[1.0, 0.5, 0.0]], 3), atol=1e-14)


def test_unconverged_warns():
    with pytest.warns(BradleyTerryConvergenceWarning):
        fit_bradley_terry([[0, 1]], [1.0], 2, max_iter=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit_bradley_terry([[0, 1]], [1.0], 2)


@pytest.mark.parametrize(
    "pairs, probs, match",
    [
        ([[0, 0]], [[0.5]], "itself"),
        ([[0, 3]], [[0.5]], r"\[0, 2\)"),
        ([[0, 1]], [[1.5]], r"\[0, 1\]"),
        ([[0, 1]], [[np.nan]], "finite"),
        ([[0, 1]], [[0.5, 0.5]], "shape"),
        ([0, 1], [[0.5]], "shape"),
    ],
)
def test_bad_inputs(pairs, probs, match):
    with pytest.raises(ValueError, match=match):
        fit_bradley_terry_batch(pairs, probs, 2)


def test_l2_must_be_positive():
    with pytest.raises(ValueError, match="l2"):
        fit_bradley_terry([[0, 1]], [0.5], 2, l2=0.0)


def test_probabilities_from_scores():
    s = np.array([[2.0, 0.0, 1.0], [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(binary_probs_multilabel(s), [[expit(1.0), expit(-1.0)], [0.5, 0.5]])
    np.testing.assert_allclose(binary_probs_multilabel(s, none_index=0), [[expit(-2.0), expit(-1.0)], [0.5, 0.5]])
    single = binary_probs_single(s)
    np.testing.assert_allclose(single.sum(axis=1), 1.0)
    np.testing.assert_allclose(single[0], np.exp([2, 0, 1]) / np.exp([2, 0, 1]).sum())


def test_sklearn_wrapper():
    from sklearn.base import clone
    from sklearn.exceptions import NotFittedError

    bt = BradleyTerry(hard=True)
    with pytest.raises(NotFittedError):
        bt.predict_proba([[0, 1]])
    assert clone(bt).get_params()["hard"] is True
    pairs = all_pairs(3)
    bt.fit(pairs, [0.9, 0.9, 0.4])
    np.testing.assert_allclose(bt.scores_, fit_bradley_terry(pairs, [1.0, 1.0, 0.0], 3))
    assert bt.predict_proba(pairs).shape == (3,)
    bt.fit(pairs, [[0.9, 0.9, 0.4], [0.1, 0.1, 0.1]])
    assert bt.scores_.shape == (2, 3) and bt.predict_proba(pairs).shape == (2, 3)
