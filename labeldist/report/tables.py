"""Markdown, CSV and JSON renderings of an :class:`~labeldist.report.result.EvaluationResult`."""

from __future__ import annotations

import csv
import json
import math
from dataclasses import asdict
from pathlib import Path
from typing import Sequence

from labeldist.metrics import METRICS, TABLE2_METRICS, TOKEN_LEVEL_METRICS


def _best(values: list[float], greater: bool) -> float | None:
    ok = [v for v in values if not math.isnan(v)]
    if not ok:
        return None
    return max(ok) if greater else min(ok)


def markdown_table(result, metrics: Sequence[str] = TABLE2_METRICS, *, datasets: Sequence[str] | None = None,
                   digits: int = 3) -> str:
    """Rows = methods, columns = datasets × metrics; best value per column in bold; ``—`` = not scored.

    Column headers are ``"<dataset> <metric> <arrow>"``, or just the metric when ``datasets`` is given.
    """
    infos = [d for d in result.datasets if datasets is None or d.name in datasets]
    cols = [(d.name, m) for d in infos for m in metrics]
    prefix = datasets is None  # column names carry the dataset unless one was picked
    head = ["Method"] + [f"{ds + ' ' if prefix else ''}{METRICS[m].header} {METRICS[m].arrow}" for ds, m in cols]
    rows_used = [m for m in result.methods if any(result.score(ds, m, k) is not None for ds, k in cols)]
    best = {}
    for ds, m in cols:
        vals = [s.value for s in (result.score(ds, r, m) for r in rows_used) if s is not None]
        best[ds, m] = _best(vals, METRICS[m].greater_is_better)
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * len(cols)) + "|"]
    for r in rows_used:
        cells = [r]
        for ds, m in cols:
            s = result.score(ds, r, m)
            if s is None:
                cells.append("—")
                continue
            text = s.format(digits)
            cells.append(f"**{text}**" if best[ds, m] is not None and s.value == best[ds, m] else text)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def comparisons_markdown(result, dataset: str, metrics: Sequence[str] = TABLE2_METRICS, digits: int = 3) -> str:
    """Each method against the best method of each metric (paired bootstrap)."""
    lines = ["| Metric | Best | Other | Other − best [CI] | p |", "|---|---|---|---:|---:|"]
    for m in metrics:
        scores = [s for s in result.scores if s.dataset == dataset and s.metric == m and not math.isnan(s.value)]
        if not scores:
            continue
        spec = METRICS[m]
        best = (max if spec.greater_is_better else min)(scores, key=lambda s: s.value)
        for s in scores:
            if s.method == best.method:
                continue
            c = result.comparison(dataset, m, s.method, best.method)
            if c is None:
                continue
            ci = "n/a" if math.isnan(c.low) else f"[{c.low:.{digits}f}, {c.high:.{digits}f}]"
            lines.append(f"| {spec.header} {spec.arrow} | {best.method} | {s.method} | "
                         f"{c.mean_diff:+.{digits}f} {ci} | {c.p_value:.3f} |")
    return "\n".join(lines)


def _triple(v, digits: int) -> str:
    if v is None or v[0] is None or math.isnan(v[0]):
        return "—"
    if v[1] is None or math.isnan(v[1]):
        return f"{v[0]:.{digits}f}"
    return f"{v[0]:.{digits}f} [{v[1]:.{digits}f}, {v[2]:.{digits}f}]"


def calibration_markdown(result, digits: int = 3) -> str:
    """The "calibration: NLL and ECE before → after" table, one line per calibrated row."""
    lines = ["| Dataset | Method | Calibrator (choice) | NLL before → after | Δ NLL [CI], p | L1 before → after | "
             "ECE before → after |", "|---|---|---|---|---:|---|---|"]
    for e in result.calibration_effects:
        c = result.comparison(e["dataset"], "nll", e["calibrated_row"], e["row"]) \
            if e["calibrated_row"] != e["row"] else None
        delta = "—" if c is None or math.isnan(c.low) else \
            f"{c.mean_diff:+.{digits}f} [{c.low:+.{digits}f}, {c.high:+.{digits}f}], {c.p_value:.3f}"
        how = "dev CV-NLL rule" if not e["rule"].startswith("forced") else "forced"
        lines.append(f"| {e['dataset']} | {e['row']} | {e['calibrator']} ({how}) | "
                     f"{_triple(e['nll_before'], digits)} → {_triple(e['nll_after'], digits)} | {delta} | "
                     f"{_triple(e['l1_before'], digits)} → {_triple(e['l1_after'], digits)} | "
                     f"{_triple(e['ece_before'], digits)} → {_triple(e['ece_after'], digits)} |")
    return "\n".join(lines)


