"""Percentile bootstrap intervals over examples for the Section-4 rates and means.

Every statistic here is a ratio of sums over rows, Σ num / Σ den, where each row belongs to one
example (a step of an example, an example itself, an example's label pairs). A resample draws
examples with replacement — all rows of a drawn example come along (a cluster bootstrap) — using
the seeded count vectors of :func:`labeldist.metrics.resample_weights`, so the same seed and the
same examples give the same resamples for every statistic. Several statistics can be resampled
jointly (:func:`joint_interval`) for intervals of differences or slopes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Hashable, Sequence

import numpy as np

from labeldist.analyses.order import MultilabelRule, OrderAccuracy, OrderAgreement, is_multilabel_output
from labeldist.analyses.steps import StepRow
from labeldist.analyses.trace import Trace
from labeldist.errors import LabeldistError
from labeldist.metrics import Interval, resample_weights

N_BOOT = 1000


@dataclass(frozen=True, eq=False)
class GroupedSample:
    """Rows of a ratio statistic, Σ num / Σ den, each row tagged with its example (``groups``)."""

    groups: tuple[Hashable, ...]
    num: np.ndarray
    den: np.ndarray

    def __post_init__(self) -> None:
        num, den = np.asarray(self.num, dtype=np.float64), np.asarray(self.den, dtype=np.float64)
        if not (len(self.groups) == num.shape[0] == den.shape[0]) or num.ndim != 1 or den.ndim != 1:
            raise LabeldistError(f"grouped sample has {len(self.groups)} groups, {num.shape} numerators and "
                                 f"{den.shape} denominators", "pass one group, numerator and denominator per row")
        if not (np.all(np.isfinite(num)) and np.all(np.isfinite(den))) or np.any(den < 0):
            raise LabeldistError("grouped sample has non-finite values or negative denominators",
                                 "drop NaN rows before building the sample")
        object.__setattr__(self, "groups", tuple(self.groups))
        object.__setattr__(self, "num", num)
        object.__setattr__(self, "den", den)

    @classmethod
    def mean(cls, groups: Sequence[Hashable], values) -> "GroupedSample":
        """The mean of ``values`` over rows (denominator 1 per row)."""
        v = np.asarray(values, dtype=np.float64).reshape(-1)
        return cls(tuple(groups), v, np.ones_like(v))

    @property
    def estimate(self) -> float:
        d = self.den.sum()
        return float(self.num.sum() / d) if d > 0 else float("nan")


def _resampled(samples: Sequence[GroupedSample], n_boot: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Estimates (k,) and resampled ratios (n_boot, k) of k samples on shared example draws."""
    keys = sorted({g for s in samples for g in s.groups}, key=lambda g: (type(g).__name__, str(g)))
    if not keys:  # no qualifying rows: the statistic is undefined, not an error
        return np.full(len(samples), np.nan), np.full((n_boot, len(samples)), np.nan)
    code = {g: i for i, g in enumerate(keys)}
    num = np.zeros((len(keys), len(samples)))  # (n_examples, k) per-example sums
    den = np.zeros((len(keys), len(samples)))
    for j, s in enumerate(samples):
        idx = np.array([code[g] for g in s.groups], dtype=int)
        num[:, j] = np.bincount(idx, weights=s.num, minlength=len(keys))
        den[:, j] = np.bincount(idx, weights=s.den, minlength=len(keys))
    w = resample_weights(len(keys), n_boot=n_boot, seed=seed)  # (n_boot, n_examples) draw counts
    with np.errstate(invalid="ignore", divide="ignore"):
        boot = (w @ num) / (w @ den)
        est = num.sum(axis=0) / den.sum(axis=0)
    boot[~np.isfinite(boot)] = np.nan
    est = np.where(np.isfinite(est), est, np.nan)
    return est, boot


def _percentile(estimate: float, boot: np.ndarray, confidence: float) -> Interval:
    ok = boot[~np.isnan(boot)]
    if ok.size == 0 or np.isnan(estimate):
        return Interval(float(estimate), float("nan"), float("nan"), confidence, int(boot.size))
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(ok, [alpha, 1.0 - alpha])
    return Interval(float(estimate), float(low), float(high), confidence, int(boot.size))


