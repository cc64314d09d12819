"""What :func:`labeldist.report.evaluate_runs` returns: scores with intervals, paired tests, notes."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

from labeldist.metrics import METRICS, TABLE2_METRICS


@dataclass(frozen=True)
class Score:
    """One cell: a method's metric on a dataset, with its percentile bootstrap interval.

    ``n_labels_excluded`` counts labels left out of a per-label mean (ROC-AUC and AP:
    labels with a single gold class); None for metrics not averaged over labels.
    """

    dataset: str
    method: str
    metric: str
    value: float
    low: float
    high: float
    n_examples: int
    n_labels_excluded: int | None = None

    def format(self, digits: int = 3) -> str:
        if math.isnan(self.value):
            return "n/a"
        if math.isnan(self.low):
            return f"{self.value:.{digits}f}"
        return f"{self.value:.{digits}f} [{self.low:.{digits}f}, {self.high:.{digits}f}]"


@dataclass(frozen=True)
class Comparison:
    """Paired bootstrap test of ``method_a`` − ``method_b`` on the same examples."""

    dataset: str
    metric: str
    method_a: str
    method_b: str
    mean_diff: float
    low: float
    high: float
    p_value: float


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    key: str
    labels: tuple[str, ...]
    multilabel: bool
    n_examples: int
    runs: tuple[str, ...]
    models: tuple[str, ...]
    has_human: bool
    has_gold: bool
    metrics: tuple[str, ...]  # metrics computed (those whose target exists)


@dataclass
class EvaluationResult:
    """Scores of every method (rows) on every dataset and metric, with intervals and tests.

    Attributes
    ----------
    datasets : list of DatasetInfo
    methods : list of str
        Row names in table order: baselines first, then methods as they appear in the runs.
    scores : list of Score
    comparisons : list of Comparison
        Every pair of methods (once, in row order) on every dataset and metric; use
        :meth:`comparison` to get either orientation.
    per_label : list of dict
        Per (dataset, method, label): mean prediction, human mean, gold rate, L1, F1, ECE, ROC-AUC, AP.
    calibration : list of dict
        Fitted Platt parameters per run (``--calibrate``, the reference variant).
    notes : list of str
        Everything left out or replaced, with counts.
    calibration_effects : list of dict
        Per calibrated row (a run's calibration directory): dataset, run, method, row and
        calibrated row names, calibrator, rule, CV NLLs, fitted-on record, and
        ``nll_before`` / ``nll_after`` / ``l1_*`` / ``ece_*`` as [value, low, high]
        (ECE: pooled over entries against ``ece_target``, q or gold).
    """

    datasets: list[DatasetInfo]
    methods: list[str]
    scores: list[Score]
    comparisons: list[Comparison]
    per_label: list[dict]
    calibration: list[dict]
    notes: list[str]
    seed: int
    n_boot: int
    confidence: float
    calibrate: str | None
    split: str | None
    blocks: list = field(default_factory=list, repr=False)  # (DatasetInfo, targets, {row: probs}) for plots
    calibration_effects: list[dict] = field(default_factory=list)

    def score(self, dataset: str, method: str, metric: str) -> Score | None:
        for s in self.scores:
            if s.dataset == dataset and s.method == method and s.metric == metric:
                return s
        return None

    def comparison(self, dataset: str, metric: str, method_a: str, method_b: str) -> Comparison | None:
        """The paired test of ``method_a`` − ``method_b`` (stored once per pair; flipped as needed)."""
        for c in self.comparisons:
            if (c.dataset, c.metric) != (dataset, metric):
                continue
            if (c.method_a, c.method_b) == (method_a, method_b):
                return c
            if (c.method_a, c.method_b) == (method_b, method_a):
                return Comparison(dataset, metric, method_a, method_b, -c.mean_diff, -c.high, -c.low, c.p_value)
        return None

    def table(self, metrics=TABLE2_METRICS, *, digits: int = 3) -> str:
        """Markdown table: rows = methods, columns = datasets × metrics, cells ``value [lo, hi]``."""
        from labeldist.report.tables import markdown_table

        return markdown_table(self, metrics, digits=digits)

    def to_dict(self) -> dict:
        def clean(x):
            if isinstance(x, float) and math.isnan(x):
                return None
            if isinstance(x, dict):
                return {k: clean(v) for k, v in x.items()}
            if isinstance(x, (list, tuple)):
                return [clean(v) for v in x]
            return x

        return clean({
            "seed": self.seed, "n_boot": self.n_boot, "confidence": self.confidence,
            "calibrate": self.calibrate, "split": self.split,
            "metrics": {n: {"direction": s.direction, "target": s.target, "level": s.level, "header": s.header}
                        for n, s in METRICS.items()},
            "datasets": [asdict(d) for d in self.datasets],
            "methods": self.methods,
            "scores": [asdict(s) for s in self.scores],
            "comparisons": [asdict(c) for c in self.comparisons],
            "per_label": self.per_label,
            "calibration": self.calibration,
            "calibration_effects": self.calibration_effects,
            "notes": self.notes,
        })

    def write(self, out_dir: str | Path, *, plots: bool = True) -> dict[str, Path]:
        """Write table.md, table.csv, scores.csv, comparisons.csv, per_label.csv, results.json and PNGs."""
        from labeldist.report.tables import write_tables

        paths = write_tables(self, Path(out_dir))
        if plots:
            from labeldist.report.plots import write_plots

            paths.update(write_plots(self, Path(out_dir) / "plots"))
        return paths
