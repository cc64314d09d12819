"""Does each Section-4 finding of the paper hold on our runs? A statistic, its interval and a rule.

A :class:`Rule` states the paper's prediction about a statistic (``> t``, ``< t`` or ``within ±t``).
:func:`assess` turns a bootstrap interval into a verdict: **holds** when the whole interval satisfies
the rule, **does not hold** when the whole interval violates it, **inconclusive** when the interval
overlaps (or touches) the threshold or is undefined. :data:`PAPER_FINDINGS` lists the findings with
their default rules; :func:`evaluate_findings` computes them from traces.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal, Mapping, Sequence

import numpy as np

from labeldist.analyses.intervals import (
    N_BOOT,
    concordance_sample,
    joint_interval,
    multilabel_rate_sample,
    order_accuracy_sample,
    sample_interval,
    step_sample,
)
from labeldist.analyses.order import instruction_order_agreement, order_accuracy
from labeldist.analyses.steps import analyze_steps
from labeldist.analyses.trace import Trace
from labeldist.errors import LabeldistError
from labeldist.metrics import Interval

Verdict = Literal["holds", "does not hold", "inconclusive"]


@dataclass(frozen=True)
class Rule:
    """The paper's prediction about a statistic: ``op`` in {">", "<", "within"} and a threshold."""

    op: Literal[">", "<", "within"]
    threshold: float

    def __post_init__(self) -> None:
        if self.op not in (">", "<", "within"):
            raise LabeldistError(f"unknown rule operator {self.op!r}", "use '>', '<' or 'within'")
        if self.op == "within" and not self.threshold > 0:
            raise LabeldistError(f"'within' needs a positive half-width; got {self.threshold}", "use e.g. 0.05")

    def describe(self) -> str:
        return f"within ±{self.threshold:g}" if self.op == "within" else f"{self.op} {self.threshold:g}"


def assess(interval: Interval, rule: Rule) -> Verdict:
    """Verdict of ``rule`` on ``interval`` (its low/high bounds; NaN bounds are inconclusive).

    Examples
    --------
    >>> assess(Interval(0.3, 0.2, 0.4), Rule("<", 0.5)), assess(Interval(0.5, 0.4, 0.6), Rule("<", 0.5))
    ('holds', 'inconclusive')
    """
    lo, hi, t = interval.low, interval.high, rule.threshold
    if math.isnan(lo) or math.isnan(hi):
        return "inconclusive"
    if rule.op == ">":
        return "holds" if lo > t else "does not hold" if hi < t else "inconclusive"
    if rule.op == "<":
        return "holds" if hi < t else "does not hold" if lo > t else "inconclusive"
    if -t < lo and hi < t:
        return "holds"
    return "does not hold" if hi < -t or lo > t else "inconclusive"


@dataclass(frozen=True)
class FindingSpec:
    """A paper finding: the claim, the statistic that tests it, its default rule and the paper's evidence."""

    claim: str
    statistic: str
    rule: Rule
    paper: str


@dataclass(frozen=True)
class Finding:
    """One finding evaluated: its statistic's interval and the verdict of its rule."""

    key: str
    spec: FindingSpec
    interval: Interval
    verdict: Verdict

    def row(self, digits: int = 3) -> dict:
        """A flat row for :func:`labeldist.analyses.tables.write_table`."""
        return {"finding": self.spec.claim, "statistic": self.spec.statistic,
                "value [95% CI]": self.interval.format(digits), "rule": self.spec.rule.describe(),
                "verdict": self.verdict, "paper": self.spec.paper}


def finding(key: str, spec: FindingSpec, interval: Interval) -> Finding:
    """Evaluate ``spec.rule`` on ``interval``."""
    return Finding(key, spec, interval, assess(interval, spec.rule))


