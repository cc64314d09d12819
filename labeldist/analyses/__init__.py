"""Section-4 analyses of the paper on per-example :class:`Trace` s: per-step confidence, spikiness,
generation order, annotator agreement, attention regions, bootstrap intervals, figures and findings.

Imports point downward only: this package uses ``labeldist.records``, ``labeldist.metrics`` and
``labeldist.errors``, never backends or runners. The modules behind ``labeldist analyze`` are imported
on their own, not from here: :mod:`~labeldist.analyses.runs` (run directories -> traces, via
``labeldist.report.load``), :mod:`~labeldist.analyses.suite` (every analysis of a set of runs),
:mod:`~labeldist.analyses.scale`, :mod:`~labeldist.analyses.more_findings`,
:mod:`~labeldist.analyses.probes` (Fig 7, with ``labeldist.supervised``), :mod:`~labeldist.analyses.writer`
and :mod:`~labeldist.analyses.dataset_stats` (Table 1).
"""

from labeldist.analyses.agreement import AgreementStats, annotation_agreement, cohen_kappa, krippendorff_alpha_nominal
from labeldist.analyses.attention import (
    AttentionShares,
    AttentionSummary,
    label_key_positions,
    label_step_attention,
    summarize_attention,
)
from labeldist.analyses.findings import PAPER_FINDINGS, Finding, FindingSpec, Rule, assess, evaluate_findings, finding
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
from labeldist.analyses.order import (
    MultilabelRate,
    OrderAccuracy,
    OrderAgreement,
    instruction_order_agreement,
    is_multilabel_output,
    multilabel_output_rate,
    order_accuracy,
)
from labeldist.analyses.spikiness import Spikiness, first_step_spikiness
from labeldist.analyses.steps import StepAnalysis, StepGroup, StepRow, StepSummary, analyze_steps, entropy_bits, summarize_steps
from labeldist.analyses.tables import markdown_table, write_table
from labeldist.analyses.trace import Trace

__all__ = [
    "AgreementStats", "AttentionShares", "AttentionSummary", "Finding", "FindingSpec", "GroupedSample",
    "MultilabelRate", "OrderAccuracy", "OrderAgreement", "PAPER_FINDINGS", "Rule", "Spikiness", "StepAnalysis",
    "StepGroup", "StepRow", "StepSummary", "Trace", "analyze_steps", "annotation_agreement", "assess",
    "cohen_kappa", "concordance_sample", "entropy_bits", "evaluate_findings", "finding", "first_step_spikiness",
    "in_order_sample", "instruction_order_agreement", "is_multilabel_output", "joint_interval",
    "krippendorff_alpha_nominal", "label_key_positions", "label_step_attention", "markdown_table",
    "multilabel_output_rate", "multilabel_rate_sample", "order_accuracy", "order_accuracy_sample",
    "sample_interval", "step_sample", "summarize_attention", "summarize_steps", "write_table",
]
