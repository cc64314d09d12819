"""Section-4 figures as PNG (matplotlib's Agg canvas; no pyplot, no global backend).

* :func:`plot_step_distributions` — violin + box of top-1 probability or entropy by label step,
  last vs intermediate (Figs 2, 10);
* :func:`plot_spikiness` — k-th sorted first-step probability vs k with jitter (Fig 4);
* :func:`plot_order_accuracy` — accuracy by generation order, bars with intervals (Fig 5);
* :func:`plot_multilabel_rate` — multi-label output rate vs multi-label demo fraction (Fig 6).

:func:`~labeldist.analyses.tables.write_table` (Markdown + CSV) is re-exported here.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from labeldist.analyses.spikiness import Spikiness
from labeldist.analyses.steps import StepRow
from labeldist.analyses.tables import write_table  # noqa: F401 (re-exported)
from labeldist.errors import LabeldistError
from labeldist.metrics import Interval

LAST, INTER = "tab:orange", "tab:blue"
_VALUES = {"top_prob": "top-1 probability", "entropy_bits": "entropy (bits)", "second_prob": "second probability"}


def _save(fig: Figure, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(fig)
    fig.savefig(path, dpi=110)
    return path


def _violin_box(ax, data: list[np.ndarray], positions: list[float], color: str, width: float) -> None:
    """A violin (where the data vary) with a box on top, per position."""
    spread = [(d, p) for d, p in zip(data, positions) if d.size >= 2 and np.ptp(d) > 0]
    if spread:  # a KDE needs two distinct values; constant groups get the box only
        vp = ax.violinplot([d for d, _ in spread], positions=[p for _, p in spread], widths=width,
                           showextrema=False)
        for body in vp["bodies"]:
            body.set_facecolor(color)
            body.set_edgecolor("black")
            body.set_alpha(0.45)
    bp = ax.boxplot(data, positions=positions, widths=width / 2, patch_artist=True, showfliers=False,
                    manage_ticks=False)
    for patch in bp["boxes"]:
        patch.set_facecolor(color)
        patch.set_alpha(0.8)
    for key in ("whiskers", "caps", "medians"):
        for line in bp[key]:
            line.set_color("black")


def plot_step_distributions(rows: Sequence[StepRow], path, *, value: str = "top_prob", max_step: int = 3,
                            title: str | None = None) -> Path:
    """Violin + box of ``value`` per label step (1-based, up to ``max_step``), last vs intermediate.

    Steps present in either group are shown (the reference's default was those in both).
    """
    if value not in _VALUES:
        raise LabeldistError(f"unknown step value {value!r}", f"use one of {', '.join(_VALUES)}")
    rows = [r for r in rows if r.step <= max_step]
    if not rows:
        raise LabeldistError("no label steps to plot", "check that the traces have label steps")
    steps = sorted({r.step for r in rows})
    fig = Figure(figsize=(max(3.0, 1.6 * len(steps)) + 1.5, 3.4), layout="constrained")
    ax = fig.subplots()
    for is_last, color, off in ((True, LAST, -0.18), (False, INTER, 0.18)):
        data, pos = [], []
        for i, s in enumerate(steps):
            d = np.array([getattr(r, value) for r in rows if r.step == s and r.is_last == is_last], dtype=float)
            if d.size:
                data.append(d)
                pos.append(i + off)
        if data:
            _violin_box(ax, data, pos, color, 0.32)
    ax.set_xticks(range(len(steps)), [str(s) for s in steps])
    ax.set_xlabel("label step r")
    ax.set_ylabel(_VALUES[value])
    if value != "entropy_bits":
        ax.set_ylim(0, 1.02)
    ax.legend(handles=[Patch(facecolor=LAST, label="last"), Patch(facecolor=INTER, label="intermediate")],
              loc="best", fontsize=8)
    ax.set_title(title or f"{_VALUES[value]} by label step", fontsize=10)
    return _save(fig, path)


def plot_spikiness(series: Mapping[str, Spikiness], path, *, seed: int = 0, jitter: float = 0.12,
                   title: str | None = None) -> Path:
    """Scatter of the k-th sorted first-step probability at x = k (1-based), one colour per series.

    Series are offset along x and jittered (seeded) so their points do not overlap; each series'
    filter description is printed under the x axis.
    """
    if not series or all(s.sorted_probs.shape[0] == 0 for s in series.values()):
        raise LabeldistError("no first-step distributions to plot", "pass at least one series with kept examples")
    rng = np.random.default_rng(seed)
    n = len(series)
    fig = Figure(figsize=(7.0, 4.2 + 0.18 * n), layout="constrained")
    ax = fig.subplots()
    width = 0.6 / n
    notes = []
    for i, (name, sp) in enumerate(series.items()):
        off = (i - (n - 1) / 2) * width
        p = sp.sorted_probs  # (n_kept, L)
        k = np.broadcast_to(np.arange(1, p.shape[1] + 1), p.shape)
        x = k + off + jitter * width * (rng.random(p.shape) - 0.5) * 4
        ax.scatter(x.ravel(), p.ravel(), s=9, alpha=0.25, color=f"C{i}", label=name, linewidths=0)
        notes.append(textwrap.fill(f"{name}: {sp.description}", 110))
    ax.set(ylabel="label probability", ylim=(0, 1.02))
    ax.set_xlabel("sorted label index k\n" + "\n".join(notes), fontsize=7)  # the filter stays with the figure
    ax.set_xticks(range(1, max(s.sorted_probs.shape[1] for s in series.values()) + 1))
    leg = ax.legend(fontsize=8, loc="upper right")
    for h in leg.legend_handles:
        h.set_alpha(1)
    ax.set_title(title or "Sorted first-step label probabilities", fontsize=10)
    return _save(fig, path)


def _yerr(ivs: Sequence[Interval]) -> np.ndarray:
    est = np.array([iv.estimate for iv in ivs])
    low = np.array([iv.low for iv in ivs])
    high = np.array([iv.high for iv in ivs])
    return np.nan_to_num(np.vstack([est - low, high - est]), nan=0.0)


def plot_order_accuracy(series: Mapping[str, Mapping[int, Interval]], path, *, title: str | None = None) -> Path:
    """Bars of acc_r per generation rank r (1-based) with interval error bars, one bar per series."""
    ranks = sorted({r for s in series.values() for r in s})
    if not ranks:
        raise LabeldistError("no order accuracies to plot", "pass at least one rank with an interval")
    n = len(series)
    width = 0.8 / n
    fig = Figure(figsize=(max(4.5, 1.2 + 1.3 * len(ranks) * max(1, n / 2)), 3.4), layout="constrained")
    ax = fig.subplots()
    for i, (name, accs) in enumerate(series.items()):
        rs = [r for r in ranks if r in accs]
        ivs = [accs[r] for r in rs]
        x = np.array([ranks.index(r) for r in rs]) + (i - (n - 1) / 2) * width
        ax.bar(x, [iv.estimate for iv in ivs], width=width * 0.9, yerr=_yerr(ivs), capsize=3, color=f"C{i}",
               label=name)
    ax.set_xticks(range(len(ranks)), [str(r) for r in ranks])
    ax.set(xlabel="generation order r", ylabel="share of r-th labels in gold", ylim=(0, 1.02))
    ax.legend(fontsize=8)
    ax.set_title(title or "Accuracy by generation order (error bars: bootstrap intervals)", fontsize=9)
    return _save(fig, path)


def plot_multilabel_rate(series: Mapping[str, Mapping[float, Interval]], path, *, title: str | None = None) -> Path:
    """Multi-label output rate (y) vs multi-label demo fraction (x), one line per dataset/model, with intervals.

    The dashed diagonal marks "output rate = demo fraction".
    """
    if not series or not any(series.values()):
        raise LabeldistError("no multi-label rates to plot", "pass at least one series of {fraction: interval}")
    fig = Figure(figsize=(5.2, 4.0), layout="constrained")
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], color="0.6", lw=1, ls="--")
    for i, (name, pts) in enumerate(series.items()):
        xs = sorted(pts)
        ivs = [pts[x] for x in xs]
        ax.errorbar(xs, [iv.estimate for iv in ivs], yerr=_yerr(ivs), marker="o", capsize=3, color=f"C{i}",
                    label=name)
    ax.set(xlabel="share of multi-label demos", ylabel="share of multi-label outputs", xlim=(-0.05, 1.05),
           ylim=(0, 1.02))
    ax.legend(fontsize=8)
    ax.set_title(title or "Multi-label output rate vs demo fraction", fontsize=10)
    return _save(fig, path)