def _check(n_boot: int, confidence: float) -> None:
    if n_boot < 1:
        raise LabeldistError(f"n_boot={n_boot} must be >= 1", "use e.g. n_boot=1000")
    if not 0 < confidence < 1:
        raise LabeldistError(f"confidence={confidence} must be in (0, 1)", "use e.g. confidence=0.95")


def sample_interval(sample: GroupedSample, *, n_boot: int = N_BOOT, seed: int = 0,
                    confidence: float = 0.95) -> Interval:
    """Percentile bootstrap interval of ``sample.estimate`` over its examples (all NaN when it has no rows).

    Examples
    --------
    >>> iv = sample_interval(GroupedSample.mean(["a", "a", "b"], [1.0, 0.0, 1.0]), n_boot=200)
    >>> round(iv.estimate, 4), 0.0 <= iv.low <= iv.high <= 1.0
    (0.6667, True)
    """
    _check(n_boot, confidence)
    est, boot = _resampled([sample], n_boot, seed)
    return _percentile(float(est[0]), boot[:, 0], confidence)


def joint_interval(samples: Sequence[GroupedSample], statistic: Callable[[np.ndarray], float], *,
                   n_boot: int = N_BOOT, seed: int = 0, confidence: float = 0.95) -> Interval:
    """Interval of ``statistic(ratios)``, the k samples' ratios resampled on the same example draws.

    E.g. ``statistic=lambda r: r[0] - r[1]`` for a difference, or a least-squares slope over k runs
    of the same examples. Resamples where the statistic is NaN are ignored.
    """
    _check(n_boot, confidence)
    est, boot = _resampled(samples, n_boot, seed)
    vals = np.array([statistic(row) for row in boot], dtype=np.float64)
    return _percentile(float(statistic(est)), vals, confidence)


# ---------------------------------------------------------------- samples of the Section-4 statistics

def step_sample(rows: Sequence[StepRow], field: str, *, is_last: bool | None = None,
                step: int | None = None) -> GroupedSample:
    """Mean of a :class:`StepRow` field over the matching rows (rows where it is None or NaN are left out).

    E.g. ``step_sample(rows, "top_prob", is_last=False)``; ``"is_next_pred_correct"`` gives the
    second-highest-next rate and ``"never_predicted"`` the never-predicted rate.
    """
    if field not in StepRow.__dataclass_fields__:
        raise LabeldistError(f"unknown step field {field!r}", f"use one of {', '.join(StepRow.__dataclass_fields__)}")
    groups, vals = [], []
    for r in rows:
        if (is_last is not None and r.is_last != is_last) or (step is not None and r.step != step):
            continue
        v = getattr(r, field)
        if v is None or (isinstance(v, float) and np.isnan(v)):
            continue
        groups.append(r.example_id)
        vals.append(float(v))
    return GroupedSample.mean(groups, vals)


def order_accuracy_sample(result: OrderAccuracy, rank: int) -> GroupedSample:
    """acc_rank of :func:`~labeldist.analyses.order.order_accuracy` as a sample (1-based rank)."""
    rows = [r for r in result.rows if len(r.hits) >= rank]
    return GroupedSample.mean([r.example_id for r in rows], [r.hits[rank - 1] for r in rows])


def multilabel_rate_sample(traces: Sequence[Trace], *, rule: MultilabelRule = "reference") -> GroupedSample:
    """Multi-label output rate as a sample (one row per example)."""
    return GroupedSample.mean([t.id for t in traces], [is_multilabel_output(t, rule) for t in traces])


def in_order_sample(result: OrderAgreement) -> GroupedSample:
    """Share of examples in the given label order, as a sample."""
    return GroupedSample.mean([r.example_id for r in result.rows], [r.in_order for r in result.rows])


def concordance_sample(result: OrderAgreement) -> GroupedSample:
    """Pooled pairwise concordance Σ concordant / Σ pairs, as a sample."""
    return GroupedSample(tuple(r.example_id for r in result.rows), np.array([r.n_concordant for r in result.rows]),
                         np.array([r.n_pairs for r in result.rows]))
