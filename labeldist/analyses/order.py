"""Generation order of the predicted labels: accuracy by order (Fig 5), instruction-order agreement
(Table 7) and the multi-label output rate (Fig 6).

The order of a label is its place in ``Trace.predicted``, which is in generation order. The
reference instead sorted the parsed labels by ``output_text.find(label)``, a substring search that
misorders labels contained in other words (``care`` in ``scared``); that is never done here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, Sequence

import numpy as np

from labeldist.analyses.trace import Trace
from labeldist.errors import LabeldistError

MultilabelRule = Literal["reference", "predicted"]


# ---------------------------------------------------------------- accuracy by generation order (Fig 5)

@dataclass(frozen=True)
class OrderRow:
    """One example with >= 2 predicted labels: its first ``max_rank`` labels and whether each is gold."""

    example_id: str
    labels: tuple[str, ...]
    hits: tuple[bool, ...]


@dataclass(frozen=True)
class OrderAccuracy:
    """acc_r = share of the r-th generated labels that are gold, for the kept ranks r (1-based).

    ``counts[r]`` examples have an r-th label. Ranks with ``counts[r] < min_count`` are left out of
    ``accuracy`` and listed in ``dropped_ranks``. ``n_*`` count the examples not used.
    """

    rows: tuple[OrderRow, ...]
    accuracy: dict[int, float]
    counts: dict[int, int]
    dropped_ranks: tuple[int, ...]
    n_examples: int
    n_without_gold: int
    n_too_few_labels: int
    n_without_steps: int
    max_rank: int
    min_count: int


def order_accuracy(traces: Sequence[Trace], *, max_rank: int = 3, min_count: int = 11,
                   require_steps: bool = True) -> OrderAccuracy:
    """Accuracy of the r-th generated label, r = 1..``max_rank``, over examples with >= 2 predicted labels.

    acc_r = (1 / N_r) Σ_{examples with an r-th label} 1[r-th label ∈ gold], N_r = ``counts[r]``.

    Parameters
    ----------
    traces : sequence of Trace
        Examples without gold (``gold is None``) are skipped and counted.
    max_rank : int, default=3
    min_count : int, default=11
        Ranks with fewer examples are dropped (the reference keeps ranks with count > 10); 0 keeps all.
    require_steps : bool, default=True
        Skip examples with no label step, as the reference (it required non-empty scores).

    Examples
    --------
    >>> t = Trace(id="a", candidates=("x", "y", "none"), step_probs=[[.9, .05, .05], [.1, .8, .1]],
    ...           step_labels=("x", "y"), predicted=("x", "y"), gold=("x",))
    >>> order_accuracy([t], min_count=0).accuracy
    {1: 1.0, 2: 0.0}
    """
    if max_rank < 1:
        raise LabeldistError(f"max_rank={max_rank} must be >= 1", "use e.g. max_rank=3")
    rows = []
    n_gold = n_few = n_empty = 0
    for t in traces:
        if t.gold is None:
            n_gold += 1
        elif len(t.predicted) < 2:
            n_few += 1
        elif require_steps and t.n_steps == 0:
            n_empty += 1
        else:
            labels = t.predicted[:max_rank]
            rows.append(OrderRow(t.id, labels, tuple(l in t.gold for l in labels)))
    if traces and n_gold == len(traces):
        raise LabeldistError("no example has gold labels", "order accuracy needs gold aggregate labels")
    counts, accuracy, dropped = {}, {}, []
    for r in range(1, max_rank + 1):
        hits = [row.hits[r - 1] for row in rows if len(row.hits) >= r]
        counts[r] = len(hits)
        if hits and len(hits) >= min_count:
            accuracy[r] = float(np.mean(hits))
        else:
            dropped.append(r)
    return OrderAccuracy(tuple(rows), accuracy, counts, tuple(dropped), len(traces), n_gold, n_few, n_empty,
                         max_rank, min_count)


# ---------------------------------------------------------------- instruction-order agreement (Table 7)

@dataclass(frozen=True)
class OrderAgreementRow:
    """One example with >= 2 predicted labels: in instruction order or not, and its concordant pairs."""

    example_id: str
    n_labels: int
    in_order: bool
    n_pairs: int
    n_concordant: int


@dataclass(frozen=True)
class OrderAgreement:
    """How often generated labels follow a given label order (e.g. the instruction's, or alphabetical).

    ``share_in_order`` = share of examples (with >= 2 predicted labels) whose labels appear in
    ``order``'s order. ``concordance`` = share of generated label pairs (a before b) with a before b
    in ``order``, pooled over examples (chance: 0.5). ``chance_share`` = mean over the same examples
    of 1/k! (k = number of labels), the in-order share of a uniformly random generation order.
    """

    order: tuple[str, ...]
    rows: tuple[OrderAgreementRow, ...]
    n_examples: int
    n_in_order: int
    share_in_order: float
    n_pairs: int
    n_concordant: int
    concordance: float
    chance_share: float


def instruction_order_agreement(traces: Sequence[Trace], order: Sequence[str]) -> OrderAgreement:
    """Agreement of each example's generation order with ``order`` (Table 7).

    Parameters
    ----------
    traces : sequence of Trace
    order : sequence of str
        The label order to compare with: the labels as listed in the instruction, or
        ``sorted(labels)`` for "alphabetical". Every predicted label must be in it.

    Examples
    --------
    >>> t = Trace(id="a", candidates=("x", "y", "z", "none"), step_probs=[[1, 0, 0, 0]] * 3,
    ...           step_labels=("x",) * 3, predicted=("x", "z", "y"))
    >>> a = instruction_order_agreement([t], ["x", "y", "z"])
    >>> a.share_in_order, a.n_concordant, a.n_pairs
    (0.0, 2, 3)
    """
    order = tuple(order)
    if len(set(order)) != len(order):
        raise LabeldistError(f"label order {list(order)!r} repeats a label", "list each label once")
    pos = {l: i for i, l in enumerate(order)}
    rows = []
    for t in traces:
        if len(t.predicted) < 2:
            continue
        missing = [l for l in t.predicted if l not in pos]
        if missing:
            raise LabeldistError(f"trace {t.id!r}: predicted labels {missing!r} are not in the label order",
                                 "pass the full label order shown in the instruction")
        idx = [pos[l] for l in t.predicted]
        k = len(idx)
        conc = sum(idx[a] < idx[b] for a in range(k) for b in range(a + 1, k))
        rows.append(OrderAgreementRow(t.id, k, idx == sorted(idx), k * (k - 1) // 2, conc))
    n, n_in = len(rows), sum(r.in_order for r in rows)
    pairs, conc = sum(r.n_pairs for r in rows), sum(r.n_concordant for r in rows)
    chance = float(np.mean([1 / math.factorial(r.n_labels) for r in rows])) if rows else math.nan
    return OrderAgreement(order, tuple(rows), n, n_in, n_in / n if n else math.nan, pairs, conc,
                          conc / pairs if pairs else math.nan, chance)


# ---------------------------------------------------------------- multi-label output rate (Fig 6)

def is_multilabel_output(trace: Trace, rule: MultilabelRule = "reference") -> bool:
    """Whether the output counts as multi-label.

    ``"reference"``: max(n_steps, n_predicted) > 1 (the reference's rule; a repeated label or a
    ``none`` step after a label also counts). ``"predicted"``: n_predicted > 1.
    """
    if rule == "reference":
        return max(trace.n_steps, len(trace.predicted)) > 1
    if rule == "predicted":
        return len(trace.predicted) > 1
    raise LabeldistError(f"unknown multi-label rule {rule!r}", "use 'reference' or 'predicted'")


@dataclass(frozen=True)
class MultilabelRate:
    """Share of examples whose output is multi-label under ``rule``."""

    rate: float
    n_examples: int
    n_multilabel: int
    rule: str


def multilabel_output_rate(traces: Sequence[Trace], *, rule: MultilabelRule = "reference") -> MultilabelRate:
    """Multi-label output rate of one run (one point of Fig 6).

    Examples
    --------
    >>> t = Trace(id="a", candidates=("x", "y", "none"), step_probs=[[1., 0, 0], [0, 1., 0]],
    ...           step_labels=("x", "y"), predicted=("x", "y"))
    >>> multilabel_output_rate([t]).rate
    1.0
    """
    if not traces:
        raise LabeldistError("no traces to analyse", "pass at least one example")
    flags = [is_multilabel_output(t, rule) for t in traces]
    return MultilabelRate(sum(flags) / len(flags), len(flags), sum(flags), rule)