PAPER_FINDINGS: dict[str, FindingSpec] = {
    "first_step_spiky": FindingSpec(
        "First-step label distributions are spiky (top label near 1)",
        "mean top-1 probability at label step 1", Rule(">", 0.8),
        "§4 Spikiness, Figs 2 and 4: large/finetuned models cluster near 100%; 8B Base SemEval mode ~40%"),
    "later_steps_spiky": FindingSpec(
        "Each later label comes with a similarly spiky distribution",
        "mean top-1 at steps >= 2 minus mean top-1 at step 1", Rule(">", -0.05),
        "§4 Sequential Spikiness, Fig 2: later steps as spiky, some spikier"),
    "no_stopping_signal": FindingSpec(
        "Last and intermediate steps look alike (no stopping signal)",
        "mean top-1, intermediate minus last steps", Rule("within", 0.05),
        "§4 Stopping Criterion, Figs 2, 3, 10: little distinction except MFRC with base models"),
    "second_rarely_next": FindingSpec(
        "The second-highest label is often not generated next",
        "share of intermediate steps whose 2nd-ranked label is the next argmax", Rule("<", 0.5),
        "§4 Relative Ranking, Fig 3: not next 48.1-69.2% (SemEval), 22.2-49.8% (GoEmotions) at step 1"),
    "second_never_predicted": FindingSpec(
        "A second-highest label not generated next is mostly never generated",
        "share never predicted among intermediate steps whose 2nd-ranked label was not next", Rule(">", 0.5),
        "Table 4: 56.8-100% across datasets and models"),
    "accuracy_falls_with_order": FindingSpec(
        "The first generated label is more accurate than the second",
        "acc_1 minus acc_2 (share of r-th generated labels in gold)", Rule(">", 0.0),
        "§4 Complete Distribution, Fig 5: decreasing accuracy by generation order"),
    "multilabel_rate_rises": FindingSpec(
        "The multi-label output rate rises with the share of multi-label demos",
        "least-squares slope of multi-label output rate on multi-label demo fraction", Rule(">", 0.0),
        "§4 Rate of multiple predictions, Fig 6: rate roughly tracks the demo fraction"),
    "follows_instruction_order": FindingSpec(
        "Generated labels follow the instruction's label order",
        "pairwise concordance of generated order with the instruction order (chance 0.5)", Rule(">", 0.5),
        "Table 7: 96.4% alphabetical; reverse order followed 71.9%, random 40.1%"),
}


def _slope(x: np.ndarray):
    def slope(rates: np.ndarray) -> float:
        if np.any(np.isnan(rates)):
            return float("nan")
        return float(np.polyfit(x, rates, 1)[0])
    return slope


def evaluate_findings(traces: Sequence[Trace], *, instruction_order: Sequence[str] | None = None,
                      traces_by_ratio: Mapping[float, Sequence[Trace]] | None = None,
                      rules: Mapping[str, Rule] | None = None, remove_none: bool = False,
                      n_boot: int = N_BOOT, seed: int = 0, confidence: float = 0.95) -> list[Finding]:
    """Evaluate :data:`PAPER_FINDINGS` on one run's traces.

    Parameters
    ----------
    traces : sequence of Trace
        One run (one model, dataset and prompt).
    instruction_order : sequence of str, optional
        The label order listed in the instruction; without it ``follows_instruction_order`` is skipped.
    traces_by_ratio : mapping of float to sequence of Trace, optional
        Runs on the same examples with different multi-label demo fractions (Fig 6); without it (or
        with fewer than two fractions) ``multilabel_rate_rises`` is skipped.
    rules : mapping of finding key to Rule, optional
        Overrides of the default rules.
    remove_none : bool, default=False
        Passed to :func:`~labeldist.analyses.steps.analyze_steps`.
    n_boot, seed, confidence : bootstrap settings, shared by all findings.

    Returns
    -------
    list of Finding, in :data:`PAPER_FINDINGS` order (skipped findings are absent).
    """
    specs = dict(PAPER_FINDINGS)
    for key, rule in (rules or {}).items():
        if key not in specs:
            raise LabeldistError(f"unknown finding {key!r}", f"use one of {', '.join(PAPER_FINDINGS)}")
        specs[key] = replace(specs[key], rule=rule)
    kw = dict(n_boot=n_boot, seed=seed, confidence=confidence)
    rows = analyze_steps(traces, remove_none=remove_none).rows
    later = step_sample([r for r in rows if r.step >= 2], "top_prob")
    first = step_sample(rows, "top_prob", step=1)
    intervals: dict[str, Interval] = {
        "first_step_spiky": sample_interval(first, **kw),
        "later_steps_spiky": joint_interval([later, first], lambda r: r[0] - r[1], **kw),
        "no_stopping_signal": joint_interval(
            [step_sample(rows, "top_prob", is_last=False), step_sample(rows, "top_prob", is_last=True)],
            lambda r: r[0] - r[1], **kw),
        "second_rarely_next": sample_interval(step_sample(rows, "is_next_pred_correct", is_last=False), **kw),
        "second_never_predicted": sample_interval(step_sample(rows, "never_predicted", is_last=False), **kw),
    }
    if any(t.gold is not None for t in traces):
        acc = order_accuracy(traces, max_rank=2, min_count=0)
        intervals["accuracy_falls_with_order"] = joint_interval(
            [order_accuracy_sample(acc, 1), order_accuracy_sample(acc, 2)], lambda r: r[0] - r[1], **kw)
    if traces_by_ratio is not None and len(traces_by_ratio) >= 2:
        x = np.array(sorted(traces_by_ratio), dtype=np.float64)
        samples = [multilabel_rate_sample(traces_by_ratio[r]) for r in sorted(traces_by_ratio)]
        intervals["multilabel_rate_rises"] = joint_interval(samples, _slope(x), **kw)
    if instruction_order is not None:
        agreement = instruction_order_agreement(traces, instruction_order)
        intervals["follows_instruction_order"] = sample_interval(concordance_sample(agreement), **kw)
    return [finding(k, specs[k], intervals[k]) for k in PAPER_FINDINGS if k in intervals]
