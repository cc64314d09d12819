"""Write an :class:`~labeldist.analyses.output.AnalysisReport`: ``README.md``, ``findings.md/.csv``,
``tables/*.md/.csv`` and ``figures/**/*.png``; and the text ``labeldist analyze`` prints.

``README.md`` holds the runs, the findings table, the notes, links to every table and every
figure embedded; the tables themselves are in ``tables/`` (Markdown with 3 decimals, CSV with
full precision and interval bounds as ``_low`` / ``_high`` columns).
"""

from __future__ import annotations

from pathlib import Path

from labeldist.analyses.output import AnalysisReport, Table
from labeldist.analyses.tables import markdown_table, write_table
from labeldist.errors import LabeldistError

FINDINGS_COLUMNS = ("finding", "dataset", "model", "predicts", "value [95% CI]", "verdict")


def _findings_rows(report: AnalysisReport, *, full: bool) -> list[dict]:
    rows = sorted(report.findings, key=lambda r: (list(dict.fromkeys(f["finding"] for f in report.findings))
                                                  .index(r["finding"]), r["dataset"], r["model"]))
    if full:
        return rows
    return [{k: (f"{r['statistic']} {r['predicts']}" if k == "predicts" else r[k]) for k in FINDINGS_COLUMNS}
            for r in rows]


def _options_line(report: AnalysisReport) -> str:
    o = report.options
    return (f"Bootstrap: {o.n_boot} resamples of examples, seed {o.seed}, {round(100 * o.confidence)}% percentile "
            f"intervals. remove-none: {'on' if o.remove_none else 'off'}; first occurrence only: "
            f"{'on' if o.first_occurrence else 'off'}; spikiness filter: {'on' if o.spikiness_filter else 'off'}; "
            f"Fig-5 ranks kept with >= {o.min_count} examples.")


def _verdict_counts(report: AnalysisReport) -> str:
    counts: dict[str, int] = {}
    for r in report.findings:
        counts[r["verdict"]] = counts.get(r["verdict"], 0) + 1
    order = ("holds", "does not hold", "inconclusive", "no data")
    return ", ".join(f"{counts[v]} {v}" for v in order if v in counts)


def write_report(report: AnalysisReport, out_dir: str | Path, *, title: str = "Section-4 analyses") -> dict[str, Path]:
    """Write every table, the findings and every figure under ``out_dir``; return {name: path}."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    written: list[tuple[Table, Path]] = []
    for t in report.tables:
        if t.rows:
            md, _ = write_table(t.rows, out / "tables" / t.name, title=t.title + (f"\n\n{t.note}" if t.note else ""))
            paths[f"table:{t.name}"] = md
            written.append((t, md))
    if report.findings:
        paths["findings"], _ = write_table(_findings_rows(report, full=True), out / "findings",
                                           title="Section-4 findings of the paper, checked")
    figures = []
    for fig in report.figures:
        path = out / f"{fig.name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fig.draw(path)
        except LabeldistError as e:
            report.notes.append(f"figure {fig.name} not drawn: {e}")
            continue
        paths[f"figure:{fig.name}"] = path
        figures.append((fig, path))
    lines = [f"# {title}", "", _options_line(report), ""]
    runs = report.table("runs")
    if runs is not None:
        lines += ["## Runs", "", markdown_table(runs.rows)]
    if report.findings:
        lines += ["## Findings", "", f"{_verdict_counts(report)}. A verdict **holds** when the whole interval "
                  "satisfies the paper's prediction, **does not hold** when the whole interval violates it, "
                  "**inconclusive** otherwise; **no data** when nothing qualified (e.g. no intermediate steps). "
                  "Full rows (statistic, run, the paper's evidence): [findings.md](findings.md).", "",
                  markdown_table(_findings_rows(report, full=False))]
    if report.notes:
        lines += ["## Notes", ""] + [f"* {n}" for n in report.notes] + [""]
    lines += ["## Tables", ""] + [f"* [{t.title}]({p.relative_to(out).as_posix()})" for t, p in written] + [""]
    if figures:
        lines += ["## Figures", ""]
        for fig, p in figures:
            rel = p.relative_to(out).as_posix()
            lines += [f"**{fig.caption}** (`{rel}`)", "", f"![{fig.caption}]({rel})", ""]
    readme = out / "README.md"
    readme.write_text("\n".join(lines), encoding="utf-8")
    paths["readme"] = readme
    return paths


def report_text(report: AnalysisReport) -> str:
    """The printed summary: every inline table, then the findings, then the notes (Markdown)."""
    parts = []
    for t in report.tables:
        if t.inline and t.rows and t.name != "runs":
            parts.append(f"## {t.title}\n\n{markdown_table(t.rows)}")
    if report.findings:
        parts.append(f"## Findings ({_verdict_counts(report)})\n\n{markdown_table(_findings_rows(report, full=False))}")
    if report.notes:
        parts.append("\n".join(f"note: {n}" for n in report.notes))
    return "\n".join(parts)
