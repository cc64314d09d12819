"""Findings beyond :data:`~labeldist.analyses.findings.PAPER_FINDINGS` that need more than one run's traces:
attention (Table 6), probes (Fig 7) and model scale (§4, §D.3).

Same machinery: a statistic, its cluster-bootstrap interval over examples, and a :class:`Rule`
that says **holds** / **does not hold** / **inconclusive** (:func:`~labeldist.analyses.findings.assess`).
"""

from __future__ import annotations

from typing import Sequence

from labeldist.analyses.findings import Finding, FindingSpec, Rule, finding
from labeldist.analyses.intervals import N_BOOT, GroupedSample, joint_interval, sample_interval, step_sample
from labeldist.analyses.probes import ProbeResult
from labeldist.analyses.steps import StepRow
from labeldist.records.attention import StepAttention

MORE_FINDINGS: dict[str, FindingSpec] = {
    "labels_attended_per_token": FindingSpec(
        "Later labels attend more, per token, to earlier label tokens than to the input",
        "per-token attention on earlier label tokens ÷ per-token attention on the prompt", Rule(">", 1.0),
        "§D.6, Table 6: an order of magnitude more per token (e.g. 2.04% vs 0.242%)"),
    "input_holds_most_attention": FindingSpec(
        "The input still receives most of the attention in total",
        "raw attention mass on the prompt (share of the query's attention)", Rule(">", 0.5),
        "§D.6: about an 80%/20% split in favour of the input"),
    "probe_later_labels_worse": FindingSpec(
        "Probes on the first-label state predict later labels worse than all labels",
        "micro-F1 of probes fitted on the model's labels: Pred minus Pred 2+", Rule(">", 0.0),
        "§5.4, Fig 7: a substantial degradation on Pred 2+"),
    "spikier_with_scale": FindingSpec(
        "Larger models have spikier first-step distributions",
        "mean top-1 probability at label step 1, larger minus smaller model, same examples", Rule(">", 0.0),
        "§4 Spikiness: as models become larger, the distributions concentrate around 100%"),
    "ordering_improves_with_scale": FindingSpec(
        "With scale, the second-ranked label is generated next more often",
        "2nd-ranked-is-next rate, larger minus smaller model, same examples", Rule(">", 0.0),
        "§D.3: with scale, the relative ordering of labels improves"),
}


def attention_samples(shares: Sequence[tuple[str, StepAttention]], value: str, region: str) -> GroupedSample:
    """Mean over later label steps of ``value`` ("mass" or "per_token") of ``region``, grouped by example id."""
    getter = (lambda a: a.mass(region)) if value == "mass" else (lambda a: a.per_token(region))
    rows = [(i, getter(a)) for i, a in shares]
    rows = [(i, v) for i, v in rows if v == v]  # per-token values of empty regions are NaN
    return GroupedSample.mean([i for i, _ in rows], [v for _, v in rows])


def attention_findings(shares: Sequence[tuple[str, StepAttention]], *, n_boot: int = N_BOOT, seed: int = 0,
                       confidence: float = 0.95) -> list[Finding]:
    """``labels_attended_per_token`` and ``input_holds_most_attention`` on one run's stored attention."""
    kw = dict(n_boot=n_boot, seed=seed, confidence=confidence)
    ratio = joint_interval([attention_samples(shares, "per_token", "labels"),
                            attention_samples(shares, "per_token", "input")], lambda r: r[0] / r[1], **kw)
    mass = sample_interval(attention_samples(shares, "mass", "input"), **kw)
    return [finding("labels_attended_per_token", MORE_FINDINGS["labels_attended_per_token"], ratio),
            finding("input_holds_most_attention", MORE_FINDINGS["input_holds_most_attention"], mass)]


def probe_finding(result: ProbeResult) -> Finding:
    return finding("probe_later_labels_worse", MORE_FINDINGS["probe_later_labels_worse"], result.pred_drop)


def scale_findings(larger: Sequence[StepRow], smaller: Sequence[StepRow], ids: Sequence[str], *,
                   n_boot: int = N_BOOT, seed: int = 0, confidence: float = 0.95) -> list[Finding]:
    """Paired differences (larger − smaller model) on the examples ``ids`` both runs classified.

    ``larger`` / ``smaller`` are the two runs' :class:`StepRow` s; examples are the shared
    bootstrap clusters, so the interval is of a paired difference.
    """
    keep = set(ids)
    big = [r for r in larger if r.example_id in keep]
    small = [r for r in smaller if r.example_id in keep]
    kw = dict(n_boot=n_boot, seed=seed, confidence=confidence)
    diff = lambda r: r[0] - r[1]  # noqa: E731
    top = joint_interval([step_sample(big, "top_prob", step=1), step_sample(small, "top_prob", step=1)], diff, **kw)
    nxt = joint_interval([step_sample(big, "is_next_pred_correct", is_last=False),
                          step_sample(small, "is_next_pred_correct", is_last=False)], diff, **kw)
    return [finding("spikier_with_scale", MORE_FINDINGS["spikier_with_scale"], top),
            finding("ordering_improves_with_scale", MORE_FINDINGS["ordering_improves_with_scale"], nxt)]