def markdown_report(result) -> str:
    """The whole table.md: Table 2, every metric per dataset, paired tests, calibration, notes."""
    pct = round(100 * result.confidence)
    out = [
        "# Distribution alignment", "",
        f"Cells: estimate [{pct}% percentile bootstrap interval over examples; {result.n_boot} resamples, "
        f"seed {result.seed}]. ↓ lower is better, ↑ higher is better; best per column in bold. "
        "NLL, L1 and Brier compare with the human (annotator) distribution; F1 is example-F1 at threshold 0.5 "
        "against the aggregate gold; ECE, ROC-AUC and AP are per label against the aggregate gold, averaged over "
        "labels. Baselines (paper §A.6): each label's train base rate, and 0.5 per label (1/L single-label).",
        "", "## Table 2", "", markdown_table(result, TABLE2_METRICS), "",
        "## Token-level marginalization metrics", "",
        "Praharaj & Kasundra's evaluation: micro-F1 and Hamming loss at one global threshold t (see the notes), "
        "micro ROC-AUC over all (example, label) cells, against the aggregate gold.", "",
        markdown_table(result, TOKEN_LEVEL_METRICS), "",
    ]
    for d in result.datasets:
        kind = "multi-label" if d.multilabel else "single-label"
        out += [f"## {d.name}: all metrics", "",
                f"{d.n_examples} examples, {len(d.labels)} labels ({kind}); runs: {', '.join(d.runs)}; "
                f"models: {', '.join(d.models)}.", "",
                markdown_table(result, list(METRICS), datasets=[d.name]), "",
                f"### {d.name}: paired bootstrap tests against the best method", "",
                comparisons_markdown(result, d.name), ""]
    if result.calibration_effects:
        fitted = sorted({f"{e['fitted_on']['split']} ({e['fitted_on']['n_items']} items, targets "
                         f"{'q' if e['fitted_on']['target'] == 'human' else 'gold'})" for e in result.calibration_effects})
        out += ["## Calibration: NLL and ECE before → after", "",
                f"Calibrators from `labeldist calibrate`, fitted on {', '.join(fitted)}; those dev records are not "
                "evaluated. NLL and L1 against q with their intervals as above; Δ NLL = calibrated − raw, paired "
                "bootstrap. ECE here is pooled over all (example, label) entries in 10 equal-width bins against q "
                "(against the 0/1 gold where there are no annotators); the ECE column above is per label against "
                "gold.", "", calibration_markdown(result), ""]
    if result.calibration:
        out += ["## Platt scaling (--calibrate, reference variant: one shared (w, b))", "", "| Run | method | split | w | b | fit examples | no label step |",
                "|---|---|---|---:|---:|---:|---:|"]
        out += [f"| {c['run']} | {c.get('method', '')} | {c['split']} | {c['coef']:.4f} | {c['intercept']:.4f} | "
                f"{c['n_fit_examples']} | {c['n_skipped_no_steps']} |" for c in result.calibration]
        out.append("")
    if result.notes:
        out += ["## Notes", ""] + [f"- {n}" for n in result.notes] + [""]
    return "\n".join(out)


def _write_csv(path: Path, rows: list[dict], fields: list[str]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({k: ("" if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()})
    return path


def wide_rows(result, metrics: Sequence[str] = TABLE2_METRICS) -> tuple[list[dict], list[str]]:
    """Table 2 as CSV rows: one per method, ``dataset:metric`` value/low/high columns."""
    fields = ["method"]
    for d in result.datasets:
        for m in metrics:
            fields += [f"{d.name}:{m}", f"{d.name}:{m}:low", f"{d.name}:{m}:high"]
    rows = []
    for method in result.methods:
        row: dict = {"method": method}
        for d in result.datasets:
            for m in metrics:
                s = result.score(d.name, method, m)
                if s is not None:
                    row[f"{d.name}:{m}"], row[f"{d.name}:{m}:low"], row[f"{d.name}:{m}:high"] = s.value, s.low, s.high
        rows.append(row)
    return rows, fields


def write_tables(result, out_dir: Path) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"markdown": out_dir / "table.md", "json": out_dir / "results.json"}
    paths["markdown"].write_text(markdown_report(result), encoding="utf-8")
    rows, fields = wide_rows(result)
    paths["table_csv"] = _write_csv(out_dir / "table.csv", rows, fields)
    score_rows = [asdict(s) for s in result.scores]
    paths["scores_csv"] = _write_csv(out_dir / "scores.csv", score_rows, list(score_rows[0]) if score_rows else ["dataset"])
    comp_rows = [asdict(c) for c in result.comparisons]
    paths["comparisons_csv"] = _write_csv(out_dir / "comparisons.csv", comp_rows,
                                          list(comp_rows[0]) if comp_rows else ["dataset"])
    pl_fields = list(dict.fromkeys(k for r in result.per_label for k in r)) or ["dataset"]
    paths["per_label_csv"] = _write_csv(out_dir / "per_label.csv", result.per_label, pl_fields)
    with open(paths["json"], "w", encoding="utf-8") as f:
        json.dump(result.to_dict(), f, indent=2, ensure_ascii=False, allow_nan=False)
        f.write("\n")
    return paths
