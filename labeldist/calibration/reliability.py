"""Reliability curves, expected calibration error against q or gold, and before/after reliability diagrams.

Binning: ``n_bins`` equal-width bins of p over [0, 1], bin b = min(⌊p · n_bins⌋, n_bins − 1)
(the last bin is closed), with p clipped to [1e-8, 1 − 1e-8] first as in
:func:`labeldist.metrics.macro_calibration_error`, which this module's ECE equals per label
when the target is the 0/1 gold. With N entries and n_b of them in bin b::

    ECE = Σ_b (n_b / N) | mean_{b} p − mean_{b} t |

where t is the human distribution q (soft targets) or the 0/1 gold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from labeldist.errors import LabeldistError
from labeldist.metrics import EPS, check_probs

N_BINS = 10
POOLED = "pooled"


@dataclass(frozen=True)
class ReliabilityCurve:
    """Per-bin statistics of one label (or of all labels pooled).

    Attributes
    ----------
    edges : ndarray of shape (n_bins + 1,)
    count : ndarray of shape (n_bins,)
        Entries per bin.
    mean_pred : ndarray of shape (n_bins,)
        Mean predicted p per bin; NaN for an empty bin.
    mean_target : ndarray of shape (n_bins,)
        Mean target per bin; NaN for an empty bin.
    """

    edges: np.ndarray
    count: np.ndarray
    mean_pred: np.ndarray
    mean_target: np.ndarray

    @property
    def n(self) -> int:
        return int(self.count.sum())

    @property
    def ece(self) -> float:
        """Σ_b (n_b / N) |mean p_b − mean t_b| over non-empty bins."""
        ok = self.count > 0
        return float(np.sum(self.count[ok] * np.abs(self.mean_pred[ok] - self.mean_target[ok])) / self.n)

    def to_dict(self) -> dict:
        """JSON-safe: empty bins' means are None."""
        nan_none = lambda a: [None if np.isnan(v) else float(v) for v in a]  # noqa: E731
        return {"edges": self.edges.tolist(), "count": self.count.astype(int).tolist(),
                "mean_pred": nan_none(self.mean_pred), "mean_target": nan_none(self.mean_target)}


def _check_n_bins(n_bins) -> int:
    if isinstance(n_bins, bool) or not isinstance(n_bins, (int, np.integer)) or n_bins < 1:
        raise LabeldistError(f"n_bins must be a positive integer, got {n_bins!r}", "use e.g. 10")
    return int(n_bins)


def _check(pred, target) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(pred, dtype=np.float64)
    t = np.asarray(target, dtype=np.float64)
    if p.ndim == 1:
        p, t = p[:, None], t.reshape(-1, 1) if t.ndim == 1 else t
    p = check_probs(p, "pred_probs", where="reliability")
    t = check_probs(t, "target", where="reliability")
    if p.shape != t.shape:
        raise LabeldistError(f"reliability: target has shape {t.shape}, pred_probs {p.shape}",
                             "pass the same examples and labels to both")
    return p, t


def _curve(p: np.ndarray, t: np.ndarray, n_bins: int) -> ReliabilityCurve:
    p, t = np.clip(p.ravel(), EPS, 1.0 - EPS), t.ravel()
    bins = np.minimum(np.floor(p * n_bins).astype(int), n_bins - 1)
    count = np.bincount(bins, minlength=n_bins).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_p = np.bincount(bins, weights=p, minlength=n_bins) / count
        mean_t = np.bincount(bins, weights=t, minlength=n_bins) / count
    return ReliabilityCurve(np.linspace(0.0, 1.0, n_bins + 1), count, mean_p, mean_t)


def reliability_curve(pred_probs, target, n_bins: int = N_BINS) -> ReliabilityCurve:
    """Equal-width reliability curve of one label (1-D input) or of all (example, label) entries pooled (2-D).

    Parameters
    ----------
    pred_probs : array-like of shape (n_examples,) or (n_examples, n_labels)
    target : array-like, same shape
        Human distribution q, or 0/1 gold.
    n_bins : int, default=10

    Examples
    --------
    >>> c = reliability_curve([0.05, 0.15, 0.15, 0.95], [0.0, 0.5, 0.0, 1.0], n_bins=10)
    >>> c.count[:2].tolist(), float(c.mean_target[1])
    ([1.0, 2.0], 0.25)
    """
    p, t = _check(pred_probs, target)
    return _curve(p, t, _check_n_bins(n_bins))


def reliability_curves(pred_probs, target, labels: Sequence[str], n_bins: int = N_BINS) -> dict[str, ReliabilityCurve]:
    """One curve per label plus the pooled one (key ``"pooled"``), in label order then pooled."""
    p, t = _check(pred_probs, target)
    n_bins = _check_n_bins(n_bins)
    labels = [str(l) for l in labels]
    if len(labels) != p.shape[1]:
        raise LabeldistError(f"{len(labels)} label names for {p.shape[1]} columns", "pass one name per column")
    if POOLED in labels:
        raise LabeldistError(f"a label is named {POOLED!r}, the pooled curve's key", "rename the label")
    out = {name: _curve(p[:, j], t[:, j], n_bins) for j, name in enumerate(labels)}
    out[POOLED] = _curve(p, t, n_bins)
    return out


