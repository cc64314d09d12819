"""Distribution-alignment and classification metrics on ``(n_examples, n_labels)`` probability arrays.

Naming follows scikit-learn: ``*_score`` is higher-is-better, ``*_loss`` / ``*_error``
lower-is-better. ``METRICS`` maps each name to a :class:`MetricSpec` giving its
direction and its target: ``"human"`` metrics (NLL, L1, Brier) compare against the
human distribution q, ``"gold"`` metrics against the multi-hot aggregate labels.
Predictions are clipped to ``[1e-8, 1 - 1e-8]``; ``none`` is never a column.
"""

from labeldist.metrics.alignment import brier_score_loss, l1_error, nll_loss
from labeldist.metrics.baselines import base_rate_baseline, uniform_baseline
from labeldist.metrics.bootstrap import (
    Interval,
    PairedTest,
    bootstrap_interval,
    paired_bootstrap_test,
    resample_weights,
)
from labeldist.metrics.classification import (
    example_f1_score,
    example_jaccard_score,
    macro_f1_score,
    micro_f1_score,
)
from labeldist.metrics.ranking import (
    macro_average_precision_score,
    macro_calibration_error,
    macro_roc_auc_score,
)
from labeldist.metrics.registry import (
    METRICS,
    TABLE2_METRICS,
    TOKEN_LEVEL_METRICS,
    MetricSpec,
    get_metric,
    metric_scorer,
    metric_values,
)
from labeldist.metrics.token_level import hamming_loss, micro_f1_at_threshold_score, micro_roc_auc_score
from labeldist.metrics._validation import EPS, check_probs

__all__ = [
    "EPS", "METRICS", "TABLE2_METRICS", "TOKEN_LEVEL_METRICS", "Interval", "MetricSpec", "PairedTest",
    "base_rate_baseline", "bootstrap_interval", "brier_score_loss", "check_probs", "example_f1_score",
    "example_jaccard_score", "get_metric", "l1_error", "macro_average_precision_score",
    "macro_calibration_error", "macro_f1_score", "macro_roc_auc_score", "metric_scorer", "metric_values",
    "micro_f1_score", "hamming_loss", "micro_f1_at_threshold_score", "micro_roc_auc_score",
    "nll_loss", "paired_bootstrap_test", "resample_weights", "uniform_baseline",
]
