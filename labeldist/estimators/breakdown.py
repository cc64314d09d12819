"""Unary and binary breakdown (paper §5.2.2): next-token scores -> per-label probabilities.

Pure functions on the scores a backend returned for the endings built by
:mod:`labeldist.prompts.breakdown`. Scores are logits up to a per-prompt constant (raw
logits or log-probabilities); only differences within one prompt are used.

*Token variants.* A target word (``reasonable``, ``a``, ...) is scored through several
token strings (case, leading space; see ``labeldist.prompts.breakdown.breakdown_targets``).
Variants of one word are aggregated by ``variant_agg``: ``"max"`` (default; the paper's
"max over same-concept tokens", and robust to a variant the model never uses) or
``"logsumexp"`` (total probability mass of the variants). With a single variant per word,
as in the faithful token form, both equal the reference.

*Unary* (REFERENCE.md §4.5). ``P(reasonable | c) = softmax(agg_r, agg_u)[0]
= sigma(agg_r - agg_u)`` per candidate ``c``. Multi-label: ``p_l = P(reasonable | l)``,
unnormalised; ``none``'s value is returned separately. Single-label: ``p = P / sum(P)``
(``single_label_norm="sum"``, default) or, as the reference does, ``softmax(P)`` of the
probabilities (``"softmax"``; flattens the distribution, kept only for faithfulness).

*Binary* (§4.6). For pair ``(i, j)`` shown as ``a. i / b. j``: ``p_ij = sigma(agg_a - agg_b)``.
With the swapped prompts (``a. j / b. i``) too, ``p_ij = (P(a | i first) + P(b | j first)) / 2``
and ``position_disagreement`` is the per-item fraction of pairs whose two orders pick
different winners (``sign(p - 1/2)`` differs; a tie counts as no winner). Bradley–Terry
scores over the candidates then give ``sigma(s_l - s_none)`` (multi-label) or
``softmax(s)`` (single-label).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.special import expit, logsumexp

from labeldist.estimators.bradley_terry import (
    all_pairs,
    binary_probs_multilabel,
    binary_probs_single,
    fit_bradley_terry_batch,
)
from labeldist.records import LabelSet

__all__ = [
    "BinaryResult",
    "UnaryResult",
    "aggregate_variants",
    "binary_breakdown_probs",
    "binary_pair_probs",
    "binary_probs_from_pairs",
    "two_way_probs",
    "unary_breakdown_probs",
]

VariantAgg = Literal["max", "logsumexp"]
SingleLabelNorm = Literal["sum", "softmax"]


def aggregate_variants(scores, *, variant_agg: VariantAgg = "max") -> np.ndarray:
    """Combine the scores of one word's token variants over the last axis.

    Parameters
    ----------
    scores : array, shape (..., n_variants)
        Logits (``-inf`` allowed for a variant that is absent).
    variant_agg : {"max", "logsumexp"}, default "max"

    Returns
    -------
    ndarray, shape (...)

    >>> aggregate_variants([[1.0, 3.0]]).tolist()
    [3.0]
    """
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim < 1 or scores.shape[-1] == 0:
        raise ValueError(f"scores need a non-empty last (variants) axis; got shape {scores.shape}")
    if np.any(np.isnan(scores)) or np.any(scores == np.inf):
        raise ValueError("scores must not contain NaN or +inf")
    if variant_agg == "max":
        return scores.max(axis=-1)
    if variant_agg == "logsumexp":
        return logsumexp(scores, axis=-1)
    raise ValueError(f"unknown variant_agg {variant_agg!r}; use 'max' or 'logsumexp'")


def two_way_probs(first_scores, second_scores, *, variant_agg: VariantAgg = "max") -> np.ndarray:
    """``P(first word) = softmax(agg_first, agg_second)[0] = sigma(agg_first - agg_second)``.

    Parameters
    ----------
    first_scores : array, shape (..., n_variants_first)
    second_scores : array, shape (..., n_variants_second)
        Same leading shape as ``first_scores``.

    Returns
    -------
    ndarray, shape (...)

    >>> float(two_way_probs([np.log(3.0)], [0.0]))  # 3 : 1
    0.75
    """
    first = aggregate_variants(first_scores, variant_agg=variant_agg)
    second = aggregate_variants(second_scores, variant_agg=variant_agg)
    if first.shape != second.shape:
        raise ValueError(f"leading shapes differ: {first.shape} vs {second.shape}")
    if np.any(np.isneginf(first) & np.isneginf(second)):
        raise ValueError("both words score -inf in some prompt; their probability is undefined")
    return expit(first - second)


@dataclass(frozen=True)
class UnaryResult:
    """Unary breakdown output; ``...`` is the items axis if scores were batched.

    Attributes
    ----------
    probs : ndarray, shape (..., n_labels)
        Per-label probabilities in ``LabelSet.labels`` order.
    reasonable_probs : ndarray, shape (..., n_candidates)
        ``P(reasonable | c)`` for every candidate, ``none`` included.
    none_probs : ndarray of shape (...) or None
        ``P(reasonable | none)`` (multi-label only; not a label column).
    """

    probs: np.ndarray
    reasonable_probs: np.ndarray
    none_probs: np.ndarray | None


def unary_breakdown_probs(
    reasonable_scores,
    unreasonable_scores,
    label_set: LabelSet,
    *,
    variant_agg: VariantAgg = "max",
    single_label_norm: SingleLabelNorm = "sum",
) -> UnaryResult:
    """Per-label probabilities from unary ("is the label reasonable") prompts.

    Parameters
    ----------
    reasonable_scores : array, shape ([n_items,] n_candidates, n_variants_r)
        Next-token scores of the ``reasonable`` variants after each candidate's ending,
        candidates in ``label_set.candidates`` order.
    unreasonable_scores : array, shape ([n_items,] n_candidates, n_variants_u)
    label_set : LabelSet
    variant_agg : {"max", "logsumexp"}, default "max"
    single_label_norm : {"sum", "softmax"}, default "sum"
        Single-label sets only: ``P / sum(P)``, or the reference's ``softmax(P)``.

    Returns
    -------
    UnaryResult

    Examples
    --------
    >>> ls = LabelSet(("joy", "anger"))
    >>> r = unary_breakdown_probs([[0.0], [0.0], [0.0]], [[0.0], [np.log(3)], [0.0]], ls)
    >>> r.probs.round(4).tolist(), float(r.none_probs)
    ([0.5, 0.25], 0.5)
    """
    if single_label_norm not in ("sum", "softmax"):
        raise ValueError(f"unknown single_label_norm {single_label_norm!r}; use 'sum' or 'softmax'")
    p_reason = two_way_probs(reasonable_scores, unreasonable_scores, variant_agg=variant_agg)  # (..., C)
    n_cand = len(label_set.candidates)
    if p_reason.ndim == 0 or p_reason.shape[-1] != n_cand:
        raise ValueError(
            f"expected {n_cand} candidates ({', '.join(label_set.candidates)}) on the axis before "
            f"the variants; got scores of shape {np.shape(reasonable_scores)}"
        )
    if label_set.multilabel:
        return UnaryResult(p_reason[..., :-1], p_reason, p_reason[..., -1])
    if single_label_norm == "softmax":
        probs = binary_probs_single(p_reason)
    else:
        total = p_reason.sum(axis=-1, keepdims=True)
        if np.any(total == 0):
            raise ValueError("every candidate has P(reasonable) = 0 in some item; cannot normalise by the sum")
        probs = p_reason / total
    return UnaryResult(probs, p_reason, None)


def binary_pair_probs(
    a_scores,
    b_scores,
    *,
    swapped_a_scores=None,
    swapped_b_scores=None,
    variant_agg: VariantAgg = "max",
) -> tuple[np.ndarray, np.ndarray | None]:
    """``p_ij = P(i beats j)`` per pair, optionally averaged over both presentation orders.

    Parameters
    ----------
    a_scores, b_scores : array, shape (..., n_pairs, n_variants)
        Scores of the ``a`` / ``b`` variants for the prompts showing ``a. i / b. j``.
    swapped_a_scores, swapped_b_scores : array, optional
        Same shapes, for the prompts showing ``a. j / b. i`` in the same pair order.
    variant_agg : {"max", "logsumexp"}, default "max"

    Returns
    -------
    pair_probs : ndarray, shape (..., n_pairs)
    position_disagreement : ndarray of shape (...) or None
        Fraction of pairs whose two orders pick different winners (None without swaps).

    >>> p, dis = binary_pair_probs([[[1.0], [0.0]]], [[[0.0], [1.0]]],
    ...                            swapped_a_scores=[[[1.0], [1.0]]], swapped_b_scores=[[[0.0], [0.0]]])
    >>> p.round(4).tolist(), dis.tolist()
    ([[0.5, 0.2689]], [0.5])
    """
    forward = two_way_probs(a_scores, b_scores, variant_agg=variant_agg)
    if (swapped_a_scores is None) != (swapped_b_scores is None):
        raise ValueError("give both swapped_a_scores and swapped_b_scores, or neither")
    if swapped_a_scores is None:
        return forward, None
    backward = 1.0 - two_way_probs(swapped_a_scores, swapped_b_scores, variant_agg=variant_agg)  # P(b | j first)
    if backward.shape != forward.shape:
        raise ValueError(f"swapped scores have leading shape {backward.shape}, expected {forward.shape}")
    disagree = np.sign(forward - 0.5) != np.sign(backward - 0.5)
    return (forward + backward) / 2.0, disagree.mean(axis=-1)


@dataclass(frozen=True)
class BinaryResult:
    """Binary breakdown output; ``...`` is the items axis if scores were batched.

    Attributes
    ----------
    probs : ndarray, shape (..., n_labels)
        Per-label probabilities in ``LabelSet.labels`` order.
    pair_probs : ndarray, shape (..., n_pairs)
        ``P(i beats j)`` fed to Bradley–Terry (before ``hard``), order-averaged if swapped.
    scores : ndarray, shape (..., n_candidates)
        Bradley–Terry scores over ``LabelSet.candidates``.
    position_disagreement : ndarray of shape (...) or None
        See :func:`binary_pair_probs`.
    """

    probs: np.ndarray
    pair_probs: np.ndarray
    scores: np.ndarray
    position_disagreement: np.ndarray | None


def binary_breakdown_probs(
    a_scores,
    b_scores,
    label_set: LabelSet,
    *,
    swapped_a_scores=None,
    swapped_b_scores=None,
    pairs=None,
    hard: bool = False,
    l2: float = 0.01,
    variant_agg: VariantAgg = "max",
) -> BinaryResult:
    """Per-label probabilities from pairwise ("a or b") prompts via Bradley–Terry.

    Parameters
    ----------
    a_scores, b_scores : array, shape ([n_items,] n_pairs, n_variants)
        Scores of the ``a`` / ``b`` variants, one row per pair prompt.
    label_set : LabelSet
    swapped_a_scores, swapped_b_scores : array, optional
        Same for the swapped-order prompts; see :func:`binary_pair_probs`.
    pairs : int array, shape (n_pairs, 2), optional
        Candidate indices ``(i, j)`` shown as ``a`` / ``b``; default all ``i < j`` over
        ``label_set.candidates`` in lexicographic order (the prompt builder's order).
    hard : bool, default False
        Fit on outcomes ``1[p > 0.5]`` instead of probabilities (paper §C).
    l2 : float, default 0.01
    variant_agg : {"max", "logsumexp"}, default "max"

    Returns
    -------
    BinaryResult

    Examples
    --------
    >>> ls = LabelSet(("joy", "anger"))  # candidates joy, anger, none; pairs (0,1) (0,2) (1,2)
    >>> r = binary_breakdown_probs([[0.0], [0.0], [0.0]], [[0.0], [0.0], [0.0]], ls)
    >>> r.probs.tolist()
    [0.5, 0.5]
    """
    pair_p, disagreement = binary_pair_probs(
        a_scores, b_scores, swapped_a_scores=swapped_a_scores,
        swapped_b_scores=swapped_b_scores, variant_agg=variant_agg,
    )
    n_cand = len(label_set.candidates)
    n_pairs = len(all_pairs(n_cand) if pairs is None else pairs)
    if pair_p.ndim == 0 or pair_p.shape[-1] != n_pairs:
        raise ValueError(
            f"expected {n_pairs} pair prompts for {n_cand} candidates on the axis before the "
            f"variants; got scores of shape {np.shape(a_scores)}"
        )
    probs, scores = binary_probs_from_pairs(pair_p, label_set, pairs=pairs, hard=hard, l2=l2)
    return BinaryResult(probs, pair_p, scores, disagreement)


def binary_probs_from_pairs(pair_probs, label_set: LabelSet, *, pairs=None, hard: bool = False,
                            l2: float = 0.01) -> tuple[np.ndarray, np.ndarray]:
    """Bradley–Terry on pair probabilities: ``(probs, scores)``.

    Parameters
    ----------
    pair_probs : array, shape ([n_items,] n_pairs)
        ``P(i beats j)`` per forward pair (order-averaged when both orders were asked).
    label_set : LabelSet
    pairs : int array, shape (n_pairs, 2), optional
        Default: all ``i < j`` over ``label_set.candidates``.
    hard : bool, default False
        Fit on outcomes ``1[p > 0.5]`` instead of probabilities (paper §C).
    l2 : float, default 0.01

    Returns
    -------
    probs : ndarray, shape ([n_items,] n_labels)
        ``sigma(s_l - s_none)`` (multi-label) or ``softmax(s)`` (single-label).
    scores : ndarray, shape ([n_items,] n_candidates)
        The Bradley–Terry scores.

    >>> binary_probs_from_pairs([0.5, 0.5, 0.5], LabelSet(("joy", "anger")))[0].tolist()
    [0.5, 0.5]
    """
    pair_p = np.asarray(pair_probs, dtype=np.float64)
    n_cand = len(label_set.candidates)
    pairs = all_pairs(n_cand) if pairs is None else np.asarray(pairs)
    if pair_p.ndim == 0 or pair_p.shape[-1] != len(pairs):
        raise ValueError(
            f"expected {len(pairs)} pair probabilities for {n_cand} candidates on the last axis; "
            f"got shape {pair_p.shape}"
        )
    lead = pair_p.shape[:-1]
    scores = fit_bradley_terry_batch(pairs, pair_p.reshape(-1, len(pairs)), n_cand, l2=l2, hard=hard)
    scores = scores.reshape(*lead, n_cand)
    probs = binary_probs_multilabel(scores, none_index=-1) if label_set.multilabel else binary_probs_single(scores)
    return probs, scores
