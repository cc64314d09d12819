"""``labeldist analyze``: every Section-4 analysis of a set of run directories, as tables, figures and findings.

What is computed from which runs (:mod:`labeldist.analyses.runs` groups them by *context*: dataset,
label set, model, decoding and number of demos):

* every run: per-step confidence (Table 4, Figs 2, 3, 10; one row each in ``confidence``), the
  multi-label output rate (``multilabel_rate``);
* the *base run* of each context (canonical label order, the default demo share, most examples):
  per-step tables and violin plots, spikiness (Fig 4), accuracy by generation order (Fig 5) and the
  paper's findings (:func:`~labeldist.analyses.findings.evaluate_findings`);
* runs of one context on the same examples with several multi-label demo shares: Fig 6 and the
  ``multilabel_rate_rises`` finding;
* runs of one context on the same examples with several label orders: Table 7 (agreement with the
  prompt's, the label set's and the alphabetical order; example-F1 and alignment, each with its
  paired difference to the canonical order);
* runs with stored attention (``labeldist run --attention``): Table 6 and two attention findings;
* runs whose records hold probe features: Fig 7 (:mod:`labeldist.analyses.probes`);
* base runs of one dataset from several models: the scale table and figure
  (:mod:`labeldist.analyses.scale`) and two scale findings.

Every interval is a percentile cluster bootstrap over examples with one seed
(:mod:`labeldist.analyses.intervals`); paired differences resample the shared examples.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from labeldist.analyses import plots
from labeldist.analyses.findings import PAPER_FINDINGS, evaluate_findings, finding
from labeldist.analyses.intervals import (
    GroupedSample,
    concordance_sample,
    in_order_sample,
    joint_interval,
    multilabel_rate_sample,
    order_accuracy_sample,
    sample_interval,
    step_sample,
)
from labeldist.analyses.more_findings import attention_findings, attention_samples, probe_finding
from labeldist.analyses.output import (
    AnalysisOptions,
    AnalysisReport,
    Figure,
    Table,
    finding_row,
    percent,
    safe_name,
    series_label,
)
from labeldist.analyses.order import instruction_order_agreement, is_multilabel_output, order_accuracy
from labeldist.analyses.probes import probe_analysis
from labeldist.analyses.scale import scale_section
from labeldist.analyses.runs import (
    AnalysisRun,
    base_run,
    by_context,
    common_ids,
    label_order_groups,
    probe_inputs,
    sweeps,
)
from labeldist.analyses.spikiness import first_step_spikiness
from labeldist.analyses.steps import StepAnalysis, analyze_steps
from labeldist.analyses.tables import step_summary_rows
from labeldist.errors import LabeldistError
from labeldist.methods import order_methods
from labeldist.metrics import example_f1_score, l1_error, nll_loss
from labeldist.records.attention import ATTENTION_REGIONS


# ---------------------------------------------------------------- per-step confidence (Table 4, Figs 2, 3, 10)

def _confidence_row(run: AnalysisRun, a: StepAnalysis, opt: AnalysisOptions) -> dict:
    rows, s = a.rows, a.summary
    iv = lambda sample: sample_interval(sample, **opt.boot)  # noqa: E731
    last, inter = s.group(True), s.group(False)
    return {"run": run.name, "examples": a.n_examples, "label steps": len(rows), "without steps": a.n_without_steps,
            "cut at none": a.n_stopped_at_none if opt.remove_none else "—",
            "top-1 @ step 1": iv(step_sample(rows, "top_prob", step=1)),
            "top-1 last": iv(step_sample(rows, "top_prob", is_last=True)),
            "top-1 intermediate": iv(step_sample(rows, "top_prob", is_last=False)),
            "entropy last (bits)": last.mean_entropy_bits if last else None,
            "entropy intermediate (bits)": inter.mean_entropy_bits if inter else None,
            "2nd-ranked is next": iv(step_sample(rows, "is_next_pred_correct", is_last=False)),
            "never predicted": iv(step_sample(rows, "never_predicted", is_last=False))}


def _step_figures(run: AnalysisRun, a: StepAnalysis, opt: AnalysisOptions) -> list[Figure]:
    rows = [r for r in a.rows if r.step <= opt.max_step]
    if not rows:
        return []
    rate = a.summary.second_next_rate
    tail = "" if math.isnan(rate) else f"; 2nd-ranked next: {100 * rate:.0f}%"
    specs = [("top1", "top_prob", "top-1 probability, last vs intermediate (Fig 2)"),
             ("second", "second_prob", "second-highest probability (Fig 3)" + tail),
             ("entropy", "entropy_bits", "entropy in bits (Fig 10)")]
    out = []
    for suffix, value, what in specs:
        title = f"{run.name} ({run.model})\n{what}"
        out.append(Figure(f"figures/steps/{run.file_name}_{suffix}", title,
                          lambda p, v=value, t=title: plots.plot_step_distributions(rows, p, value=v,
                                                                                    max_step=opt.max_step, title=t)))
    return out


# ---------------------------------------------------------------- generation order (Fig 5), multi-label rate (Fig 6)

def _order_accuracy(runs: Sequence[AnalysisRun], opt: AnalysisOptions, notes: list[str]):
    rows, series = [], {}
    for run in runs:
        if not run.label_set.multilabel:
            continue
        try:
            res = order_accuracy(run.traces, max_rank=opt.max_rank, min_count=opt.min_count)
        except LabeldistError as e:
            notes.append(f"order accuracy skipped for {run.name}: {e}")
            continue
        ivs = {r: sample_interval(order_accuracy_sample(res, r), **opt.boot) for r in res.accuracy}
        order = "" if run.label_order_kind == "canonical" else f" · {run.label_order_kind} order"
        series[series_label(run, runs) + order] = ivs
        for r in range(1, res.max_rank + 1):
            rows.append({"run": run.name, "rank": r, "examples": res.counts[r],
                         "share of r-th labels in gold": ivs.get(r) or sample_interval(order_accuracy_sample(res, r),
                                                                                       **opt.boot),
                         "kept": r in res.accuracy})
    return rows, {k: v for k, v in series.items() if v}


def _multilabel_rates(runs: Sequence[AnalysisRun], opt: AnalysisOptions) -> list[dict]:
    out = []
    for run in runs:
        if not run.label_set.multilabel:
            continue
        pred = np.mean([is_multilabel_output(t, "predicted") for t in run.traces])
        out.append({"run": run.name, "multi-label demo share": run.demo_ratio,
                    "multi-label outputs (reference rule)": sample_interval(multilabel_rate_sample(run.traces),
                                                                            **opt.boot),
                    "two or more parsed labels": float(pred), "examples": len(run.traces)})
    return out


# ---------------------------------------------------------------- label order (Table 7)

def _f1_sample(run: AnalysisRun, ids: Sequence[str]) -> GroupedSample:
    """Example-F1 of the parsed answer against gold, one row per example of ``ids`` with gold."""
    ls = run.label_set
    by_id = {t.id: t for t in run.traces}
    keep = [i for i in ids if by_id[i].gold is not None]
    if not keep:
        return GroupedSample.mean([], [])
    gold = np.array([ls.multi_hot(by_id[i].gold) for i in keep], dtype=np.float64)
    pred = np.array([ls.multi_hot(by_id[i].predicted) for i in keep], dtype=np.float64)
    return GroupedSample.mean(keep, example_f1_score(gold, pred, multilabel=ls.multilabel, reduce="none"))


def _alignment_samples(run: AnalysisRun, ids: Sequence[str]) -> dict[str, dict[str, GroupedSample]]:
    """{method: {"L1": sample, "NLL": sample}} against the human distributions, examples ``ids`` that have one."""
    recs = {r.id: r for r in run.records}
    keep = [i for i in ids if recs[i].human is not None and recs[i].human.is_distribution]
    if not keep:
        return {}
    q = np.array([recs[i].human.probs for i in keep], dtype=np.float64)
    out = {}
    for m in order_methods(dict.fromkeys(m for i in keep for m in recs[i].methods)):
        if not all(m in recs[i].methods for i in keep):
            continue
        p = np.array([recs[i].methods[m] for i in keep], dtype=np.float64)
        ml = run.label_set.multilabel
        out[m] = {"L1": GroupedSample.mean(keep, l1_error(q, p, multilabel=ml, reduce="none")),
                  "NLL": GroupedSample.mean(keep, nll_loss(q, p, multilabel=ml, reduce="none"))}
    return out


def _label_order(group: Sequence[AnalysisRun], opt: AnalysisOptions) -> tuple[list[dict], list[dict]]:
    base = group[0] if group[0].label_order_kind == "canonical" else None
    ids = common_ids(*group)
    diff = lambda r: r[0] - r[1]  # noqa: E731
    rows, align = [], []
    base_f1 = _f1_sample(base, ids) if base is not None else None
    base_align = _alignment_samples(base, ids) if base is not None else {}
    for run in group:
        prompt = instruction_order_agreement(run.traces, run.label_order)
        alpha = instruction_order_agreement(run.traces, sorted(run.label_set.labels))
        canon = instruction_order_agreement(run.traces, run.label_set.labels)
        f1 = _f1_sample(run, ids)
        rows.append({
            "run": run.name, "label order": run.label_order_kind, "prompt order": ", ".join(run.label_order),
            "outputs with >= 2 labels": prompt.n_examples,
            "in prompt order (%)": percent(sample_interval(in_order_sample(prompt), **opt.boot)),
            "in alphabetical order (%)": percent(sample_interval(in_order_sample(alpha), **opt.boot)),
            "in label-set order (%)": percent(sample_interval(in_order_sample(canon), **opt.boot)),
            "chance (%)": 100 * prompt.chance_share,
            "pair concordance with prompt order": sample_interval(concordance_sample(prompt), **opt.boot),
            "example-F1": sample_interval(f1, **opt.boot),
            "ΔF1 vs canonical": (joint_interval([f1, base_f1], diff, **opt.boot)
                                 if base is not None and run is not base else None),
        })
        for m, samples in _alignment_samples(run, ids).items():
            row = {"run": run.name, "label order": run.label_order_kind, "method": m}
            for metric, s in samples.items():
                row[metric] = sample_interval(s, **opt.boot)
                other = base_align.get(m, {}).get(metric)
                row[f"Δ{metric} vs canonical"] = (joint_interval([s, other], diff, **opt.boot)
                                                  if other is not None and run is not base else None)
            align.append(row)
    return rows, align


# ---------------------------------------------------------------- attention (Table 6)

def _attention_row(run: AnalysisRun, opt: AnalysisOptions) -> dict:
    shares = run.attention
    row = {"run": run.name, "examples": len({i for i, _ in shares}), "later label steps": len(shares)}
    for region in ATTENTION_REGIONS:
        row[f"mass % {region}"] = percent(sample_interval(attention_samples(shares, "mass", region), **opt.boot))
    for region in ATTENTION_REGIONS:
        row[f"per token % {region}"] = percent(sample_interval(attention_samples(shares, "per_token", region), **opt.boot))
    return row


# ---------------------------------------------------------------- the whole analysis

def analyze_runs(runs: Sequence[AnalysisRun], options: AnalysisOptions = AnalysisOptions()) -> AnalysisReport:
    """Every analysis the runs allow (module docstring); figures are drawn by the writer."""
    opt = options
    report = AnalysisReport(list(runs), opt)
    notes = report.notes
    steps = {r.name: analyze_steps(r.traces, remove_none=opt.remove_none) for r in runs}
    contexts = by_context(runs)
    bases = [base_run(rs) for rs in contexts.values()]

    report.tables.append(Table("runs", "Runs analysed", [r.describe() for r in runs]))
    report.tables.append(Table(
        "confidence", "Per-step confidence of the generated labels (Table 4, Figs 2, 3, 10)",
        [_confidence_row(r, steps[r.name], opt) for r in runs],
        "Steps are label slots (1-based). top-1 = mean top-1 probability over the L′ candidates (none included); "
        "last = the example's final label step; '2nd-ranked is next' = share of intermediate steps whose "
        "second-ranked candidate is the next step's argmax; 'never predicted' = share, among the others, whose "
        "second-ranked candidate is not among the parsed labels (none counts as never predicted)"
        + ("; remove-none: each example stops at its first step whose argmax is none." if opt.remove_none else ".")))
    for run in bases:
        a = steps[run.name]
        if a.rows:
            report.tables.append(Table(f"steps_{run.file_name}", f"{run.name}: per-step confidence",
                                       step_summary_rows(a.summary), inline=False))
        report.figures += _step_figures(run, a, opt)

    # spikiness (Fig 4): one figure per dataset, a series per model
    by_dataset: dict[str, list[AnalysisRun]] = {}
    for run in bases:
        by_dataset.setdefault(run.dataset, []).append(run)
    spike_rows = []
    for dataset, rs in by_dataset.items():
        series = {}
        for run in rs:
            sp = first_step_spikiness(run.traces, filter=opt.spikiness_filter)
            mean = sp.mean_by_rank()
            spike_rows.append({"run": run.name, "kept": len(sp.example_ids), "examples": sp.n_examples,
                               **{f"mean p(k={k + 1})": float(mean[k]) for k in range(min(3, mean.size))},
                               "filter": sp.description})
            if sp.sorted_probs.shape[0]:
                series[run.model if sum(r.model == run.model for r in rs) == 1 else run.name] = sp
        if series:
            name = f"figures/spikiness_{safe_name(dataset)}"
            report.figures.append(Figure(name, f"{dataset}: sorted first-step label probabilities (Fig 4)",
                                         lambda p, s=series, d=dataset: plots.plot_spikiness(
                                             s, p, seed=opt.seed, title=f"{d}: sorted first-step probabilities")))
    if spike_rows:
        report.tables.append(Table("spikiness", "Sorted first-step probabilities, none removed (Fig 4)", spike_rows))

    order_groups = [g for rs in contexts.values() for g in label_order_groups(rs)]
    variants = [r for g in order_groups for r in g if r.label_order_kind != "canonical"]
    acc_rows, acc_series = _order_accuracy(bases + variants, opt, notes)
    if acc_rows:
        report.tables.append(Table(
            "order_accuracy", "Accuracy by generation order (Fig 5)", acc_rows,
            f"Examples with >= 2 parsed labels; the order is the generation order of the parsed labels (from the "
            f"generated ids, not a substring search). Ranks with fewer than {opt.min_count} examples are not kept "
            f"(the reference's count > 10). Base runs, and the runs of another label order on the same items."))
    if acc_series:
        report.figures.append(Figure("figures/order_accuracy", "Accuracy of the r-th generated label (Fig 5)",
                                     lambda p: plots.plot_order_accuracy(acc_series, p)))

    rate_rows = _multilabel_rates(runs, opt)
    if rate_rows:
        report.tables.append(Table(
            "multilabel_rate", "Multi-label output rate (Fig 6)", rate_rows,
            "Reference rule: max(label steps, parsed labels) > 1. The demo share is the share of multi-label demos "
            "the run asked for (multilabel demo sampling)."))
    sweep_series, sweep_of = {}, {}
    for key, rs in contexts.items():
        found = sweeps(rs)
        if found:
            best = max(found, key=len)
            sweep_of[key] = best
            sweep_series[series_label(rs[0], bases)] = {x: sample_interval(multilabel_rate_sample(r.traces), **opt.boot)
                                                        for x, r in best.items()}
    if sweep_series:
        report.figures.append(Figure("figures/multilabel_rate", "Multi-label outputs vs multi-label demos (Fig 6)",
                                     lambda p: plots.plot_multilabel_rate(sweep_series, p)))

    order_rows, align_rows = [], []
    for group in order_groups:
        o, a = _label_order(group, opt)
        order_rows += o
        align_rows += a
    if order_rows:
        report.tables.append(Table(
            "label_order", "Label order of the generated labels (Table 7)", order_rows,
            "Over outputs with >= 2 parsed labels: the share whose labels appear in the prompt's order (the "
            "instruction's list and every demo answer), in alphabetical order, in label-set order; chance = mean "
            "1/k!. Example-F1 of the parsed answer over all examples; Δ = this order minus canonical on the same "
            "examples (paired bootstrap)."))
    if align_rows:
        report.tables.append(Table("label_order_alignment", "Label order: alignment with the human distributions "
                                   "(Table 7)", align_rows, "Per method; Δ = this order minus canonical, paired."))

    att_rows = [_attention_row(r, opt) for r in runs if r.attention]
    if att_rows:
        report.tables.append(Table(
            "attention", "Attention of later label steps to the input, generated tokens and labels (Table 6, %)",
            att_rows,
            "For each label step after the first, the attention row of the query that predicts its first token: mass "
            "= mean over layers of mean over heads of the summed weights on the region; per token = mass / keys in the "
            "region (the reference's normalisation, which favours short regions). input = the prompt; generated = "
            "every earlier generated token; labels = the earlier label tokens themselves; labels_reference = the "
            "reference's key set, one token earlier and including the query itself (an off-by-one we fix)."))

    probe_rows = []
    for run in runs:
        inputs = probe_inputs(run)
        if inputs is not None:
            res = probe_analysis(inputs.X, inputs.gold, inputs.predicted, inputs.first, ids=inputs.ids, seed=opt.seed,
                                 n_boot=opt.n_boot, confidence=opt.confidence)
            probe_rows.append((run, res))
    if probe_rows:
        report.tables.append(Table("probes", "Linear probes on the first label step (Fig 7, micro-F1)",
                                   [res.row(run=run.name) for run, res in probe_rows],
                                   "Cross-fitted (2 folds); Pred 2+ drops the first generated label from both sides."))
    else:
        notes.append("Probes (Fig 7): no run holds probe features (RUN_DIR/features/, written by runs with "
                     "--methods probe), so the probe analysis was skipped")

    # findings: per context, on its base run; variants and extras attached to the same context
    for key, rs in contexts.items():
        base = base_run(rs)
        by_ratio = {x: r.traces for x, r in sweep_of[key].items()} if key in sweep_of else None
        found = evaluate_findings(base.traces, instruction_order=base.label_order, traces_by_ratio=by_ratio,
                                  remove_none=opt.remove_none, **opt.boot)
        report.findings += [finding_row(f, base) for f in found]
        for run in rs:
            if run.label_order_kind != "canonical" and run is not base:
                agreement = instruction_order_agreement(run.traces, run.label_order)
                f = finding("follows_instruction_order", PAPER_FINDINGS["follows_instruction_order"],
                            sample_interval(concordance_sample(agreement), **opt.boot))
                report.findings.append(finding_row(f, run))
            if run.attention:
                report.findings += [finding_row(f, run) for f in attention_findings(run.attention, **opt.boot)]
        for run, res in probe_rows:
            if run in rs:
                report.findings.append(finding_row(probe_finding(res), run))

    scale_section(report, bases, steps, sweep_of)
    return report

