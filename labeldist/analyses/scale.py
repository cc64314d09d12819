"""Scale: the same statistics for every model that ran one dataset, in one table and one figure (item 9).

Base runs (:func:`labeldist.analyses.runs.base_run`) of one dataset, label set, decoding and number
of demos from two or more models are lined up by parameter count (``manifest.model.extra``). Per
model: mean top-1 at label step 1, the 2nd-ranked-is-next rate, the never-predicted rate, the
accuracy of the first and second generated label, the multi-label output rate, the pair concordance
with the prompt's label order, and — when the model also has a demo-share sweep — the slope of the
multi-label rate on the demo share. Consecutive models (smaller → larger) on shared examples give
the paired scale findings of :mod:`labeldist.analyses.more_findings`.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure as MplFigure

from labeldist.analyses.intervals import (
    concordance_sample,
    joint_interval,
    multilabel_rate_sample,
    order_accuracy_sample,
    sample_interval,
    step_sample,
)
from labeldist.analyses.more_findings import scale_findings
from labeldist.analyses.order import instruction_order_agreement, order_accuracy
from labeldist.analyses.output import AnalysisReport, Figure, Table, finding_row
from labeldist.analyses.runs import AnalysisRun, common_ids
from labeldist.analyses.steps import StepAnalysis
from labeldist.metrics import Interval

#: Figure panels: (table column, axis label).
PANELS = (("top-1 @ step 1", "mean top-1 at label step 1"), ("2nd-ranked is next", "2nd-ranked is next"),
          ("never predicted", "never predicted"), ("acc of 1st label", "accuracy of the 1st label"),
          ("multi-label outputs", "multi-label output rate"), ("concordance with prompt order", "pair concordance"))


def _params(run: AnalysisRun) -> str:
    n = run.n_parameters
    return "?" if n is None else f"{n / 1e6:.0f}M" if n < 1e9 else f"{n / 1e9:.2f}B"


def scale_row(run: AnalysisRun, steps: StepAnalysis, sweep: Mapping[float, AnalysisRun] | None, boot: dict) -> dict:
    rows = steps.rows
    iv = lambda s: sample_interval(s, **boot)  # noqa: E731
    row = {"dataset": run.dataset, "model": run.model, "parameters": _params(run), "examples": len(run.traces),
           "top-1 @ step 1": iv(step_sample(rows, "top_prob", step=1)),
           "2nd-ranked is next": iv(step_sample(rows, "is_next_pred_correct", is_last=False)),
           "never predicted": iv(step_sample(rows, "never_predicted", is_last=False))}
    nan = Interval(float("nan"), float("nan"), float("nan"))
    multi = run.label_set.multilabel
    if multi and any(t.gold is not None for t in run.traces):
        acc = order_accuracy(run.traces, max_rank=2, min_count=0)
        row["acc of 1st label"], row["acc of 2nd label"] = (iv(order_accuracy_sample(acc, 1)),
                                                            iv(order_accuracy_sample(acc, 2)))
    else:
        row["acc of 1st label"] = row["acc of 2nd label"] = nan
    row["multi-label outputs"] = iv(multilabel_rate_sample(run.traces)) if multi else nan
    row["concordance with prompt order"] = iv(concordance_sample(instruction_order_agreement(run.traces,
                                                                                            run.label_order)))
    if sweep:
        x = np.array(sorted(sweep), dtype=np.float64)
        slope = lambda r: float("nan") if np.any(np.isnan(r)) else float(np.polyfit(x, r, 1)[0])  # noqa: E731
        row["multi-label rate slope on demo share"] = joint_interval(
            [multilabel_rate_sample(sweep[k].traces) for k in sorted(sweep)], slope, **boot)
    return row


def plot_scale(rows_by_dataset: Mapping[str, Sequence[dict]], path) -> None:
    """One panel per :data:`PANELS` statistic: x = models by size, one line per dataset, interval error bars."""
    fig = MplFigure(figsize=(11.5, 6.4), layout="constrained")
    axes = fig.subplots(2, 3).ravel()
    for ax, (col, label) in zip(axes, PANELS):
        for i, (dataset, rows) in enumerate(rows_by_dataset.items()):
            ivs = [r[col] for r in rows]
            est = np.array([v.estimate for v in ivs])
            err = np.nan_to_num(np.vstack([est - [v.low for v in ivs], np.array([v.high for v in ivs]) - est]))
            x = np.arange(len(rows)) + (i - (len(rows_by_dataset) - 1) / 2) * 0.06
            ax.errorbar(x, est, yerr=err, marker="o", capsize=3, color=f"C{i}", label=dataset)
        models = next(iter(rows_by_dataset.values()))
        ax.set_xticks(range(len(models)), [f"{r['model']}\n{r['parameters']}" for r in models], fontsize=7)
        ax.set_ylim(0, 1.02)
        ax.set_title(label, fontsize=9)
    axes[0].legend(fontsize=7)
    fig.suptitle("Section-4 statistics by model size (error bars: 95% bootstrap intervals)", fontsize=10)
    FigureCanvasAgg(fig)
    fig.savefig(path, dpi=110)


def scale_section(report: AnalysisReport, bases: Sequence[AnalysisRun], steps: Mapping[str, StepAnalysis],
                  sweep_of: Mapping[tuple, Mapping[float, AnalysisRun]]) -> None:
    """Add the scale table, figure and findings to ``report`` when a dataset has base runs of >= 2 models."""
    groups: dict[tuple, list[AnalysisRun]] = {}
    for run in bases:
        groups.setdefault((run.dataset, run.label_set.labels, run.decoding, run.shots), []).append(run)
    opt = report.options
    rows_by_dataset: dict[str, list[dict]] = {}
    table_rows: list[dict] = []
    for runs in groups.values():
        if len({r.model for r in runs}) < 2:
            continue
        runs = sorted(runs, key=lambda r: (r.n_parameters is None, r.n_parameters or 0, r.model))
        rows = [scale_row(r, steps[r.name], sweep_of.get(r.context), opt.boot) for r in runs]
        table_rows += rows
        key = runs[0].dataset if runs[0].dataset not in rows_by_dataset else f"{runs[0].dataset} ({runs[0].shots}-shot)"
        rows_by_dataset[key] = rows
        for small, large in zip(runs, runs[1:]):
            ids = common_ids(large, small)
            if len(ids) < 2:
                continue
            for f in scale_findings(steps[large.name].rows, steps[small.name].rows, ids, **opt.boot):
                report.findings.append(finding_row(f, large, model=f"{small.model} → {large.model}"))
    if not table_rows:
        return
    report.tables.append(Table("scale", "The same statistics across model sizes (item 9)", table_rows,
                               "Base run of each model (canonical label order, default demo share); 95% bootstrap "
                               "intervals over examples."))
    by_models: dict[tuple, dict[str, list[dict]]] = {}  # a figure's lines must share their models
    for dataset, rows in rows_by_dataset.items():
        by_models.setdefault(tuple(r["model"] for r in rows), {})[dataset] = rows
    for i, panels in enumerate(by_models.values()):
        report.figures.append(Figure("figures/scale" + ("" if i == 0 else f"_{i + 1}"),
                                     "Section-4 statistics by model size (item 9)",
                                     lambda p, panels=panels: plot_scale(panels, p)))
