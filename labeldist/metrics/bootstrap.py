"""Percentile bootstrap intervals over examples, and paired bootstrap tests between two methods.

A bootstrap resample draws n examples with replacement; it is represented by its count
vector (how often each example was drawn), so a whole batch of resamples is a weight
matrix of shape ``(n_boot, n_examples)`` and every metric is evaluated on all resamples
at once (see :func:`labeldist.metrics.registry.metric_scorer`). Resamples come from
``np.random.default_rng(seed)`` in fixed blocks of :data:`BLOCK` rows: the same seed gives
the same resamples for every method and metric on the same examples, and the first k
resamples do not depend on ``n_boot``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

from labeldist.errors import LabeldistError
from labeldist.metrics._validation import check_pair
from labeldist.metrics.registry import get_metric, metric_scorer

BLOCK = 100


def iter_resample_weights(n_examples: int, *, n_boot: int = 1000, seed: int = 0) -> Iterator[tuple[slice, np.ndarray]]:
    """Yield ``(rows, weights)`` blocks of resample counts, ``weights`` of shape (rows, n_examples).

    Concatenating the blocks gives :func:`resample_weights`; iterating keeps memory at
    ``BLOCK * n_examples`` floats.
    """
    if n_examples < 1:
        raise LabeldistError("cannot bootstrap zero examples", "evaluate at least one example")
    if n_boot < 1:
        raise LabeldistError(f"n_boot={n_boot} must be >= 1", "use e.g. --n-boot 1000")
    rng = np.random.default_rng(seed)
    for start in range(0, n_boot, BLOCK):
        rows = min(BLOCK, n_boot - start)
        idx = rng.integers(0, n_examples, size=(rows, n_examples))  # (rows, n) drawn example indices
        flat = (idx + n_examples * np.arange(rows)[:, None]).ravel()
        counts = np.bincount(flat, minlength=rows * n_examples).reshape(rows, n_examples)
        yield slice(start, start + rows), counts.astype(np.float64)


def resample_weights(n_examples: int, *, n_boot: int = 1000, seed: int = 0) -> np.ndarray:
    """Resample counts of shape (n_boot, n_examples); each row sums to n_examples.

    Examples
    --------
    >>> w = resample_weights(5, n_boot=3, seed=0)
    >>> w.shape, w.sum(axis=1).tolist()
    ((3, 5), [5.0, 5.0, 5.0])
    """
    return np.concatenate([w for _, w in iter_resample_weights(n_examples, n_boot=n_boot, seed=seed)])


@dataclass(frozen=True)
class Interval:
    """A point estimate with its percentile bootstrap interval."""

    estimate: float
    low: float
    high: float
    confidence: float = 0.95
    n_boot: int = 0

    def format(self, digits: int = 3) -> str:
        """``"value [low, high]"``; ``"n/a"`` for NaN."""
        if np.isnan(self.estimate):
            return "n/a"
        return f"{self.estimate:.{digits}f} [{self.low:.{digits}f}, {self.high:.{digits}f}]"


@dataclass(frozen=True)
class PairedTest:
    """Paired bootstrap comparison of methods a and b on the same examples.

    ``mean_diff`` = metric(a) − metric(b) on the full sample; ``low``/``high`` the
    percentile interval of the resampled differences; ``p_value`` two-sided (see
    :func:`paired_p_value`).
    """

    mean_diff: float
    low: float
    high: float
    p_value: float
    confidence: float = 0.95
    n_boot: int = 0


def percentile_interval(estimate: float, boot: np.ndarray, *, confidence: float = 0.95) -> Interval:
    """Percentile interval of resampled values ``boot`` (NaN resamples ignored)."""
    boot = np.asarray(boot, dtype=np.float64)
    ok = boot[~np.isnan(boot)]
    if ok.size == 0 or np.isnan(estimate):
        return Interval(float(estimate), np.nan, np.nan, confidence, boot.size)
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(ok, [alpha, 1.0 - alpha])
    return Interval(float(estimate), float(low), float(high), confidence, boot.size)


def paired_p_value(diffs: np.ndarray) -> float:
    """Two-sided bootstrap p-value for "no difference" from resampled differences.

    ``p = min(1, 2 min(#{d* <= 0} + 1, #{d* >= 0} + 1) / (B + 1))``: the smallest
    two-sided level at which the percentile interval excludes 0, with the usual +1 so
    that p is never exactly 0. Identical methods give p = 1.
    """
    d = np.asarray(diffs, dtype=np.float64)
    d = d[~np.isnan(d)]
    if d.size == 0:
        return float("nan")
    below, above = np.sum(d <= 0), np.sum(d >= 0)
    return float(min(1.0, 2.0 * (min(below, above) + 1) / (d.size + 1)))


def paired_test_from_values(estimate_a: float, estimate_b: float, boot_a: np.ndarray, boot_b: np.ndarray,
                            *, confidence: float = 0.95) -> PairedTest:
    """Paired test from two methods' values on the same resamples."""
    diffs = np.asarray(boot_a, dtype=np.float64) - np.asarray(boot_b, dtype=np.float64)
    iv = percentile_interval(estimate_a - estimate_b, diffs, confidence=confidence)
    return PairedTest(iv.estimate, iv.low, iv.high, paired_p_value(diffs), confidence, diffs.size)


def _checked(spec, target, preds):
    out = [check_pair(target, p, "human_probs" if spec.target == "human" else "gold", gold=spec.target == "gold")
           for p in preds]
    return out[0][0], [p for _, p in out]


def bootstrap_interval(metric, target, pred_probs, *, multilabel: bool = True, n_boot: int = 1000,
                       seed: int = 0, confidence: float = 0.95) -> Interval:
    """Metric value with a 95% (by default) percentile bootstrap interval over examples.

    Parameters
    ----------
    metric : str or MetricSpec
        A key of :data:`labeldist.metrics.METRICS`.
    target : array-like of shape (n_examples, n_labels)
        Human distribution or gold, as the metric requires (``METRICS[metric].target``).
    pred_probs : array-like of shape (n_examples, n_labels)
    multilabel : bool, default=True
    n_boot : int, default=1000
    seed : int, default=0
        Seed of ``np.random.default_rng``; the same seed gives the same interval.
    confidence : float, default=0.95

    Examples
    --------
    >>> iv = bootstrap_interval("l1", [[0.5], [1.0], [0.0]], [[0.5], [0.5], [0.5]], n_boot=200)
    >>> round(iv.estimate, 4), iv.low <= iv.estimate <= iv.high
    (0.3333, True)
    """
    spec = get_metric(metric)
    t, (p,) = _checked(spec, target, [pred_probs])
    score = metric_scorer(spec, t, p, multilabel=multilabel)
    estimate = float(score(np.ones((1, t.shape[0])))[0])
    boot = np.empty(n_boot)
    for rows, w in iter_resample_weights(t.shape[0], n_boot=n_boot, seed=seed):
        boot[rows] = score(w)
    return percentile_interval(estimate, boot, confidence=confidence)


def paired_bootstrap_test(metric, target, pred_a, pred_b, *, multilabel: bool = True, n_boot: int = 1000,
                          seed: int = 0, confidence: float = 0.95) -> PairedTest:
    """Paired bootstrap test of metric(a) − metric(b) on the same examples.

    Both methods are scored on the same resamples; the interval is the percentile
    interval of the differences and the p-value is :func:`paired_p_value`.

    Examples
    --------
    >>> q = [[0.5], [1.0], [0.0], [0.25]]
    >>> t = paired_bootstrap_test("l1", q, [[0.5]] * 4, [[0.5]] * 4, n_boot=100)
    >>> t.mean_diff, t.p_value
    (0.0, 1.0)
    """
    spec = get_metric(metric)
    t, (a, b) = _checked(spec, target, [pred_a, pred_b])
    ones = np.ones((1, t.shape[0]))
    score_a, score_b = metric_scorer(spec, t, a, multilabel=multilabel), metric_scorer(spec, t, b, multilabel=multilabel)
    est_a, est_b = float(score_a(ones)[0]), float(score_b(ones)[0])
    boot_a, boot_b = np.empty(n_boot), np.empty(n_boot)
    for rows, w in iter_resample_weights(t.shape[0], n_boot=n_boot, seed=seed):
        boot_a[rows], boot_b[rows] = score_a(w), score_b(w)
    return paired_test_from_values(est_a, est_b, boot_a, boot_b, confidence=confidence)
