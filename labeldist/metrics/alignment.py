"""Distribution-alignment metrics against the human distribution q (paper §5.1.2).

Each function takes ``human_probs`` q and ``pred_probs`` p, both float64 of shape
``(n_examples, n_labels)`` in label-set order (``none`` is never a column). q is the
fraction of annotators who chose each label (paper eq. 1); for single-label data it is
the annotators' vote share. Predictions are clipped to ``[1e-8, 1 - 1e-8]`` first.
Values are computed per example, then averaged (``reduce="mean"``) or returned per
example (``reduce="none"``). All three are losses: lower is better.
"""

from __future__ import annotations

import numpy as np

from labeldist.metrics._validation import check_pair, check_reduce
from labeldist.numeric import clip_probs


def _reduce(values: np.ndarray, reduce: str):
    return float(values.mean()) if reduce == "mean" else values


def _nll(q: np.ndarray, p: np.ndarray, multilabel: bool) -> np.ndarray:
    p = clip_probs(p)  # (n, L)
    if multilabel:
        return -(q * np.log(p) + (1.0 - q) * np.log1p(-p)).sum(axis=1)
    return -(q * np.log(p)).sum(axis=1)


def _l1(q: np.ndarray, p: np.ndarray, multilabel: bool) -> np.ndarray:
    return np.abs(clip_probs(p) - q).sum(axis=1)


def _brier(q: np.ndarray, p: np.ndarray, multilabel: bool) -> np.ndarray:
    return ((clip_probs(p) - q) ** 2).mean(axis=1)


def nll_loss(human_probs, pred_probs, *, multilabel: bool = True, reduce: str = "mean"):
    r"""Expected negative log-likelihood of one annotator's labels under the predictions.

    Multi-label (independent Bernoulli p_l per label)::

        NLL_i = sum_l -[ q_il log p_il + (1 - q_il) log(1 - p_il) ]

    which is the NLL of one annotator drawn at random from the item's annotators, averaged
    over annotators (the binary cross-entropy between q and p, summed over labels).
    Single-label (categorical p)::

        NLL_i = - sum_l q_il log p_il

    Parameters
    ----------
    human_probs : array-like of shape (n_examples, n_labels)
        Human distribution q, values in [0, 1].
    pred_probs : array-like of shape (n_examples, n_labels)
        Predicted probabilities p, values in [0, 1]; clipped to [1e-8, 1 - 1e-8].
    multilabel : bool, default=True
        Bernoulli form when True, categorical form when False.
    reduce : {"mean", "none"}, default="mean"
        ``"mean"`` returns the mean over examples (float); ``"none"`` the per-example
        values, shape (n_examples,).

    Examples
    --------
    >>> round(nll_loss([[0.5, 0.0]], [[0.5, 0.5]]), 4)  # 2 ln 2
    1.3863
    >>> round(nll_loss([[1.0, 0.0]], [[0.5, 0.5]], multilabel=False), 4)  # ln 2
    0.6931
    """
    check_reduce(reduce)
    q, p = check_pair(human_probs, pred_probs, "human_probs")
    return _reduce(_nll(q, p, multilabel), reduce)


def l1_error(human_probs, pred_probs, *, multilabel: bool = True, reduce: str = "mean"):
    r"""L1 distance between predicted and human distributions, summed over labels.

    ::

        L1_i = sum_l | p_il - q_il |

    The same formula for multi- and single-label data (``multilabel`` is accepted for a
    uniform signature and ignored).

    Parameters
    ----------
    human_probs : array-like of shape (n_examples, n_labels)
    pred_probs : array-like of shape (n_examples, n_labels)
    multilabel : bool, default=True
        Ignored.
    reduce : {"mean", "none"}, default="mean"

    Examples
    --------
    >>> round(l1_error([[0.75, 0.0], [0.5, 0.5]], [[0.5, 0.25], [0.5, 0.5]]), 4)
    0.25
    """
    check_reduce(reduce)
    q, p = check_pair(human_probs, pred_probs, "human_probs")
    return _reduce(_l1(q, p, multilabel), reduce)


def brier_score_loss(human_probs, pred_probs, *, multilabel: bool = True, reduce: str = "mean"):
    r"""Brier score against the human distribution, averaged over labels (not summed).

    ::

        Brier_i = (1 / n_labels) sum_l (p_il - q_il)^2

    Parameters
    ----------
    human_probs : array-like of shape (n_examples, n_labels)
    pred_probs : array-like of shape (n_examples, n_labels)
    multilabel : bool, default=True
        Ignored.
    reduce : {"mean", "none"}, default="mean"

    Examples
    --------
    >>> round(brier_score_loss([[1.0, 0.0]], [[0.5, 0.5]]), 4)  # (0.25 + 0.25) / 2
    0.25
    """
    check_reduce(reduce)
    q, p = check_pair(human_probs, pred_probs, "human_probs")
    return _reduce(_brier(q, p, multilabel), reduce)
