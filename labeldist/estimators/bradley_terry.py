"""Deterministic, vectorised Bradley–Terry fit (paper eq. 2) and its per-label probabilities.

Model: label ``i`` beats label ``j`` with probability ``sigma(s_i - s_j)``. Given pairwise
outcomes ``p_k = P(i_k beats j_k)`` for pairs ``k = 1..K``, the scores ``s`` (shape
``(n_items,)``) minimise

    L(s) = sum_k -[p_k log sigma(d_k) + (1 - p_k) log sigma(-d_k)] + lam * ||s||^2,
    d_k = s_{i_k} - s_{j_k}.

This is the paper's eq. 2 (its ``1/2`` over ordered pairs equals one term per unordered
pair) plus the reference code's L2 term (``lam = 0.01``). Log-sigmoid keeps the loss
finite at ``p in {0, 1}``, where the reference's ``log(1 - sigma - 1e-7)`` can be NaN.

Why a different solver than the reference. The reference (REFERENCE.md §4.6) runs Adam
(lr 0.01) from an unseeded ``torch.randn`` start for at most 5000 iterations and stops
early when the training loss has not decreased for 10 iterations, one scalar Python term
per pair. Its result depends on the random start and on where it stopped. ``L`` is convex
and, for ``lam > 0``, strictly convex (its Hessian is a weighted graph Laplacian plus
``2 lam I``, positive definite), so the optimum is unique and we solve it exactly:
damped Newton from ``s = 0`` with the analytic gradient and Hessian, batched over many
items, until ``||grad|| < tol`` (1e-10). Same inputs, same scores, on every machine.

Two facts used in tests: summing the gradient's components cancels every pair term, so
the optimum has ``sum(s) = 0``; and for two items with one pair the optimum is
``s = (d/2, -d/2)`` with ``sigma(d) + lam * d = p``.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.special import expit, log_expit
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from labeldist.numeric import softmax

__all__ = [
    "BradleyTerry",
    "BradleyTerryConvergenceWarning",
    "all_pairs",
    "binary_probs_multilabel",
    "binary_probs_single",
    "bradley_terry_loss",
    "fit_bradley_terry",
    "fit_bradley_terry_batch",
]


class BradleyTerryConvergenceWarning(UserWarning):
    """Some items did not reach the gradient tolerance within ``max_iter`` Newton steps."""


def all_pairs(n_items: int) -> np.ndarray:
    """All unordered pairs ``i < j`` in lexicographic order, shape ``(n_items*(n_items-1)/2, 2)``.

    Same order as ``itertools.combinations(range(n_items), 2)`` and the binary breakdown prompts.

    >>> all_pairs(3).tolist()
    [[0, 1], [0, 2], [1, 2]]
    """
    i, j = np.triu_indices(n_items, k=1)
    return np.stack([i, j], axis=1).astype(np.int64)


def _check_inputs(pairs, probs, n_items: int, l2: float) -> tuple[np.ndarray, np.ndarray]:
    pairs = np.asarray(pairs)
    if pairs.ndim != 2 or pairs.shape[1] != 2 or not np.issubdtype(pairs.dtype, np.integer):
        raise ValueError(f"pairs must be an integer array of shape (n_pairs, 2); got {pairs.dtype} {pairs.shape}")
    if n_items < 1:
        raise ValueError(f"n_items must be >= 1; got {n_items}")
    if pairs.size and (pairs.min() < 0 or pairs.max() >= n_items):
        raise ValueError(f"pair indices must lie in [0, {n_items}); got range [{pairs.min()}, {pairs.max()}]")
    if np.any(pairs[:, 0] == pairs[:, 1]):
        raise ValueError("a pair compares an item with itself; every pair needs i != j")
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 2 or probs.shape[1] != pairs.shape[0]:
        raise ValueError(f"probs must have shape (n_batch, {pairs.shape[0]}); got {probs.shape}")
    if not np.all(np.isfinite(probs)) or np.any((probs < 0) | (probs > 1)):
        raise ValueError("probs must be finite and in [0, 1]")
    if not l2 > 0:
        raise ValueError(f"l2 must be > 0 (it makes the optimum unique and finite); got {l2}")
    return pairs.astype(np.int64), probs


def _harden(probs: np.ndarray) -> np.ndarray:
    """Outcomes 1[p > 0.5], ties 0.5 (the reference's ``binary_outcome``)."""
    return np.where(probs > 0.5, 1.0, np.where(probs < 0.5, 0.0, 0.5))


def _loss(scores: np.ndarray, incidence: np.ndarray, probs: np.ndarray, l2: float) -> np.ndarray:
    d = scores @ incidence.T  # (B, K)
    nll = -(probs * log_expit(d) + (1.0 - probs) * log_expit(-d)).sum(axis=1)
    return nll + l2 * np.einsum("bn,bn->b", scores, scores)  # (B,)


def bradley_terry_loss(scores, pairs, probs, *, l2: float = 0.01) -> np.ndarray:
    """Penalised Bradley–Terry loss ``L(s)`` of the module docstring.

    Parameters
    ----------
    scores : array, shape (n_items,) or (n_batch, n_items)
    pairs : int array, shape (n_pairs, 2)
    probs : array, shape (n_pairs,) or (n_batch, n_pairs)
        ``P(pairs[k, 0] beats pairs[k, 1])``.
    l2 : float, default 0.01

    Returns
    -------
    float or array of shape (n_batch,)

    >>> float(bradley_terry_loss([0.0, 0.0], [[0, 1]], [1.0]))  # -log(1/2)
    0.6931471805599453
    """
    scores = np.asarray(scores, dtype=np.float64)
    single = scores.ndim == 1
    s2 = np.atleast_2d(scores)
    pairs, p2 = _check_inputs(pairs, np.atleast_2d(probs), s2.shape[1], l2)
    out = _loss(s2, _incidence(pairs, s2.shape[1]), p2, l2)
    return out[0] if single else out


def _incidence(pairs: np.ndarray, n_items: int) -> np.ndarray:
    """``A[k, i_k] = 1``, ``A[k, j_k] = -1``, so ``d = s @ A.T``; shape (K, n)."""
    a = np.zeros((pairs.shape[0], n_items))
    k = np.arange(pairs.shape[0])
    a[k, pairs[:, 0]] = 1.0
    a[k, pairs[:, 1]] = -1.0
    return a


def _hessian(weights: np.ndarray, pairs: np.ndarray, n: int, l2: float) -> np.ndarray:
    """``sum_k w_k (e_i - e_j)(e_i - e_j)^T + 2 lam I`` by scatter-add; shape (B, n, n).

    O(B*K) instead of the O(B*K*n^2) of ``A.T @ diag(w) @ A``.
    """
    b = weights.shape[0]
    i, j = pairs[:, 0], pairs[:, 1]
    cells = np.concatenate([i * n + i, j * n + j, i * n + j, j * n + i])  # (4K,)
    flat = (np.arange(b)[:, None] * (n * n) + cells[None, :]).ravel()  # (B*4K,)
    vals = np.concatenate([weights, weights, -weights, -weights], axis=1).ravel()
    h = np.bincount(flat, weights=vals, minlength=b * n * n).reshape(b, n, n)
    h[:, np.arange(n), np.arange(n)] += 2.0 * l2
    return h


def fit_bradley_terry_batch(
    pairs,
    probs,
    n_items: int,
    *,
    l2: float = 0.01,
    hard: bool = False,
    tol: float = 1e-10,
    max_iter: int = 100,
    return_n_iter: bool = False,
):
    """Fit Bradley–Terry scores for many independent items (e.g. a whole run) at once.

    Every row of ``probs`` is its own problem over the same ``pairs``. Damped Newton from
    zero: step ``-H^{-1} g`` with ``g = A^T (sigma(d) - p) + 2 lam s`` and
    ``H = A^T diag(sigma(d)(1 - sigma(d))) A + 2 lam I``, halved until the Armijo
    condition holds; a row stops once ``||g|| < tol``.

    Parameters
    ----------
    pairs : int array, shape (n_pairs, 2)
        Item indices ``(i, j)``; any order, repeats allowed.
    probs : array, shape (n_batch, n_pairs)
        ``P(i beats j)`` in [0, 1] for each row and pair.
    n_items : int
        Number of items scored (items in no pair get score 0).
    l2 : float, default 0.01
        Weight ``lam`` of ``lam * ||s||^2``; must be > 0.
    hard : bool, default False
        Replace each ``p`` by the outcome ``1[p > 0.5]`` (ties 0.5) before fitting.
    tol : float, default 1e-10
        Gradient-norm tolerance.
    max_iter : int, default 100
        Newton steps at most; rows still above ``tol`` raise a
        :class:`BradleyTerryConvergenceWarning`.
    return_n_iter : bool, default False
        Also return the Newton steps each row took, shape (n_batch,).

    Returns
    -------
    scores : ndarray, shape (n_batch, n_items)
        Unique minimisers of ``L``; each row sums to 0.

    Examples
    --------
    >>> s = fit_bradley_terry_batch([[0, 1]], [[0.5], [0.9]], 2)  # sigma(d) + 0.01 d = p
    >>> s.round(4).tolist()
    [[0.0, 0.0], [0.9965, -0.9965]]
    """
    pairs, probs = _check_inputs(pairs, probs, n_items, l2)
    if hard:
        probs = _harden(probs)
    b, n = probs.shape[0], n_items
    a = _incidence(pairs, n)  # (K, n)
    scores = np.zeros((b, n))
    n_iter = np.zeros(b, dtype=np.int64)
    active = np.arange(b)
    for _ in range(max_iter):
        s, p = scores[active], probs[active]
        sig = expit(s @ a.T)  # (Ba, K)
        grad = (sig - p) @ a + 2.0 * l2 * s  # (Ba, n)
        still = np.linalg.norm(grad, axis=1) >= tol
        active, s, p, sig, grad = active[still], s[still], p[still], sig[still], grad[still]
        if active.size == 0:
            break
        hess = _hessian(sig * (1.0 - sig), pairs, n, l2)  # (Ba, n, n)
        step = -np.linalg.solve(hess, grad[..., None])[..., 0]  # (Ba, n)
        loss0 = _loss(s, a, p, l2)
        slope = np.einsum("bn,bn->b", grad, step)  # < 0: H is positive definite
        slack = 1e-12 * np.maximum(1.0, np.abs(loss0))  # rounding allowance near the optimum
        t = np.ones(active.size)
        pending = np.ones(active.size, dtype=bool)
        for _ in range(60):
            idx = np.flatnonzero(pending)
            trial = s[idx] + t[idx, None] * step[idx]
            ok = _loss(trial, a, p[idx], l2) <= loss0[idx] + 1e-4 * t[idx] * slope[idx] + slack[idx]
            pending[idx[ok]] = False
            if not pending.any():
                break
            t[pending] *= 0.5
        t[pending] = 0.0  # no decrease even at a tiny step: the row is at machine precision
        scores[active] = s + t[:, None] * step
        n_iter[active] += 1
        active = active[~pending]
    else:
        s = scores[active]
        grad = (expit(s @ a.T) - probs[active]) @ a + 2.0 * l2 * s
        bad = np.linalg.norm(grad, axis=1) >= tol
        if bad.any():
            warnings.warn(
                f"Bradley–Terry: {int(bad.sum())} of {b} items did not reach ||grad|| < {tol:g} in "
                f"{max_iter} Newton steps (largest ||grad|| = {np.linalg.norm(grad, axis=1).max():.3g})",
                BradleyTerryConvergenceWarning,
                stacklevel=2,
            )
    return (scores, n_iter) if return_n_iter else scores


def fit_bradley_terry(pairs, probs, n_items: int, **kwargs) -> np.ndarray:
    """Bradley–Terry scores of one item set; shape ``(n_items,)``.

    ``probs`` has shape ``(n_pairs,)``; keyword options as in :func:`fit_bradley_terry_batch`.

    >>> fit_bradley_terry([[0, 1], [1, 2], [0, 2]], [0.5, 0.5, 0.5], 3).tolist()
    [0.0, 0.0, 0.0]
    """
    return fit_bradley_terry_batch(pairs, np.asarray(probs, dtype=np.float64)[None, :], n_items, **kwargs)[0]


def binary_probs_multilabel(scores, none_index: int = -1) -> np.ndarray:
    """Per-label probabilities ``sigma(s_l - s_none)`` for every label except ``none``.

    Parameters
    ----------
    scores : array, shape (..., n_candidates)
        Bradley–Terry scores over the candidates (labels and ``none``).
    none_index : int, default -1
        Column of ``none`` (last in ``LabelSet.candidates`` order).

    Returns
    -------
    ndarray, shape (..., n_candidates - 1)
        Independent probabilities, ``none``'s column dropped.

    >>> binary_probs_multilabel(np.array([1.0, 0.0, 0.0])).tolist()
    [0.7310585786300049, 0.5]
    """
    scores = np.asarray(scores, dtype=np.float64)
    k = none_index % scores.shape[-1]
    diff = scores - scores[..., k : k + 1]
    return expit(np.delete(diff, k, axis=-1))


def binary_probs_single(scores) -> np.ndarray:
    """Categorical probabilities ``softmax(s)`` over the last axis, shape unchanged.

    >>> binary_probs_single(np.zeros(4)).tolist()
    [0.25, 0.25, 0.25, 0.25]
    """
    return softmax(scores)


class BradleyTerry(BaseEstimator):
    """Sklearn-style wrapper of :func:`fit_bradley_terry_batch`.

    Parameters
    ----------
    l2 : float, default 0.01
    hard : bool, default False
    tol : float, default 1e-10
    max_iter : int, default 100

    Attributes
    ----------
    scores_ : ndarray, shape (n_items,) or (n_batch, n_items)
        Fitted scores, batched like the ``probs`` given to :meth:`fit`.
    n_iter_ : ndarray of int, shape (n_batch,)

    Examples
    --------
    >>> bt = BradleyTerry().fit([[0, 1]], [0.9])
    >>> bt.predict_proba([[0, 1]]).round(4).tolist()
    [0.8801]
    """

    def __init__(self, *, l2: float = 0.01, hard: bool = False, tol: float = 1e-10, max_iter: int = 100):
        self.l2 = l2
        self.hard = hard
        self.tol = tol
        self.max_iter = max_iter

    def fit(self, pairs, probs, *, n_items: int | None = None) -> "BradleyTerry":
        """Fit on ``pairs`` (n_pairs, 2) and ``probs`` (n_pairs,) or (n_batch, n_pairs)."""
        pairs_arr = np.asarray(pairs)
        probs_arr = np.asarray(probs, dtype=np.float64)
        n = int(pairs_arr.max()) + 1 if n_items is None else n_items
        scores, n_iter = fit_bradley_terry_batch(
            pairs_arr, np.atleast_2d(probs_arr), n, l2=self.l2, hard=self.hard,
            tol=self.tol, max_iter=self.max_iter, return_n_iter=True,
        )
        self.scores_ = scores[0] if probs_arr.ndim == 1 else scores
        self.n_iter_ = n_iter
        return self

    def predict_proba(self, pairs) -> np.ndarray:
        """``sigma(s_i - s_j)`` for each pair; shape (n_pairs,) or (n_batch, n_pairs)."""
        check_is_fitted(self)
        pairs = np.asarray(pairs, dtype=np.int64)
        return expit(self.scores_[..., pairs[:, 0]] - self.scores_[..., pairs[:, 1]])