def expected_calibration_error(pred_probs, target, *, n_bins: int = N_BINS, reduce: str = "pooled"):
    r"""ECE of the predictions against soft targets q (or 0/1 gold).

    ::

        ECE = Σ_b (n_b / N) | mean_b p − mean_b t |

    Parameters
    ----------
    pred_probs : array-like of shape (n_examples,) or (n_examples, n_labels)
    target : array-like, same shape
    n_bins : int, default=10
    reduce : {"pooled", "mean", "none"}, default="pooled"
        ``"pooled"``: one curve over every (example, label) entry; ``"mean"``: the mean of the
        per-label ECEs (as ``macro_calibration_error``); ``"none"``: per-label ECEs (n_labels,).

    Examples
    --------
    >>> # bin 0: p .05, q 0 -> gap .05; bin 1: p .15, .15, q .5, 0 -> gap .1; bin 9: p .95, q 1 -> .05
    >>> round(expected_calibration_error([0.05, 0.15, 0.15, 0.95], [0.0, 0.5, 0.0, 1.0]), 6)
    0.075
    """
    p, t = _check(pred_probs, target)
    n_bins = _check_n_bins(n_bins)
    if reduce == "pooled":
        return _curve(p, t, n_bins).ece
    if reduce not in ("mean", "none"):
        raise LabeldistError(f"reduce={reduce!r} is not supported here", "use 'pooled', 'mean' or 'none'")
    per_label = np.array([_curve(p[:, j], t[:, j], n_bins).ece for j in range(p.shape[1])])
    return float(per_label.mean()) if reduce == "mean" else per_label


def _panel(ax, name: str, before: ReliabilityCurve, after: ReliabilityCurve | None, target_name: str) -> None:
    ax.plot([0, 1], [0, 1], color="0.6", lw=1, ls="--")
    for curve, color, tag in ((before, "C0", "before"), (after, "C3", "after")):
        if curve is None:
            continue
        ok = curve.count > 0
        size = 10 + 50 * curve.count[ok] / max(curve.count.max(), 1)
        ax.plot(curve.mean_pred[ok], curve.mean_target[ok], color=color, lw=1,
                label=f"{tag} (ECE {curve.ece:.3f})")
        ax.scatter(curve.mean_pred[ok], curve.mean_target[ok], s=size, color=color, zorder=3)
    ax.set(xlim=(0, 1), ylim=(0, 1))
    ax.set_title(name if len(name) < 30 else name[:28] + "…", fontsize=9)
    ax.set_xlabel("mean predicted p", fontsize=7)
    ax.set_ylabel(f"mean {target_name}", fontsize=7)
    ax.tick_params(labelsize=6)
    ax.legend(fontsize=6, loc="upper left")


def plot_reliability(curves_before: dict[str, ReliabilityCurve], curves_after: dict[str, ReliabilityCurve] | None,
                     path, title: str, *, target_name: str = "human fraction q") -> Path:
    """Write a PNG of small multiples: one panel per label plus the pooled one, before and after on the same axes.

    Parameters
    ----------
    curves_before, curves_after : dict of str to ReliabilityCurve
        From :func:`reliability_curves` on the raw and on the calibrated probabilities (same
        keys); ``curves_after`` may be None to draw only the raw curves.
    path : path-like
        Output PNG (parent folders created).
    title : str
    target_name : str, default="human fraction q"
        Y-axis wording, e.g. ``"gold rate"``.

    Returns
    -------
    Path of the written file.
    """
    if not curves_before:
        raise LabeldistError("no reliability curves to plot", "pass the output of reliability_curves")
    if curves_after is not None and list(curves_after) != list(curves_before):
        raise LabeldistError("before and after reliability curves cover different labels",
                             "compute both with reliability_curves on the same label set")
    names = [k for k in curves_before if k != POOLED] + ([POOLED] if POOLED in curves_before else [])
    n = len(names)
    ncols = min(6, n)
    nrows = math.ceil(n / ncols)
    fig = Figure(figsize=(2.6 * ncols, 2.6 * nrows + 0.4), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax in axes.ravel()[n:]:
        ax.set_axis_off()
    for ax, name in zip(axes.ravel(), names):
        _panel(ax, name, curves_before[name], None if curves_after is None else curves_after[name], target_name)
    n_bins = len(curves_before[names[0]].count)
    fig.suptitle(f"{title}: reliability, {n_bins} equal-width bins (marker size ∝ entries)", fontsize=10)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(fig)
    fig.savefig(path, dpi=100)
    return path
