"""The pieces of an analysis report: options, tables, figures and finding rows (see :mod:`labeldist.analyses.suite`)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Callable

from labeldist.analyses.findings import Finding
from labeldist.analyses.runs import AnalysisRun
from labeldist.metrics import Interval


@dataclass(frozen=True)
class AnalysisOptions:
    """Settings of one analysis (``labeldist analyze`` flags).

    ``remove_none``: stop each example at its first step whose argmax is ``none`` (the reference's
    ``--remove-none``); ``spikiness_filter``: the reference's Fig-4 filter (top >= 0.3 and a
    prediction); ``min_count``: ranks of Fig 5 with fewer examples are dropped (reference: > 10).
    """

    remove_none: bool = False
    first_occurrence: bool = False
    n_boot: int = 1000
    seed: int = 0
    confidence: float = 0.95
    spikiness_filter: bool = True
    min_count: int = 11
    max_rank: int = 3
    max_step: int = 3

    @property
    def boot(self) -> dict:
        return {"n_boot": self.n_boot, "seed": self.seed, "confidence": self.confidence}


@dataclass
class Table:
    """Rows for ``tables/<name>.csv`` (and ``.md`` when not ``inline``); ``note`` says what was counted."""

    name: str
    title: str
    rows: list[dict]
    note: str = ""
    inline: bool = True  # shown in README.md and printed; else only its own files


@dataclass
class Figure:
    """A PNG drawn at write time: ``draw(path)``; ``name`` is its path under the output folder, no suffix."""

    name: str
    caption: str
    draw: Callable


@dataclass
class AnalysisReport:
    """Everything :func:`analyze_runs` found; :meth:`labeldist.analyses.writer.write_report` writes it."""

    runs: list[AnalysisRun]
    options: AnalysisOptions
    tables: list[Table] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    findings: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def table(self, name: str) -> Table | None:
        return next((t for t in self.tables if t.name == name), None)


def series_label(run: AnalysisRun, runs=()) -> str:
    """``dataset · model`` for a figure legend, plus decoding and demos when a run of ``runs`` with the same
    dataset and model differs in them."""
    label = f"{run.dataset} · {run.model}"
    if any(r.dataset == run.dataset and r.model == run.model and (r.decoding, r.shots) != (run.decoding, run.shots)
           for r in runs):
        label += f" · {run.decoding}, {run.shots}-shot"
    return label


def percent(iv: Interval) -> Interval:
    return Interval(100 * iv.estimate, 100 * iv.low, 100 * iv.high, iv.confidence, iv.n_boot)


def finding_row(f: Finding, run: AnalysisRun, *, model: str | None = None) -> dict:
    nan = math.isnan(f.interval.estimate)
    setting = "" if run.label_order_kind == "canonical" else f" ({run.label_order_kind} label order)"
    return {"dataset": run.dataset, "model": model or run.model + setting, "run": run.name, "finding": f.spec.claim,
            "statistic": f.spec.statistic, "predicts": f.spec.rule.describe(),
            "value [95% CI]": f.interval, "verdict": "no data" if nan else f.verdict, "paper": f.spec.paper}


def safe_name(s: str) -> str:
    """``s`` made safe as one path component."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", s).strip("_") or "x"
