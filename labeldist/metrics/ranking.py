"""Per-label metrics against the aggregate gold labels: calibration error, ROC-AUC, average precision.

Each label is scored one-vs-rest over the examples, then the per-label values are
averaged with equal weight (``reduce="mean"``) or returned (``reduce="none"``, shape
``(n_labels,)``). ROC-AUC and average precision are threshold-free; a label whose gold
column holds a single class in the evaluated examples has no defined value: it is NaN
and left out of the mean (the mean is NaN if every label is left out). The private
``*_scorer(gold, pred)`` functions do the weight-independent work once and return a
function of example weights ``(n_boot, n_examples)`` (bootstrap resample counts) giving
``(n_boot, n_labels)``.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from labeldist.metrics._validation import check_pair, check_reduce
from labeldist.numeric import clip_probs

N_BINS = 10


def nanmean_labels(values: np.ndarray) -> np.ndarray:
    """Mean over the last axis ignoring NaN, NaN where every entry is NaN (no warning)."""
    ok = ~np.isnan(values)
    count = ok.sum(axis=-1)
    total = np.where(ok, values, 0.0).sum(axis=-1)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _ece_scorer(gold, pred, multilabel: bool = True):
    p = clip_probs(pred)  # (n, L)
    n, n_labels = p.shape
    bins = np.minimum(np.floor(p * N_BINS).astype(int), N_BINS - 1)  # (n, L)
    # gap[l * N_BINS + b, i] = p_il - y_il if example i falls in bin b for label l (one entry per (i, l))
    cols = (np.arange(n_labels) * N_BINS + bins).ravel()
    gap = sparse.csr_matrix(((p - gold).ravel(), (cols, np.repeat(np.arange(n), n_labels))),
                            shape=(n_labels * N_BINS, n))

    def score(weights: np.ndarray) -> np.ndarray:
        sums = np.asarray(gap @ weights.T).T  # (B, L * n_bins): sum_i w_i (p - y) per bin
        # sum_b (n_b / N) |mean_b p - mean_b y| = sum_b |sum_b (p - y)| / N
        return np.abs(sums).reshape(-1, n_labels, N_BINS).sum(axis=2) / weights.sum(axis=1, keepdims=True)

    return score


def _rank_layout(gold, pred, *, descending: bool) -> list[tuple]:
    """Per label, the weight-independent part of ranking: sort order, tie structure, segment marks."""
    p = clip_probs(pred)
    layout = []
    for l in range(p.shape[1]):
        key = -p[:, l] if descending else p[:, l]
        order = np.argsort(key, kind="stable")
        k, y = key[order], gold[order, l].astype(bool)
        k_neg, k_pos = k[~y], k[y]
        lo, hi = np.searchsorted(k_neg, k_pos, side="left"), np.searchsorted(k_neg, k_pos, side="right")
        # C(m) = total weight of the first m negatives is needed only at m in lo and hi: the negatives
        # are summed in segments between those marks, then accumulated over segments.
        starts = np.unique(np.concatenate([[0], lo, hi]))
        last_tied = np.searchsorted(k_pos, k_pos, side="right") - 1  # last positive tied with each positive
        layout.append((order[~y], order[y], starts, np.searchsorted(starts, lo), np.searchsorted(starts, hi),
                       last_tied))
    return layout


def _negative_mass(lay: tuple, weights_t: np.ndarray):
    """For one label and weights (n, B): positives' weights (n_pos, B), negative weight ranked strictly
    before each positive and tied with it (each (n_pos, B)), and the total negative weight (B,)."""
    neg_idx, pos_idx, starts, at_lo, at_hi, _ = lay
    rows = np.zeros((neg_idx.size + 1, weights_t.shape[1]))  # a zero row at the end keeps index n_neg valid
    np.take(weights_t, neg_idx, axis=0, out=rows[: neg_idx.size])
    seg = np.add.reduceat(rows, starts, axis=0)  # (n_segments, B)
    cum = np.cumsum(seg, axis=0)
    before = cum - seg  # C at each segment start
    return weights_t[pos_idx], before[at_lo], before[at_hi] - before[at_lo], cum[-1]


def _roc_auc_scorer(gold, pred, multilabel: bool = True):
    layout = _rank_layout(gold, pred, descending=False)

    def score(weights: np.ndarray) -> np.ndarray:
        weights_t = np.ascontiguousarray(weights.T)  # (n, B): row gathers are contiguous
        out = np.empty((weights.shape[0], len(layout)))
        for l, lay in enumerate(layout):
            w_pos, neg_below, neg_tied, n_neg = _negative_mass(lay, weights_t)
            num = np.einsum("pb,pb->b", w_pos, neg_below + 0.5 * neg_tied)  # sum over (pos, neg) pairs
            den = w_pos.sum(axis=0) * n_neg
            out[:, l] = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
        return out

    return score


def _average_precision_scorer(gold, pred, multilabel: bool = True):
    layout = _rank_layout(gold, pred, descending=True)

    def score(weights: np.ndarray) -> np.ndarray:
        weights_t = np.ascontiguousarray(weights.T)
        out = np.empty((weights.shape[0], len(layout)))
        for l, lay in enumerate(layout):
            w_pos, fp_before, fp_tied, n_neg = _negative_mass(lay, weights_t)
            # true positives at each positive's threshold: all positives scoring at least as high
            tp_at = np.cumsum(w_pos, axis=0)[lay[5]]  # (n_pos, B)
            pred_pos = tp_at + fp_before + fp_tied
            precision = np.where(pred_pos > 0, tp_at / np.where(pred_pos > 0, pred_pos, 1.0), 0.0)
            n_pos = w_pos.sum(axis=0)
            ap = np.einsum("pb,pb->b", w_pos, precision) / np.where(n_pos > 0, n_pos, 1.0)
            out[:, l] = np.where((n_pos > 0) & (n_neg > 0), ap, np.nan)
        return out

    return score


def _public(scorer, gold, pred_probs, reduce: str):
    check_reduce(reduce)
    g, p = check_pair(gold, pred_probs, "gold", gold=True)
    per_label = scorer(g, p)(np.ones((1, g.shape[0])))[0]
    return float(nanmean_labels(per_label)) if reduce == "mean" else per_label


def macro_calibration_error(gold, pred_probs, *, multilabel: bool = True, reduce: str = "mean"):
    r"""Expected calibration error of each label against the 0/1 gold, averaged over labels.

    For label l, the examples are put in 10 equal-width bins of p_l (``[0, 0.1)``, ...,
    ``[0.9, 1.0]``); B_b holds the examples in bin b::

        ECE_l = sum_b (|B_b| / n) | mean_{i in B_b} p_il - mean_{i in B_b} y_il |

    with y the aggregate gold (0/1), not the human distribution. Lower is better.

    Parameters
    ----------
    gold : array-like of shape (n_examples, n_labels)
    pred_probs : array-like of shape (n_examples, n_labels)
    multilabel : bool, default=True
        Ignored (each label is scored one-vs-rest either way).
    reduce : {"mean", "none"}, default="mean"
        ``"none"`` returns ECE_l per label, shape (n_labels,).

    Examples
    --------
    >>> # bin [0.8, 0.9): mean p 0.8, mean y 0.5 -> (2/3) 0.3; bin [0.1, 0.2): (1/3) 0.1
    >>> round(macro_calibration_error([[1], [0], [0]], [[0.8], [0.8], [0.1]]), 4)
    0.2333
    """
    return _public(_ece_scorer, gold, pred_probs, reduce)


def macro_roc_auc_score(gold, pred_probs, *, multilabel: bool = True, reduce: str = "mean"):
    r"""Area under the ROC curve of each label against the gold, averaged over labels.

    With P_l and N_l the gold positives and negatives of label l::

        AUC_l = (1 / |P_l||N_l|) sum_{i in P_l, j in N_l} ( 1[p_il > p_jl] + 0.5 1[p_il = p_jl] )

    NaN for a label with no gold positive or no gold negative; those labels are left out
    of the mean. Higher is better.

    Parameters
    ----------
    gold : array-like of shape (n_examples, n_labels)
    pred_probs : array-like of shape (n_examples, n_labels)
    multilabel : bool, default=True
        Ignored.
    reduce : {"mean", "none"}, default="mean"
        ``"none"`` returns AUC_l per label, shape (n_labels,), NaN where undefined.

    Examples
    --------
    >>> # label 0: pairs (0.9 > 0.2) and (0.4 > 0.2) -> 1.0; label 1: all gold 0 -> NaN, left out
    >>> macro_roc_auc_score([[1, 0], [1, 0], [0, 0]], [[0.9, 0.1], [0.4, 0.5], [0.2, 0.3]])
    1.0
    """
    return _public(_roc_auc_scorer, gold, pred_probs, reduce)


def macro_average_precision_score(gold, pred_probs, *, multilabel: bool = True, reduce: str = "mean"):
    r"""Average precision of each label against the gold, averaged over labels.

    Examples sorted by decreasing p_l, tied scores forming one threshold k::

        AP_l = sum_k (R_k - R_{k-1}) P_k

    with P_k and R_k the precision and recall at threshold k (scikit-learn's
    ``average_precision_score``, no interpolation). NaN for a label with a single gold
    class; those labels are left out of the mean. Higher is better.

    Parameters
    ----------
    gold : array-like of shape (n_examples, n_labels)
    pred_probs : array-like of shape (n_examples, n_labels)
    multilabel : bool, default=True
        Ignored.
    reduce : {"mean", "none"}, default="mean"

    Examples
    --------
    >>> # ranking 0.9 (pos), 0.5 (neg), 0.4 (pos): 1/2 * 1 + 1/2 * 2/3
    >>> round(macro_average_precision_score([[1], [0], [1]], [[0.9], [0.5], [0.4]]), 4)
    0.8333
    """
    return _public(_average_precision_scorer, gold, pred_probs, reduce)
