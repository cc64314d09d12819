"""``labeldist report``: one self-contained HTML page showing a run, or a comparison of runs.

Page layout (top to bottom): title and what made the page; warnings about the inputs (run
directories that cannot be read, different label sets); then one section per label set,
each with

1. the runs' provenance (model name, file hash, dtype; dataset, split, sampling; config;
   random streams; package versions; when it was made) and per-run warnings or notes
   (incomplete run, older record layout, another labeldist version);
2. Table 2 (NLL, L1, example-F1) with percentile bootstrap intervals from
   :func:`~labeldist.report.evaluate_runs`, the best value of each column marked (bold and
   CSS class ``best``), then every metric, the paired tests and per-label rows (collapsed);
3. reliability diagrams and per-label bars (the evaluation's matplotlib figures, rendered
   to PNG in memory and embedded as base64 data URIs);
4. the run summary (every :class:`~labeldist.records.RunSummary` field, generically, plus
   seconds per item and tokens per item by stage);
5. ``RUN_DIR/analysis/`` and ``RUN_DIR/calibration/`` when present: every PNG embedded,
   every ``*.md`` table rendered as HTML, ``calibration.json`` as a table;
6. the first ``n_examples`` items by id: text, gold, human distribution, the generated
   answer and each method's probabilities.

Standard library only (``html`` escaping); no script runs in the page, and its
Content-Security-Policy allows no network access, only inline images and styles.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

from labeldist.errors import LabeldistError
from labeldist.methods import order_methods
from labeldist.metrics import METRICS, TABLE2_METRICS
from labeldist.records import RunSummary
from labeldist.report.html_parts import (
    CSS,
    box,
    details,
    esc,
    figure_block,
    figure_png,
    fmt_value,
    markdown_to_html,
    read_png,
    table,
)
from labeldist.report.run_status import RunStatus, describe_label_set, group_by_label_set, inspect_run, this_version

N_EXAMPLES = 8
ANALYSIS_DIR = "analysis"
CALIBRATION_DIR = "calibration"


@dataclass
class Report:
    """A rendered report.

    Attributes
    ----------
    html : str
        The whole page.
    n_sections : int
        Label-set sections shown.
    n_images : int
        ``<img>`` elements (every one an embedded PNG).
    warnings : list of str
        Everything the page flags as wrong with the inputs (also shown on the page).
    unreadable : list of str
        Run directories that could not be shown, with the reason.
    """

    html: str
    n_sections: int
    n_images: int
    warnings: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)

    def write(self, path: str | Path) -> Path:
        path = _check_out(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(self.html, encoding="utf-8")
        except OSError as e:
            raise LabeldistError(f"cannot write the report to {path} ({e.strerror or e})",
                                 "pass a writable --out file") from None
        return path


def _check_out(path: str | Path) -> Path:
    path = Path(path)
    if path.is_dir():
        raise LabeldistError(f"--out {path} is a directory", "pass a file name, e.g. report.html")
    return path


# -- provenance -------------------------------------------------------------------------------------

def _get(d: dict, *keys, default=None):
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return default
        d = d[k]
    return d


def _provenance_rows(s: RunStatus) -> list[tuple[str, str]]:
    m = s.run.manifest
    run_cfg = _get(m.config, "run", default={}) or {}
    prompt_cfg = run_cfg.get("prompt") or {}
    data = _get(m.config, "data", default={}) or {}
    env = m.environment or {}
    versions = dict(env.get("versions") or {})
    model = m.model
    rows = [
        ("run directory", str(s.run_dir)),
        ("dataset", m.dataset or "—"),
        ("data", fmt_value({k: v for k, v in data.items() if k != "streams"}) if data else "—"),
        ("items", f"{len(s.run.records)} recorded of {m.n_examples} (ids sha256 {m.example_ids_sha256 or '—'})"),
        ("labels", describe_label_set(m.label_set)),
        ("model", f"{model.name} ({model.backend}, dtype {model.dtype or '—'})"),
        ("model file", f"{model.source}" + (f" (sha256 {model.sha256})" if model.sha256 else "")),
    ]
    extra = {k: v for k, v in (model.extra or {}).items() if k in ("n_parameters", "missing_candidates", "architecture")}
    if extra:
        rows.append(("model details", fmt_value(extra)))
    rows.append(("methods", ", ".join(m.methods) or "—"))
    if prompt_cfg:
        keys = ("shots", "demo_sampling", "label_format", "label_order", "chat", "max_new_tokens", "seed")
        shown = {k: prompt_cfg.get(k) for k in keys if k in prompt_cfg}
        if m.prompt.demo_sampling and not shown.get("demo_sampling"):
            shown["demo_sampling"] = f"{m.prompt.demo_sampling} (default)"
        rows.append(("prompt", fmt_value(shown)))
    other = {k: v for k, v in run_cfg.items() if k not in ("prompt", "model", "methods")}
    if other:
        rows.append(("run config", fmt_value(other)))
    rows.append(("demonstrations", f"{len(m.prompt.demos)}: {', '.join(m.prompt.demos[:10])}"
                 + (" …" if len(m.prompt.demos) > 10 else "") if m.prompt.demos else "none (zero-shot)"))
    rows.append(("random streams", fmt_value({k: list(v) for k, v in m.streams.items()}) if m.streams else "—"))
    rows.append(("made", f"{env.get('created', '—')} by labeldist {versions.pop('labeldist', '?')}, "
                         f"Python {env.get('python', '?')} on {env.get('platform', '?')}"))
    if versions:
        rows.append(("package versions", fmt_value(versions)))
    rows.append(("record layout", f"{m.version}; complete: {fmt_value(m.complete)}; resumed {m.resumed} times"))
    return rows


def _provenance(statuses: Sequence[RunStatus]) -> str:
    per_run = [dict(_provenance_rows(s)) for s in statuses]
    keys = list(dict.fromkeys(k for r in per_run for k in r))
    if len(statuses) == 1:
        body = table(["field", "value"], [[k, per_run[0].get(k, "—")] for k in keys], cls="kv")
    else:
        body = table(["field"] + [s.run_dir.name for s in statuses],
                     [[k] + [r.get(k, "—") for r in per_run] for k in keys], cls="kv")
    full = "".join(details(f"full manifest config of {s.run_dir}",
                           f"<pre>{esc(json.dumps(s.run.manifest.config, indent=1, sort_keys=True))}</pre>")
                   for s in statuses)
    return "<h3>Provenance</h3>" + body + full


# -- scores -----------------------------------------------------------------------------------------

def _best_values(result, dataset: str, metric: str) -> float | None:
    vals = [s.value for s in result.scores if s.dataset == dataset and s.metric == metric and not math.isnan(s.value)]
    if not vals:
        return None
    return max(vals) if METRICS[metric].greater_is_better else min(vals)


def scores_table(result, metrics: Sequence[str] = TABLE2_METRICS, *, datasets: Sequence[str] | None = None,
                 digits: int = 3) -> str:
    """Rows = methods, columns = datasets × metrics, cells ``value [low, high]``; best per column is
    ``<td class="num best"><strong>``; ``—`` where a metric was not scored."""
    infos = [d for d in result.datasets if datasets is None or d.name in datasets]
    cols = [(d.name, m) for d in infos for m in metrics if m in d.metrics]
    prefix = len(infos) > 1
    head = "".join(f"<th class=\"num\">{esc((ds + ' ') if prefix else '')}{esc(METRICS[m].header)} "
                   f"{esc(METRICS[m].arrow)}</th>" for ds, m in cols)
    best = {(ds, m): _best_values(result, ds, m) for ds, m in cols}
    lines = [f"<table class=\"scores\"><thead><tr><th>method</th>{head}</tr></thead><tbody>"]
    for row in result.methods:
        cells = []
        for ds, m in cols:
            s = result.score(ds, row, m)
            if s is None:
                cells.append("<td class=\"num\">—</td>")
                continue
            text = "n/a" if math.isnan(s.value) else f"{s.value:.{digits}f}"
            ci = "" if math.isnan(s.low) else f" <span class=\"ci\">[{s.low:.{digits}f}, {s.high:.{digits}f}]</span>"
            if best[ds, m] is not None and s.value == best[ds, m]:
                cells.append(f"<td class=\"num best\"><strong>{text}</strong>{ci}</td>")
            else:
                cells.append(f"<td class=\"num\">{text}{ci}</td>")
        lines.append(f"<tr><th>{esc(row)}</th>{''.join(cells)}</tr>")
    lines.append("</tbody></table>")
    return "\n".join(lines)


def _per_label_table(result, dataset: str) -> str:
    rows = [r for r in result.per_label if r["dataset"] == dataset]
    if not rows:
        return ""
    keys = [k for k in dict.fromkeys(k for r in rows for k in r) if k != "dataset"]
    return table(keys, [[fmt_value(r.get(k)) for k in keys] for r in rows], cls="per-label",
                 numeric=[k not in ("method", "label") for k in keys])


def _scores_section(result, title: str) -> tuple[str, int]:
    """Table 2, the collapsed detail tables, figures and notes of one evaluation; returns (html, n figures)."""
    from labeldist.report.plots import per_label_figure, reliability_figure
    from labeldist.report.tables import comparisons_markdown

    pct = round(100 * result.confidence)
    out = [f"<h3>{esc(title)}</h3>",
           f"<p class=\"meta\">Cells: estimate [{pct}% percentile bootstrap interval over examples; {result.n_boot} "
           f"resamples, seed {result.seed}]. ↓ lower is better, ↑ higher is better; the best value of each column "
           "is bold on green. NLL, L1 and Brier compare with the human (annotator) distribution; F1 is example-F1 "
           "at 0.5 against the aggregate gold. Baselines: each label's train base rate, and 0.5 per label "
           "(1/L single-label).</p>",
           scores_table(result)]
    for d in result.datasets:
        out.append(details(f"{d.name}: every metric ({d.n_examples} examples)",
                           scores_table(result, list(METRICS), datasets=[d.name])))
        out.append(details(f"{d.name}: paired bootstrap tests against the best method",
                           markdown_to_html(comparisons_markdown(result, d.name))))
        out.append(details(f"{d.name}: per-label rows", _per_label_table(result, d.name)))
    n_fig = 0
    for info, targets, rows in result.blocks:
        if targets.get("human") is None and targets.get("gold") is None:
            continue
        out.append(figure_block(figure_png(reliability_figure(info, targets, rows)),
                                f"{info.name}: reliability diagrams, one panel per method"))
        out.append(figure_block(figure_png(per_label_figure(info, targets, rows)),
                                f"{info.name}: per-label mean prediction against the human mean (top) and per-label "
                                "error (bottom)"))
        n_fig += 2
    if result.notes:
        out.append(box("note", "Evaluation notes", result.notes))
    return "\n".join(out), n_fig


# -- run summary --------------------------------------------------------------------------------------

SUMMARY_LABELS = {
    "n_examples": "examples",
    "n_new": "classified in the last session",
    "n_resumed": "already done when resumed",
    "seconds": "seconds (last session)",
    "fallbacks": "no-label fallback (uniform), examples per method",
    "unknown_outputs": "generated strings that are not labels",
    "malformed_answers": "answers not well-formed (JSON / comma grammar)",
    "examples_without_label_token": "examples without any label token",
    "bounded_share": "share of scores that are top-k bounds only",
    "binary_position_disagreement": "binary pairs whose two orders disagree",
}


def _summary_rows(s: RunStatus) -> dict[str, str]:
    summary: RunSummary | None = s.run.manifest.summary
    rows: dict[str, str] = {}
    if summary is None:
        rows["summary"] = "none recorded (the run has not finished a session)"
    else:
        d = summary.to_dict()
        for k, v in d.items():  # every field, known or not: a new summary field shows up here unchanged
            label = SUMMARY_LABELS.get(k, k.replace("_", " "))
            if k in ("bounded_share", "binary_position_disagreement") and isinstance(v, float):
                rows[label] = f"{100 * v:.2f}%"
            elif k == "fallbacks":
                rows[label] = fmt_value(v) if v else "none"
            else:
                rows[label] = fmt_value(v, 1 if k == "seconds" else 3)
        if summary.seconds and summary.n_new:
            rows["seconds per item"] = f"{summary.seconds / summary.n_new:.3f}"
    stages: dict[str, dict[str, int]] = {}
    for r in s.run.records:
        for stage, c in r.cost.items():
            acc = stages.setdefault(stage, {})
            for k, v in vars(c).items():
                acc[k] = acc.get(k, 0) + int(v)
    n = max(1, len(s.run.records))
    for stage, acc in stages.items():
        rows[f"{stage}: per item"] = ", ".join(f"{k.replace('_', ' ')} {v / n:.1f}" for k, v in acc.items() if v)
    return rows


def _summary(statuses: Sequence[RunStatus]) -> str:
    per_run = [_summary_rows(s) for s in statuses]
    keys = list(dict.fromkeys(k for r in per_run for k in r))
    head = ["summary"] + ([s.run_dir.name for s in statuses] if len(statuses) > 1 else ["value"])
    return "<h3>Run summary</h3>" + table(head, [[k] + [r.get(k, "—") for r in per_run] for k in keys], cls="kv")


# -- analysis/ and calibration/ outputs ----------------------------------------------------------------

def _files_section(directory: Path, title: str) -> tuple[str, int, list[str]]:
    """Every PNG (embedded) and every ``*.md`` (rendered) under ``directory``; returns (html, n images, problems)."""
    out = [f"<h4>{esc(title)}</h4>"]
    n_img, problems = 0, []
    files = sorted(p for p in directory.rglob("*") if p.is_file())
    for p in files:
        rel = p.relative_to(directory).as_posix()
        if p.suffix.lower() == ".md":
            out.append(f"<div class=\"md-file\"><p class=\"meta\">{esc(rel)}</p>"
                       f"{markdown_to_html(p.read_text(encoding='utf-8', errors='replace'))}</div>")
    for p in files:
        rel = p.relative_to(directory).as_posix()
        if p.suffix.lower() == ".png":
            png = read_png(p)
            if png is None:
                problems.append(f"{p} is named .png but is not a PNG image; left out")
                continue
            out.append(figure_block(png, rel))
            n_img += 1
    if len(out) == 1:
        out.append("<p class=\"meta\">no PNG or Markdown files here</p>")
    return "\n".join(out), n_img, problems


def _calibration_json(path: Path, status: RunStatus) -> tuple[str, list[str]]:
    """``calibration.json`` as a table of methods (calibrator, rule, fitted on, CV NLL), checked against the run."""
    from labeldist.calibration.storage import load_calibration

    problems = []
    try:
        load_calibration(path, label_set=status.run.label_set)
    except LabeldistError as e:
        problems.append(str(e))
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        methods = dict(doc.get("methods") or {})
    except (OSError, ValueError, TypeError, AttributeError) as e:
        return "", problems or [f"{path} cannot be read ({type(e).__name__}: {e})"]
    rows = []
    for name, entry in methods.items():
        entry = entry if isinstance(entry, dict) else {}
        cv = entry.get("cv_nll") or {}
        chosen = entry.get("name")
        cv_text = ", ".join(f"{'**' if k == chosen else ''}{k} {fmt_value(v, 4)}{'**' if k == chosen else ''}"
                            for k, v in cv.items())
        rows.append([esc(name), esc(chosen or "—"), esc(fmt_value(entry.get("fitted_on") or {})),
                     re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", esc(cv_text or "—")), esc(entry.get("rule", "—"))])
    html_ = table(["method", "calibrator", "fitted on", "cross-validated NLL", "rule"], rows, escape=False,
                  caption=path.name)
    return html_, problems


def _extras(statuses: Sequence[RunStatus]) -> tuple[str, int, list[str]]:
    out, n_img, problems = [], 0, []
    for s in statuses:
        for sub, title in ((ANALYSIS_DIR, "Analyses"), (CALIBRATION_DIR, "Calibration")):
            d = s.run_dir / sub
            if not d.is_dir():
                continue
            if sub == CALIBRATION_DIR and (d / "calibration.json").is_file():
                h, p = _calibration_json(d / "calibration.json", s)
                out.append(f"<h4>{esc(title)}: calibration.json of {esc(s.run_dir.name)}</h4>" + h)
                problems += p
            h, n, p = _files_section(d, f"{title}: {s.run_dir.name}/{sub}/")
            out.append(h)
            n_img += n
            problems += p
    if not out:
        return "", 0, problems
    return "<h3>Analyses and calibration</h3>" + "\n".join(out), n_img, problems


# -- example items -----------------------------------------------------------------------------------

def natural_key(s: str) -> list:
    """``ex2`` before ``ex10``: digit runs compare as numbers."""
    return [(0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", s) if t]


def _shade(p: float | None) -> str:
    if p is None or math.isnan(p):
        return ""
    return f" style=\"background-color: rgba(9, 105, 218, {0.05 + 0.5 * min(1.0, max(0.0, p)):.2f})\""


def _prob_row(name: str, probs, extra: str = "") -> str:
    cells = "".join(f"<td class=\"num\"{_shade(float(p))}>{float(p):.3f}</td>" for p in probs)
    return f"<tr><th>{esc(name)}{extra}</th>{cells}</tr>"


def _examples(statuses: Sequence[RunStatus], n: int) -> str:
    first = statuses[0].run
    ids = sorted((r.id for r in first.records), key=natural_key)[:n]
    by_run = [{r.id: r for r in s.run.records} for s in statuses]
    labels = first.label_set.labels
    multi = len(statuses) > 1
    out = [f"<h3>Example items</h3><p class=\"meta\">The first {len(ids)} of {len(first.records)} items by id; "
           "cells are per-label probabilities (shaded by value).</p>"]
    for i in ids:
        rec = by_run[0][i]
        text = rec.text if len(rec.text) <= 600 else rec.text[:597] + "…"
        gold = "—" if rec.gold is None else (", ".join(rec.gold) or "none")
        rows = []
        if rec.human is not None and rec.human.is_distribution:
            who = f" ({rec.human.n_annotators} annotators)" if rec.human.n_annotators else ""
            rows.append(_prob_row("human q", rec.human.probs, esc(who)))
        answers = []
        for s, recs in zip(statuses, by_run):
            r = recs.get(i)
            if r is None:
                continue
            tag = f" · {s.run_dir.name}" if multi else ""
            if r.generation is not None:
                parsed = ", ".join(r.generation.parsed) or "none"
                unk = f"; not labels: {', '.join(r.generation.unknown)}" if r.generation.unknown else ""
                answers.append(f"<li>{esc(s.run_dir.name) + ': ' if multi else ''}<code>{esc(r.generation.text)}"
                               f"</code> → {esc(parsed)}{esc(unk)}</li>")
            for m in order_methods(r.methods):
                p = r.methods[m]
                fb = r.method_diagnostics.get(m)
                mark = " <span class=\"ci\">(fallback)</span>" if fb is not None and fb.fallback else ""
                rows.append(_prob_row(m + tag, p, mark))
        head = "".join(f"<th class=\"num\">{esc(l)}</th>" for l in labels)
        out.append(
            f"<div class=\"example\"><p><strong>{esc(i)}</strong> <span class=\"meta\">split {esc(rec.split or '—')}"
            f"; gold: {esc(gold)}</span></p><p class=\"text\">{esc(text)}</p>"
            + (f"<p>generated answer:</p><ul>{''.join(answers)}</ul>" if answers else "")
            + f"<table class=\"probs\"><thead><tr><th></th>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
            + "</div>")
    return "\n".join(out)


def _digest(statuses: Sequence[RunStatus]) -> str:
    """One line per run: model, dtype, items, methods, when (the full provenance follows the scores)."""
    items = []
    for s in statuses:
        m = s.run.manifest
        items.append(f"<li><strong>{esc(s.run_dir.name)}</strong>: {esc(m.model.name)} ({esc(m.model.dtype or '—')}), "
                     f"{len(s.run.records)} items of {esc(m.dataset or '—')}, methods "
                     f"{esc(', '.join(m.methods) or '—')}; made {esc(m.environment.get('created', '—'))}</li>")
    return f"<ul class=\"digest\">{''.join(items)}</ul>"


def _overview(overview: Sequence[tuple[int, object]], n_sections: int) -> str:
    """Several sections: one row per dataset with the best row of each Table-2 metric, linking to its section."""
    rows = []
    for k, result in overview:
        for d in result.datasets:
            cells = [f"<a href=\"#section-{k}\">{esc(d.name)}</a>", esc("multi" if d.multilabel else "single"),
                     str(d.n_examples), esc(", ".join(d.models))]
            for m in TABLE2_METRICS:
                best = _best_values(result, d.name, m)
                if best is None:
                    cells.append("—")
                    continue
                names = [s.method for s in result.scores if s.dataset == d.name and s.metric == m and s.value == best]
                cells.append(f"{esc(', '.join(names))} <span class=\"ci\">{best:.3f}</span>")
            rows.append(cells)
    head = ["dataset", "labels", "items", "models"] + [f"best {METRICS[m].header} {METRICS[m].arrow}"
                                                       for m in TABLE2_METRICS]
    intro = (f"<p class=\"meta\">The runs use {n_sections} label sets: each is its own section below, scored "
             "separately. Best row per metric (baselines included), with its value.</p>")
    return "<h2>Overview</h2>" + intro + table(head, rows, escape=False, cls="overview",
                                       numeric=[False, False, True, False, False, False, False])


# -- the page -----------------------------------------------------------------------------------------

def _section(k: int, statuses: list[RunStatus], *, n_boot: int, seed: int, n_examples: int,
             calibrate: str | None) -> tuple[str, int, list[str], list]:
    """One label-set section; returns (html, n images, warnings shown in it, its evaluation results)."""
    from labeldist.report import evaluate_runs

    ls = statuses[0].run.label_set
    datasets = ", ".join(dict.fromkeys(s.run.dataset_name for s in statuses))
    out = [f"<section id=\"section-{k}\"><h2>{esc(datasets)}: {esc(describe_label_set(ls))}</h2>",
           f"<p class=\"meta\">{len(statuses)} run{'s' if len(statuses) > 1 else ''}: "
           f"{esc(', '.join(str(s.run_dir) for s in statuses))}</p>"]
    warnings = [w for s in statuses for w in s.warnings]
    if warnings:
        out.append(box("warning", "Check these runs", warnings))
    notes = [n for s in statuses for n in s.notes]
    if notes:
        out.append(box("note", "Notes on the inputs", notes))
    out.append(_digest(statuses))
    n_img = 0
    try:
        evaluations = [("Distribution alignment (Table 2)",
                        evaluate_runs([s.run_dir for s in statuses], seed=seed, n_boot=n_boot, calibrate=calibrate))]
    except LabeldistError as e:
        if len(statuses) == 1:
            msg = f"run {statuses[0].run_dir} cannot be scored: {e}"
            out.append(box("error", "No scores", [msg]))
            warnings.append(msg)
            evaluations = []
        else:
            msg = f"these runs cannot be scored together: {e}. Each is scored on its own below"
            out.append(box("warning", "Not compared", [msg]))
            warnings.append(msg)
            evaluations = []
            for s in statuses:
                try:
                    evaluations.append((f"Distribution alignment: {s.run_dir}",
                                        evaluate_runs([s.run_dir], seed=seed, n_boot=n_boot, calibrate=calibrate)))
                except LabeldistError as e1:
                    m1 = f"run {s.run_dir} cannot be scored: {e1}"
                    out.append(box("error", "No scores", [m1]))
                    warnings.append(m1)
    for title, result in evaluations:
        h, n = _scores_section(result, title)
        out.append(h)
        n_img += n
    out.append(_provenance(statuses))
    out.append(_summary(statuses))
    h, n, problems = _extras(statuses)
    if problems:
        out.append(box("warning", "Analysis and calibration outputs", problems))
        warnings += problems
    out.append(h)
    n_img += n
    if n_examples:
        out.append(_examples(statuses, n_examples))
    out.append("</section>")
    return "\n".join(out), n_img, warnings, [r for _, r in evaluations]


def build_report(run_dirs: Sequence[str | Path], *, n_boot: int = 1000, seed: int = 0, n_examples: int = N_EXAMPLES,
                 calibrate: str | None = None, title: str | None = None) -> Report:
    """Render the report of ``run_dirs`` (see the module docstring for what the page holds).

    Parameters
    ----------
    run_dirs : sequence of path
        Run directories written by ``labeldist run``.
    n_boot, seed : int
        Bootstrap resamples and seed of the intervals (:func:`~labeldist.report.evaluate_runs`).
    n_examples : int, default=8
        Example items shown per section (the first by id).
    calibrate : str, optional
        Passed to :func:`~labeldist.report.evaluate_runs` (adds Platt-scaled rows fitted on that split).
    title : str, optional

    Returns
    -------
    Report

    Raises
    ------
    LabeldistError
        When nothing can be shown: no directory given, or none of them can be read.
    """
    if not run_dirs:
        raise LabeldistError("no run directories given", "pass at least one directory written by `labeldist run`")
    if n_examples < 0:
        raise LabeldistError(f"--examples must be >= 0, got {n_examples}", "pass 0 to leave the examples out")
    if n_boot < 1:
        raise LabeldistError(f"--n-boot must be >= 1, got {n_boot}", "pass e.g. --n-boot 1000")
    paths = [Path(d) for d in run_dirs]
    if len({p.resolve() for p in paths}) != len(paths):
        raise LabeldistError("the same run directory was given twice", "pass each run once")
    statuses = [inspect_run(p) for p in paths]
    bad = [s for s in statuses if not s.ok]
    if len(bad) == len(statuses):
        if len(bad) == 1:
            raise LabeldistError(bad[0].error)
        raise LabeldistError(f"none of the {len(bad)} run directories can be read (first: {bad[0].error})",
                             "pass directories written by `labeldist run`")
    groups, label_msgs = group_by_label_set(statuses)
    top_warnings = [f"{s.run_dir} cannot be shown: {s.error}" for s in bad] + label_msgs
    sections, n_img, all_warnings, overview = [], 0, list(top_warnings), []
    for k, g in enumerate(groups, 1):
        h, n, w, results = _section(k, g, n_boot=n_boot, seed=seed, n_examples=n_examples, calibrate=calibrate)
        sections.append(h)
        n_img += n
        all_warnings += w
        overview += [(k, r) for r in results]
    names = list(dict.fromkeys(s.run.dataset_name for g in groups for s in g))
    title = title or f"labeldist report: {', '.join(names)}"
    created = datetime.now(timezone.utc).isoformat(timespec="seconds")
    head = [
        "<!DOCTYPE html>", "<html lang=\"en\"><head><meta charset=\"utf-8\">",
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; "
        "style-src 'unsafe-inline'\">",
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
        f"<meta name=\"generator\" content=\"labeldist {esc(this_version())}\">",
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>",
        f"<header><h1>{esc(title)}</h1><p class=\"meta\">Made {esc(created)} by labeldist {esc(this_version())} "
        f"from {len(statuses)} run director{'ies' if len(statuses) != 1 else 'y'}; intervals from {n_boot} bootstrap "
        f"resamples, seed {seed}.</p></header>",
    ]
    if top_warnings:
        head.append(box("warning", "Inputs", top_warnings))
    if len(groups) > 1:
        head.append(_overview(overview, len(groups)))
    page = "\n".join(head + sections + ["</body></html>", ""])
    return Report(page, len(groups), page.count("<img "), all_warnings, [f"{s.run_dir}: {s.error}" for s in bad])


def write_report(run_dirs: Sequence[str | Path], out: str | Path, **options) -> Report:
    """:func:`build_report` and write the page to ``out`` (checked before the work starts)."""
    _check_out(out)
    report = build_report(run_dirs, **options)
    report.write(out)
    return report
