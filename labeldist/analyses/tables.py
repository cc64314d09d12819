"""Write summary rows as a Markdown table and a CSV file, plus row builders for the analyses' summaries."""

from __future__ import annotations

import csv
import dataclasses
import math
from pathlib import Path
from typing import Any, Mapping, Sequence

from labeldist.analyses.agreement import AgreementStats
from labeldist.analyses.order import OrderAccuracy
from labeldist.analyses.steps import StepSummary
from labeldist.errors import LabeldistError
from labeldist.metrics import Interval


def _as_dict(row: Any) -> dict:
    if isinstance(row, Mapping):
        return dict(row)
    if dataclasses.is_dataclass(row) and not isinstance(row, type):
        return {f.name: getattr(row, f.name) for f in dataclasses.fields(row)}
    raise LabeldistError(f"table row of type {type(row).__name__} is neither a mapping nor a dataclass",
                         "pass dicts or dataclass instances")


def _md(v: Any, digits: int) -> str:
    if v is None:
        return "—"
    if isinstance(v, Interval):
        return v.format(digits)
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        return "n/a" if math.isnan(v) else f"{v:.{digits}f}"
    return str(v).replace("|", "\\|").replace("\n", " ")


def _csv_cells(key: str, v: Any) -> list[tuple[str, Any]]:
    if isinstance(v, Interval):  # one column each for the estimate and its bounds
        return [(key, v.estimate), (f"{key}_low", v.low), (f"{key}_high", v.high)]
    if v is None:
        return [(key, "")]
    if isinstance(v, (list, tuple, dict)):
        return [(key, repr(v))]
    return [(key, v)]


def markdown_table(rows: Sequence[Any], *, digits: int = 3) -> str:
    """Rows (mappings or dataclasses with the same keys) as a Markdown table; intervals as ``v [lo, hi]``."""
    dicts = [_as_dict(r) for r in rows]
    if not dicts:
        raise LabeldistError("no rows to tabulate", "pass at least one row")
    cols = list(dicts[0])
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for d in dicts:
        lines.append("| " + " | ".join(_md(d.get(c), digits) for c in cols) + " |")
    return "\n".join(lines) + "\n"


def write_table(rows: Sequence[Any], path, *, digits: int = 3, title: str | None = None) -> tuple[Path, Path]:
    """Write ``<path>.md`` (Markdown, ``digits`` decimals, optional ``# title``) and ``<path>.csv`` (full precision).

    ``path`` is taken without its suffix. Interval values become three CSV columns
    (``key``, ``key_low``, ``key_high``). Returns the two paths.
    """
    stem = Path(path)
    stem = stem.with_suffix("") if stem.suffix in (".md", ".csv") else stem
    stem.parent.mkdir(parents=True, exist_ok=True)
    md_path, csv_path = stem.with_name(stem.name + ".md"), stem.with_name(stem.name + ".csv")
    text = markdown_table(rows, digits=digits)
    md_path.write_text((f"# {title}\n\n" if title else "") + text, encoding="utf-8")
    flat = [dict(c for k, v in _as_dict(r).items() for c in _csv_cells(k, v)) for r in rows]
    with csv_path.open("w", newline="", encoding="utf-8") as f:
        # the union of the rows' columns: a cell that is an interval in one row may be empty in another
        w = csv.DictWriter(f, fieldnames=list(dict.fromkeys(k for row in flat for k in row)), restval="")
        w.writeheader()
        w.writerows(flat)
    return md_path, csv_path


# ---------------------------------------------------------------- row builders

def step_summary_rows(summary: StepSummary) -> list[dict]:
    """One row per (step, last/intermediate) group; ``step`` "all" for the pooled groups."""
    out = []
    for g in summary.groups:
        rate = None
        if not g.is_last:
            rate = summary.second_next_rate if g.step is None else summary.second_next_rate_by_step.get(g.step)
        out.append({"step": "all" if g.step is None else g.step, "position": "last" if g.is_last else "intermediate",
                    "n": g.n, "top-1": g.mean_top_prob, "second": g.mean_second_prob,
                    "median top/second": g.median_ratio, "entropy (bits)": g.mean_entropy_bits,
                    "2nd-ranked is next": rate})
    return out


def order_accuracy_rows(result: OrderAccuracy, intervals: Mapping[int, Interval] | None = None) -> list[dict]:
    """One row per rank: count, accuracy (or its interval when given), kept or dropped."""
    return [{"rank": r, "n": result.counts[r],
             "accuracy": (intervals or {}).get(r, result.accuracy.get(r)),
             "kept": r in result.accuracy} for r in range(1, result.max_rank + 1)]


def agreement_row(name: str, stats: AgreementStats) -> dict:
    """One Table-1 row for a dataset."""
    return {"dataset": name, "items": stats.n_items,
            "annotators/item (min/mean/max)": f"{stats.annotators_min}/{stats.annotators_mean:.2f}/{stats.annotators_max}",
            "labels/annotator": stats.labels_per_annotation_mean, "labels/aggregate": stats.labels_per_aggregate_mean,
            "alpha (mean over labels)": stats.alpha_mean, "alpha (label sets)": stats.alpha_label_sets,
            "kappa (mean over labels)": stats.kappa_mean,
            **{f"{k} labels": v for k, v in stats.aggregate_label_counts.items()}}
