"""``METRICS``: every metric by name, with its direction, its target and a weighted form for the bootstrap."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal

import numpy as np

from labeldist.errors import LabeldistError
from labeldist.metrics import alignment, classification, ranking, token_level


@dataclass(frozen=True)
class MetricSpec:
    """One registered metric.

    Attributes
    ----------
    name : str
        Registry key.
    func : callable
        Public function ``func(target, pred_probs, *, multilabel=True, reduce="mean")``.
    greater_is_better : bool
    target : {"human", "gold"}
        ``"human"``: the first argument is the human distribution q (needs annotator
        fractions). ``"gold"``: the multi-hot aggregate gold labels.
    level : {"example", "label", "corpus"}
        What the value is averaged over: examples, labels, or neither (pooled counts).
    header : str
        Short column header for tables.
    scorer : callable
        ``scorer(target, pred, multilabel)`` does the weight-independent work once (inputs
        trusted) and returns ``score(weights) -> (n_boot,)``: the metric under example
        weights of shape (n_boot, n_examples), e.g. bootstrap resample counts. With all
        weights 1 it equals ``func(..., reduce="mean")``. Metrics with a ``threshold`` take it as a
        fourth argument: ``scorer(target, pred, multilabel, threshold)``.
    threshold : float or None
        Default threshold of a metric that thresholds probabilities at a configurable ``t``
        (``evaluate --threshold``); None for the others.
    """

    name: str
    func: Callable
    greater_is_better: bool
    target: Literal["human", "gold"]
    level: Literal["example", "label", "corpus"]
    header: str
    scorer: Callable
    threshold: float | None = None

    @property
    def direction(self) -> str:
        return "higher" if self.greater_is_better else "lower"

    @property
    def arrow(self) -> str:
        return "↑" if self.greater_is_better else "↓"


def _per_example(fn: Callable) -> Callable:
    def scorer(target, pred, multilabel):
        values = fn(target, pred, multilabel)  # (n,)
        return lambda weights: weights @ values / weights.sum(axis=1)

    return scorer


def _thresholded(fn: Callable) -> Callable:
    def scorer(target, pred, multilabel, threshold):
        values = fn(target, pred, multilabel, threshold)  # (n,)
        return lambda weights: weights @ values / weights.sum(axis=1)

    return scorer


def _label_mean(fn: Callable) -> Callable:
    def scorer(target, pred, multilabel):
        per_label = fn(target, pred, multilabel)
        return lambda weights: ranking.nanmean_labels(per_label(weights))  # (B, L) -> (B,)

    return scorer


_SPECS = [
    MetricSpec("nll", alignment.nll_loss, False, "human", "example", "NLL", _per_example(alignment._nll)),
    MetricSpec("l1", alignment.l1_error, False, "human", "example", "L1", _per_example(alignment._l1)),
    MetricSpec("example_f1", classification.example_f1_score, True, "gold", "example", "F1",
               _per_example(classification._example_f1)),
    MetricSpec("brier", alignment.brier_score_loss, False, "human", "example", "Brier", _per_example(alignment._brier)),
    MetricSpec("example_jaccard", classification.example_jaccard_score, True, "gold", "example", "Jaccard",
               _per_example(classification._example_jaccard)),
    MetricSpec("micro_f1", classification.micro_f1_score, True, "gold", "corpus", "micro-F1",
               classification._micro_f1_scorer),
    MetricSpec("macro_f1", classification.macro_f1_score, True, "gold", "label", "macro-F1",
               _label_mean(classification._label_f1_scorer)),
    MetricSpec("ece", ranking.macro_calibration_error, False, "gold", "label", "ECE", _label_mean(ranking._ece_scorer)),
    MetricSpec("roc_auc", ranking.macro_roc_auc_score, True, "gold", "label", "ROC-AUC",
               _label_mean(ranking._roc_auc_scorer)),
    MetricSpec("average_precision", ranking.macro_average_precision_score, True, "gold", "label", "AP",
               _label_mean(ranking._average_precision_scorer)),
    # Praharaj & Kasundra's metrics: micro-F1 and Hamming loss at one global threshold t, micro ROC-AUC
    MetricSpec("micro_f1@t", token_level.micro_f1_at_threshold_score, True, "gold", "corpus", "micro-F1@t",
               lambda g, p, ml, t: classification._micro_f1_scorer(g, p, ml, t), token_level.DEFAULT_THRESHOLD),
    MetricSpec("hamming_loss", token_level.hamming_loss, False, "gold", "example", "Hamming",
               _thresholded(token_level._hamming), token_level.DEFAULT_THRESHOLD),
    MetricSpec("micro_roc_auc", token_level.micro_roc_auc_score, True, "gold", "corpus", "micro-AUC",
               token_level._micro_roc_auc_scorer),
]

#: Registered metrics by name, in table order; the first three make the paper's Table 2.
METRICS: dict[str, MetricSpec] = {s.name: s for s in _SPECS}

#: The paper's Table 2 columns.
TABLE2_METRICS: tuple[str, ...] = ("nll", "l1", "example_f1")
#: The token-level marginalization paper's columns (thresholded at ``evaluate --threshold``, default 0.2).
TOKEN_LEVEL_METRICS: tuple[str, ...] = ("micro_f1@t", "hamming_loss", "micro_roc_auc")


def get_metric(name: str | MetricSpec) -> MetricSpec:
    """Look up a metric by name (a :class:`MetricSpec` is returned unchanged)."""
    if isinstance(name, MetricSpec):
        return name
    try:
        return METRICS[name]
    except KeyError:
        raise LabeldistError(f"unknown metric {name!r}", f"choose from {', '.join(METRICS)}") from None


def metric_scorer(metric, target: np.ndarray, pred: np.ndarray, *, multilabel: bool = True,
                  threshold: float | None = None) -> Callable:
    """``score(weights)``: the metric under example weights (n_boot, n_examples) -> (n_boot,); inputs trusted.

    Preparing once and scoring many weight blocks avoids redoing sorting and thresholding.
    ``threshold`` replaces the default ``t`` of a thresholded metric (ignored by the others).
    """
    spec = get_metric(metric)
    args = (np.asarray(target, dtype=np.float64), np.asarray(pred, dtype=np.float64), multilabel)
    if spec.threshold is not None:
        return spec.scorer(*args, spec.threshold if threshold is None else float(threshold))
    return spec.scorer(*args)


def metric_values(metric, target: np.ndarray, pred: np.ndarray, weights: np.ndarray, *, multilabel: bool = True,
                  threshold: float | None = None) -> np.ndarray:
    """Metric under example weights of shape (n_boot, n_examples) -> (n_boot,); inputs trusted."""
    return metric_scorer(metric, target, pred, multilabel=multilabel, threshold=threshold)(
        np.asarray(weights, dtype=np.float64))
