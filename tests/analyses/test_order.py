"""Accuracy by generation order, instruction-order agreement and the multi-label output rate."""

import math

import pytest

from labeldist.analyses import instruction_order_agreement, is_multilabel_output, multilabel_output_rate, order_accuracy
from labeldist.errors import LabeldistError
from tests.analyses.helpers import trace

ONE = [[1.0, 0.0, 0.0, 0.0]]


def _t(id, predicted, gold, n_steps=None):
    n = len(predicted) if n_steps is None else n_steps
    return trace(id, ONE * n, predicted, gold=gold, step_labels=("a",) * n)


def test_order_accuracy_uses_generation_order():
    traces = [
        _t("1", ("b", "a"), ("a",)),          # 1st wrong, 2nd right
        _t("2", ("a", "b", "c"), ("a", "b")),  # right, right, wrong
        _t("3", ("c", "a"), ("c",)),          # right, wrong
        _t("4", ("a",), ("a",)),              # one label: not used
        _t("5", ("a", "b"), None),            # no gold: not used
        _t("6", ("a", "b"), ("a",), n_steps=0),  # no label step: not used by default
    ]
    res = order_accuracy(traces, min_count=0)
    assert res.accuracy == {1: pytest.approx(2 / 3), 2: pytest.approx(2 / 3), 3: 0.0}
    assert res.counts == {1: 3, 2: 3, 3: 1}
    assert (res.n_too_few_labels, res.n_without_gold, res.n_without_steps) == (1, 1, 1)
    assert [r.labels for r in res.rows][0] == ("b", "a")
    res = order_accuracy(traces, min_count=0, require_steps=False)
    assert res.counts[1] == 4 and res.accuracy[1] == pytest.approx(3 / 4)


def test_ranks_with_few_examples_are_dropped():
    traces = [_t(str(i), ("a", "b"), ("a",)) for i in range(11)] + [_t("x", ("a", "b", "c"), ("c",))]
    res = order_accuracy(traces)  # default keeps ranks seen in >= 11 examples (the reference's count > 10)
    assert res.accuracy == {1: pytest.approx(11 / 12), 2: 0.0} and res.dropped_ranks == (3,)
    assert res.counts[3] == 1
    assert order_accuracy(traces[:9] + traces[-1:]).accuracy == {}  # 10 examples: every rank dropped


def test_order_accuracy_needs_gold():
    with pytest.raises(LabeldistError, match="gold"):
        order_accuracy([_t("1", ("a", "b"), None)])


def test_instruction_order_agreement():
    order = ("c", "a", "b")  # as listed in the instruction
    traces = [
        _t("1", ("c", "a", "b"), None),   # in order: 3 concordant pairs of 3
        _t("2", ("a", "c"), None),        # reversed: 0 of 1
        _t("3", ("c", "b"), None),        # in order: 1 of 1
        _t("4", ("b", "c", "a"), None),   # (b,c) no, (b,a) no, (c,a) yes: 1 of 3
        _t("5", ("a",), None),            # one label: not counted
    ]
    a = instruction_order_agreement(traces, order)
    assert (a.n_examples, a.n_in_order, a.share_in_order) == (4, 2, 0.5)
    assert (a.n_pairs, a.n_concordant) == (8, 5) and a.concordance == pytest.approx(5 / 8)
    assert a.chance_share == pytest.approx((1 / 6 + 1 / 2 + 1 / 2 + 1 / 6) / 4)
    alpha = instruction_order_agreement(traces, sorted(order))
    assert alpha.n_in_order == 1 and alpha.n_concordant == 1 + 1 + 0 + 1


def test_instruction_order_errors_and_empty():
    with pytest.raises(LabeldistError, match="not in the label order"):
        instruction_order_agreement([_t("1", ("a", "b"), None)], ("a",))
    with pytest.raises(LabeldistError, match="repeats"):
        instruction_order_agreement([], ("a", "a"))
    a = instruction_order_agreement([_t("1", ("a",), None)], ("a", "b"))
    assert a.n_examples == 0 and math.isnan(a.share_in_order) and math.isnan(a.concordance)


def test_multilabel_output_rate_rules():
    traces = [
        _t("two", ("a", "b"), None),               # 2 steps, 2 labels
        _t("rep", ("a",), None, n_steps=2),        # a repeated label: 2 steps, 1 label
        _t("one", ("a",), None),
        _t("none", (), None, n_steps=0),
    ]
    assert [is_multilabel_output(t) for t in traces] == [True, True, False, False]
    r = multilabel_output_rate(traces)
    assert (r.rate, r.n_multilabel, r.n_examples, r.rule) == (0.5, 2, 4, "reference")
    assert multilabel_output_rate(traces, rule="predicted").rate == 0.25
    with pytest.raises(LabeldistError, match="rule"):
        is_multilabel_output(traces[0], "x")
