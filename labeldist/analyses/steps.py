"""Per-step confidence of generated labels: top-1, second, ratio, entropy, and the "second-highest next" checks.

Paper: Table 4, Figs 2, 3, 9, 10 (REFERENCE.md §8.1, REFERENCE-METHODS-2.md §2.5). For every example
and every label step r (1-based here; the reference counts from 0) with distribution p_r over the L′
candidates (``none`` included):

* ``top_prob = max p_r``, ``second_prob`` = the 2nd-largest value, ``ratio = top_prob / second_prob``
  (``inf`` when ``second_prob == 0``), ``entropy_bits = −Σ_{p>0} p log₂ p``;
* the step is *last* when r = n_steps, otherwise *intermediate*.

For an intermediate step, ``expected_next`` = 2nd-argmax of p_r and ``actual_next`` = argmax of
p_{r+1}; ``is_next_pred_correct = 1[expected_next == actual_next]``. Its mean over intermediate steps
is the **second-highest predicted next** rate ("same: x%" in Fig 3). Among intermediate steps with
``expected_next ≠ actual_next``, the share whose ``expected_next`` is not among the final predicted
labels is the **never predicted** rate (Table 4). As in the reference, an ``expected_next`` of
``none`` always counts as never predicted (``none`` is never a parsed label); the rows keep
``expected_next`` so it can be filtered out.

Ties in a ranking keep candidate order (a stable sort, as the reference's ``sorted``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from labeldist.analyses.trace import Trace
from labeldist.records import NONE_LABEL

NAN = float("nan")


def entropy_bits(p) -> float:
    """Shannon entropy in bits, −Σ_{p>0} p log₂ p (zeros contribute nothing).

    Examples
    --------
    >>> entropy_bits([0.5, 0.25, 0.25])
    1.5
    """
    p = np.asarray(p, dtype=np.float64)
    p = p[p > 0]
    return float(-np.sum(p * np.log2(p)) + 0.0)  # + 0.0 turns -0.0 into 0.0


@dataclass(frozen=True)
class StepRow:
    """One label step of one example.

    ``step`` is 1-based; ``n_steps`` counts all the example's label steps (also when
    ``remove_none`` dropped the later ones). Fields from ``expected_next`` on are set only for
    intermediate steps; ``actual_next_prob`` = p_r(actual_next) only when ``actual_next`` differs
    from the argmax at r (the reference's choice); ``never_predicted`` only when
    ``expected_next ≠ actual_next``.
    """

    example_id: str
    step: int
    n_steps: int
    is_last: bool
    generated: str
    top_label: str
    top_prob: float
    second_label: str
    second_prob: float
    ratio: float
    entropy_bits: float
    expected_next: str | None = None
    actual_next: str | None = None
    expected_next_prob: float = NAN
    expected_next_prob_next: float = NAN
    actual_next_prob_next: float = NAN
    actual_next_prob: float = NAN
    is_next_pred_correct: bool | None = None
    never_predicted: bool | None = None


@dataclass(frozen=True)
class StepGroup:
    """Means over the rows of one group: last or intermediate, at one step (``step``) or all (``None``).

    The ratio is summarised by its median because it is ``inf`` whenever the second probability is 0.
    """

    is_last: bool
    step: int | None
    n: int
    mean_top_prob: float
    mean_second_prob: float
    median_ratio: float
    mean_entropy_bits: float


@dataclass(frozen=True)
class StepSummary:
    """Summary of :class:`StepRow` s.

    ``groups`` holds last and intermediate over all steps (``step=None``), then each (step, last /
    intermediate) pair present. ``second_next_rate`` = mean of ``is_next_pred_correct`` over the
    ``n_intermediate`` intermediate steps; ``never_predicted_rate`` = ``n_never_predicted / n_next_misses``
    (NaN when nothing to count).
    """

    groups: tuple[StepGroup, ...]
    n_rows: int
    n_intermediate: int
    second_next_rate: float
    second_next_rate_by_step: dict[int, float]
    n_next_misses: int
    n_never_predicted: int
    never_predicted_rate: float

    def group(self, is_last: bool, step: int | None = None) -> StepGroup | None:
        """The group for last/intermediate at ``step`` (``None`` = all steps), if it has rows."""
        for g in self.groups:
            if g.is_last == is_last and g.step == step:
                return g
        return None


@dataclass(frozen=True)
class StepAnalysis:
    """Rows, their summary, and what was counted.

    ``n_without_steps``: examples with no label step. ``n_stopped_at_none``: examples cut by
    ``remove_none`` (their steps from the first ``none`` argmax on are absent from ``rows``).
    """

    rows: tuple[StepRow, ...]
    summary: StepSummary
    n_examples: int
    n_without_steps: int
    n_stopped_at_none: int
    remove_none: bool


def _none_is_top(trace: Trace, r: int) -> bool:
    # The reference stops when p(none) equals the maximum, so a tie with none counts as none.
    if NONE_LABEL not in trace.candidates:
        return False
    p = trace.step_probs[r]
    return bool(p[trace.candidates.index(NONE_LABEL)] == p.max())


def trace_step_rows(trace: Trace, *, remove_none: bool = False) -> tuple[list[StepRow], bool]:
    """Rows of one trace and whether ``remove_none`` cut it.

    With ``remove_none`` processing stops at the first step whose argmax is ``none``: that step and
    all later ones are dropped, while earlier steps keep their last/intermediate status and their
    comparison with the next step (so the step before a dropped ``none`` step is intermediate with
    ``actual_next = "none"``) — exactly as the reference's ``--remove-none``.
    """
    rows: list[StepRow] = []
    n, cands, preds = trace.n_steps, trace.candidates, set(trace.predicted)
    for r in range(n):
        if remove_none and _none_is_top(trace, r):
            return rows, True
        p = trace.step_probs[r]
        order = trace.ranked(r)
        top, second = float(p[order[0]]), float(p[order[1]])
        base = dict(
            example_id=trace.id, step=r + 1, n_steps=n, is_last=r == n - 1, generated=trace.step_labels[r],
            top_label=cands[order[0]], top_prob=top, second_label=cands[order[1]], second_prob=second,
            ratio=top / second if second > 0 else math.inf, entropy_bits=entropy_bits(p),
        )
        if r == n - 1:
            rows.append(StepRow(**base))
            continue
        q = trace.step_probs[r + 1]
        e, a = int(order[1]), int(trace.ranked(r + 1)[0])
        correct = e == a
        rows.append(StepRow(
            **base, expected_next=cands[e], actual_next=cands[a], expected_next_prob=float(p[e]),
            expected_next_prob_next=float(q[e]), actual_next_prob_next=float(q[a]),
            actual_next_prob=float(p[a]) if a != int(order[0]) else NAN,
            is_next_pred_correct=correct, never_predicted=None if correct else cands[e] not in preds,
        ))
    return rows, False


def _group(rows: Sequence[StepRow], is_last: bool, step: int | None) -> StepGroup:
    ratio = np.array([r.ratio for r in rows])
    return StepGroup(
        is_last=is_last, step=step, n=len(rows),
        mean_top_prob=float(np.mean([r.top_prob for r in rows])),
        mean_second_prob=float(np.mean([r.second_prob for r in rows])),
        median_ratio=float(np.median(ratio)),
        mean_entropy_bits=float(np.mean([r.entropy_bits for r in rows])),
    )


def summarize_steps(rows: Sequence[StepRow]) -> StepSummary:
    """Means by last/intermediate overall and per step, the second-next rate and the never-predicted rate."""
    groups = []
    for is_last in (True, False):
        sel = [r for r in rows if r.is_last == is_last]
        if sel:
            groups.append(_group(sel, is_last, None))
    for step in sorted({r.step for r in rows}):
        for is_last in (True, False):
            sel = [r for r in rows if r.step == step and r.is_last == is_last]
            if sel:
                groups.append(_group(sel, is_last, step))
    inter = [r for r in rows if not r.is_last]
    by_step = {}
    for step in sorted({r.step for r in inter}):
        sel = [r.is_next_pred_correct for r in inter if r.step == step]
        by_step[step] = float(np.mean(sel))
    misses = [r for r in inter if r.never_predicted is not None]
    n_never = sum(bool(r.never_predicted) for r in misses)
    return StepSummary(
        groups=tuple(groups), n_rows=len(rows), n_intermediate=len(inter),
        second_next_rate=float(np.mean([r.is_next_pred_correct for r in inter])) if inter else NAN,
        second_next_rate_by_step=by_step, n_next_misses=len(misses), n_never_predicted=n_never,
        never_predicted_rate=n_never / len(misses) if misses else NAN,
    )


def analyze_steps(traces: Sequence[Trace], *, remove_none: bool = False) -> StepAnalysis:
    """Per-step confidence rows of all traces and their summary.

    Parameters
    ----------
    traces : sequence of Trace
    remove_none : bool, default=False
        Stop each example at its first step whose argmax is ``none`` (the reference's
        ``--remove-none``; see :func:`trace_step_rows`).

    Examples
    --------
    >>> t = Trace(id="a", candidates=("x", "y", "none"), step_labels=("x", "y"), predicted=("x", "y"),
    ...           step_probs=[[0.7, 0.2, 0.1], [0.1, 0.8, 0.1]])
    >>> a = analyze_steps([t])
    >>> a.summary.second_next_rate, a.rows[0].expected_next, a.rows[1].is_last
    (1.0, 'y', True)
    """
    rows: list[StepRow] = []
    n_empty = n_cut = 0
    for t in traces:
        n_empty += t.n_steps == 0
        r, cut = trace_step_rows(t, remove_none=remove_none)
        rows.extend(r)
        n_cut += cut
    return StepAnalysis(tuple(rows), summarize_steps(rows), len(traces), n_empty, n_cut, remove_none)
