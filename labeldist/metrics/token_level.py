"""The token-level marginalization paper's metrics (Praharaj & Kasundra, 2025): micro-F1 and Hamming loss
at a fixed threshold, and micro ROC-AUC.

Their evaluation (REFERENCE-METHODS-2.md §1.8) thresholds every label's probability at one
global ``t = 0.2`` (no validation split) and pools all (example, label) cells: scikit-learn's
``f1_score(average="micro")``, ``hamming_loss`` and ``roc_auc_score(average="micro")``. The
threshold here is a fixed argument (``evaluate --threshold``); a threshold chosen from data
must be chosen on a dev split (``labeldist.calibration.thresholds``), never on the test labels
as their LogTokU baseline did. Single-label rows predict their argmax (ties: no prediction),
as every set-based metric of :mod:`labeldist.metrics.classification`.
"""

from __future__ import annotations

import numpy as np

from labeldist.metrics._validation import check_pair, check_reduce
from labeldist.metrics.classification import _counts, _micro_f1_scorer
from labeldist.metrics.ranking import _roc_auc_scorer

#: The paper's global threshold.
DEFAULT_THRESHOLD = 0.2


def _hamming(gold, pred, multilabel: bool, threshold: float = DEFAULT_THRESHOLD) -> np.ndarray:
    _, fp, fn = _counts(gold, pred, multilabel, threshold)
    return (fp + fn).mean(axis=1)  # (n,): share of the example's labels predicted wrongly


def _micro_roc_auc_scorer(gold, pred, multilabel: bool = True):
    """Function of example weights (B, n) -> micro ROC-AUC (B,): all cells ranked as one binary problem."""
    n_labels = gold.shape[1]
    per_cell = _roc_auc_scorer(gold.reshape(-1, 1), pred.reshape(-1, 1))
    return lambda weights: per_cell(np.repeat(weights, n_labels, axis=1))[:, 0]


def micro_f1_at_threshold_score(gold, pred_probs, *, multilabel: bool = True, threshold: float = DEFAULT_THRESHOLD,
                                reduce: str = "mean"):
    r"""Micro-F1 with the predicted sets ``{l : p_l >= t}`` at the paper's global ``t`` (default 0.2).

    ::

        micro-F1@t = 2 TP / (2 TP + FP + FN),   TP, FP, FN pooled over examples and labels

    (scikit-learn's ``f1_score(y, p >= t, average="micro", zero_division=0)``). Corpus level.

    Examples
    --------
    >>> # t = 0.2: predicted {0, 1} and {1}; TP = 1, FP = 2, FN = 1 -> 2/(2+2+1)
    >>> micro_f1_at_threshold_score([[1, 1], [0, 0]], [[0.9, 0.1], [0.3, 0.25]])
    0.4
    """
    check_reduce(reduce, ("mean",))
    g, p = check_pair(gold, pred_probs, "gold", gold=True)
    return float(_micro_f1_scorer(g, p, multilabel, threshold)(np.ones((1, g.shape[0])))[0])


def hamming_loss(gold, pred_probs, *, multilabel: bool = True, threshold: float = DEFAULT_THRESHOLD,
                 reduce: str = "mean"):
    r"""Hamming loss at threshold ``t``: the share of (example, label) cells predicted wrongly.

    ::

        H = (1 / n L) sum_i sum_l 1[ 1[p_il >= t] != y_il ]

    (scikit-learn's ``hamming_loss(y, p >= t)``); ``reduce="none"`` gives each example's
    share, shape (n_examples,). Lower is better.

    Examples
    --------
    >>> # t = 0.2: ex 0 misses label 1 (1/2), ex 1 predicts label 0 wrongly (1/2)
    >>> hamming_loss([[1, 1], [0, 0]], [[0.9, 0.1], [0.3, 0.1]])
    0.5
    """
    check_reduce(reduce)
    g, p = check_pair(gold, pred_probs, "gold", gold=True)
    v = _hamming(g, p, multilabel, threshold)
    return float(v.mean()) if reduce == "mean" else v


def micro_roc_auc_score(gold, pred_probs, *, multilabel: bool = True, reduce: str = "mean"):
    r"""ROC-AUC over all (example, label) cells pooled as one binary problem.

    ::

        AUC = (1 / |P||N|) sum_{(i,l) in P, (j,m) in N} ( 1[p_il > p_jm] + 0.5 1[p_il = p_jm] )

    with P / N the gold-positive / gold-negative cells (scikit-learn's
    ``roc_auc_score(y, p, average="micro")``); NaN without a positive or a negative cell.
    Ties count one half, so a method that gives many labels exactly 0 (conditional, joint)
    is not rewarded for the order of its zeros. Corpus level.

    Examples
    --------
    >>> # positives 0.9, 0.4; negatives 0.1, 0.5: 3 of 4 pairs ordered
    >>> micro_roc_auc_score([[1, 0], [1, 0]], [[0.9, 0.1], [0.4, 0.5]])
    0.75
    """
    check_reduce(reduce, ("mean",))
    g, p = check_pair(gold, pred_probs, "gold", gold=True)
    return float(_micro_roc_auc_scorer(g, p)(np.ones((1, g.shape[0])))[0])
