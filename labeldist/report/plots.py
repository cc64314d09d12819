"""Reliability diagrams and per-label bar charts as PNG (matplotlib's Agg canvas; no pyplot, no global backend)."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from labeldist.numeric import clip_probs

N_BINS = 10


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "dataset"


def _save(fig: Figure, path: Path) -> Path:
    FigureCanvasAgg(fig)
    fig.savefig(path, dpi=110)
    return path


def reliability_bins(pred: np.ndarray, target: np.ndarray, n_bins: int = N_BINS):
    """Pool all (example, label) pairs into equal-width bins of p: (mean p, mean target, count) per non-empty bin."""
    p, t = pred.ravel(), target.ravel()
    bins = np.minimum(np.floor(np.clip(p, 0, 1) * n_bins).astype(int), n_bins - 1)
    count = np.bincount(bins, minlength=n_bins)
    sum_p = np.bincount(bins, weights=p, minlength=n_bins)
    sum_t = np.bincount(bins, weights=t, minlength=n_bins)
    ok = count > 0
    return sum_p[ok] / count[ok], sum_t[ok] / count[ok], count[ok]


def reliability_figure(info, targets: dict, rows: dict[str, np.ndarray]) -> Figure:
    """One panel per method: mean predicted probability vs mean human fraction (or gold rate) per bin."""
    target = targets["human"] if targets.get("human") is not None else targets["gold"]
    what = "human fraction q" if targets.get("human") is not None else "gold rate"
    n = len(rows)
    ncols = min(4, n)
    nrows = math.ceil(n / ncols)
    fig = Figure(figsize=(3.2 * ncols, 3.2 * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax in axes.ravel()[n:]:
        ax.set_axis_off()
    for ax, (name, p) in zip(axes.ravel(), rows.items()):
        mp, mt, cnt = reliability_bins(p, target)
        ax.plot([0, 1], [0, 1], color="0.6", lw=1, ls="--")
        ax.plot(mp, mt, color="C0", lw=1)
        ax.scatter(mp, mt, s=12 + 60 * cnt / cnt.max(), color="C0", zorder=3)
        ax.set(xlim=(0, 1), ylim=(0, 1), title=name if len(name) < 34 else name[:32] + "…")
        ax.title.set_fontsize(9)
        ax.set_xlabel("mean predicted p", fontsize=8)
        ax.set_ylabel(f"mean {what}", fontsize=8)
        ax.tick_params(labelsize=7)
    fig.suptitle(f"{info.name}: reliability over (example, label) pairs, {N_BINS} equal-width bins "
                 "(marker size ∝ pairs)", fontsize=10)
    return fig


def per_label_figure(info, targets: dict, rows: dict[str, np.ndarray]) -> Figure:
    """Top: mean predicted probability per label and method, with the human mean (or gold rate) as black ticks.
    Bottom: per-label mean |p − q| (with human distributions) or the gold rate's ROC-AUC otherwise."""
    human, gold = targets.get("human"), targets.get("gold")
    ref = human if human is not None else gold
    n_labels, n_rows = len(info.labels), len(rows)
    x = np.arange(n_labels)
    width = 0.8 / max(n_rows, 1)
    fig = Figure(figsize=(max(6.0, 0.45 * n_labels * max(1, n_rows / 3)) + 3, 7), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True)
    for k, (name, p) in enumerate(rows.items()):
        off = (k - (n_rows - 1) / 2) * width
        top.bar(x + off, p.mean(axis=0), width, label=name, color=f"C{k % 10}")
        if human is not None:
            vals = np.abs(clip_probs(p) - human).mean(axis=0)
        else:
            from labeldist.metrics import macro_roc_auc_score

            vals = macro_roc_auc_score(gold, p, reduce="none")
        bottom.bar(x + off, np.nan_to_num(vals), width, color=f"C{k % 10}")
    if ref is not None:
        top.hlines(ref.mean(axis=0), x - 0.45, x + 0.45, color="black", lw=2, zorder=5,
                   label="human mean q" if human is not None else "gold rate")
    top.set_ylabel("mean probability")
    top.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    bottom.set_ylabel("mean |p − q| per label" if human is not None else "ROC-AUC per label")
    bottom.set_xticks(x, info.labels, rotation=60, ha="right", fontsize=8)
    fig.suptitle(f"{info.name}: per-label predictions ({info.n_examples} examples)", fontsize=10)
    return fig


def calibration_plots(result, out_dir: Path) -> dict[str, Path]:
    """``calibration_<dataset>_<method>.png``: reliability before/after per label + pooled, per calibrated row."""
    from labeldist.calibration import plot_reliability, reliability_curves
    from labeldist.errors import LabeldistError

    blocks = {info.name: (info, targets, rows) for info, targets, rows in result.blocks}
    paths: dict[str, Path] = {}
    for e in result.calibration_effects:
        if e["calibrated_row"] == e["row"]:  # the dev rule chose no calibration: nothing to compare
            continue
        info, targets, rows = blocks[e["dataset"]]
        kind = "human" if targets.get("human") is not None else "gold"
        keep = targets.get("gold_mask", slice(None)) if kind == "gold" else slice(None)
        t = targets[kind][keep]
        try:
            before = reliability_curves(rows[e["row"]][keep], t, info.labels)
            after = reliability_curves(rows[e["calibrated_row"]][keep], t, info.labels)
        except LabeldistError:  # a label named like the pooled panel: no diagram rather than no evaluation
            continue
        path = out_dir / f"calibration_{_slug(info.name)}_{_slug(e['row'])}.png"
        paths[f"calibration:{info.name}:{e['row']}"] = plot_reliability(
            before, after, path, f"{info.name}: {e['row']}, raw and + {e['calibrator']} ({info.n_examples} evaluated items)",
            target_name="human fraction q" if kind == "human" else "gold rate")
    return paths


def write_plots(result, out_dir: Path) -> dict[str, Path]:
    """``reliability_<dataset>.png`` and ``per_label_<dataset>.png`` for every dataset, and
    ``calibration_<dataset>_<method>.png`` for every calibrated row."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for info, targets, rows in result.blocks:
        if targets.get("human") is None and targets.get("gold") is None:
            continue
        slug = _slug(info.name)
        paths[f"reliability:{info.name}"] = _save(reliability_figure(info, targets, rows), out_dir / f"reliability_{slug}.png")
        paths[f"per_label:{info.name}"] = _save(per_label_figure(info, targets, rows), out_dir / f"per_label_{slug}.png")
    paths.update(calibration_plots(result, out_dir))
    return paths
