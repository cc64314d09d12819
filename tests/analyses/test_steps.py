"""Per-step confidence, second-highest-next and never-predicted on hand-built traces."""

import math

import numpy as np
import pytest

from labeldist.analyses import analyze_steps, entropy_bits, summarize_steps
from tests.analyses.helpers import trace

# t1: three steps a, c, b. Step 1 ranks b second but c comes next (a miss; b is generated later).
#     Step 2 ranks b second ([.1, .2, .7, 0]) and b comes next (a hit). Step 3 is last.
T1 = trace("t1", [[0.6, 0.3, 0.1, 0.0], [0.1, 0.2, 0.7, 0.0], [0.05, 0.9, 0.05, 0.0]], ("a", "c", "b"))
# t2: two steps a, c. Step 1 ranks b second, c comes next, and b is never predicted.
T2 = trace("t2", [[0.5, 0.4, 0.1, 0.0], [0.1, 0.1, 0.8, 0.0]], ("a", "c"))


def test_entropy_in_bits():
    assert entropy_bits([0.5, 0.25, 0.25]) == 1.5
    assert entropy_bits([1.0, 0.0, 0.0]) == 0.0
    assert entropy_bits([0.25] * 4) == 2.0


def test_per_step_values_of_a_three_step_example():
    rows = analyze_steps([T1]).rows
    assert [r.step for r in rows] == [1, 2, 3] and [r.is_last for r in rows] == [False, False, True]
    r1, r2, r3 = rows
    assert (r1.top_label, r1.top_prob, r1.second_label, r1.second_prob) == ("a", 0.6, "b", 0.3)
    assert r1.ratio == pytest.approx(2.0)
    expected_h = -(0.6 * math.log2(0.6) + 0.3 * math.log2(0.3) + 0.1 * math.log2(0.1))
    assert r1.entropy_bits == pytest.approx(expected_h)
    # second-highest at step 1 is b; the argmax at step 2 is c: not next, but b is predicted later
    assert (r1.expected_next, r1.actual_next, r1.is_next_pred_correct, r1.never_predicted) == ("b", "c", False, False)
    assert r1.expected_next_prob == 0.3 and r1.expected_next_prob_next == 0.2
    assert r1.actual_next_prob_next == 0.7 and r1.actual_next_prob == 0.1
    # step 2: second-highest b is the argmax at step 3
    assert (r2.expected_next, r2.actual_next, r2.is_next_pred_correct, r2.never_predicted) == ("b", "b", True, None)
    assert r2.expected_next_prob_next == 0.9
    assert r3.expected_next is None and r3.is_next_pred_correct is None and math.isnan(r3.actual_next_prob)
    assert r3.ratio == pytest.approx(18.0)


def test_rates_over_two_examples():
    a = analyze_steps([T1, T2])
    s = a.summary
    assert s.n_intermediate == 3 and s.second_next_rate == pytest.approx(1 / 3)
    assert s.second_next_rate_by_step == {1: 0.0, 2: 1.0}
    # misses: t1 step 1 (b predicted later), t2 step 1 (b never predicted)
    assert (s.n_next_misses, s.n_never_predicted, s.never_predicted_rate) == (2, 1, 0.5)
    last = s.group(True)
    assert last.n == 2 and last.mean_top_prob == pytest.approx((0.9 + 0.8) / 2)
    inter1 = s.group(False, 1)
    assert inter1.n == 2 and inter1.mean_top_prob == pytest.approx(0.55)
    assert inter1.mean_second_prob == pytest.approx(0.35) and inter1.median_ratio == pytest.approx((2.0 + 1.25) / 2)
    assert s.group(True, 1) is None  # no example stopped after one label


def test_actual_next_prob_is_skipped_when_the_next_label_repeats_the_current_argmax():
    t = trace("t", [[0.6, 0.3, 0.1, 0.0], [0.8, 0.1, 0.1, 0.0]], ("a",))
    (r1, _) = analyze_steps([t]).rows
    assert r1.actual_next == "a" and math.isnan(r1.actual_next_prob)
    assert r1.never_predicted is True  # b is second, a comes next, b never predicted


def test_ties_keep_candidate_order_and_zero_second_gives_infinite_ratio():
    t = trace("t", [[0.4, 0.4, 0.2, 0.0]], ("a",))
    (r,) = analyze_steps([t]).rows
    assert (r.top_label, r.second_label, r.ratio) == ("a", "b", 1.0)
    (r,) = analyze_steps([trace("u", [[1.0, 0.0, 0.0, 0.0]], ("a",))]).rows
    assert r.ratio == math.inf and r.second_label == "b"


# t3: a, then a none-argmax step, then b. Step 2 ranks c second (0.15) but b comes next; c is never predicted.
T3 = trace("t3", [[0.7, 0.2, 0.0, 0.1], [0.1, 0.05, 0.15, 0.7], [0.1, 0.6, 0.2, 0.1]], ("a", "b"))


def test_never_predicted_without_remove_none():
    a = analyze_steps([T3])
    r1, r2, _ = a.rows
    assert (r1.expected_next, r1.actual_next, r1.never_predicted) == ("b", "none", False)
    assert (r2.expected_next, r2.actual_next, r2.never_predicted) == ("c", "b", True)
    assert (a.summary.n_next_misses, a.summary.n_never_predicted) == (2, 1)
    assert a.n_stopped_at_none == 0


def test_remove_none_stops_at_the_first_none_argmax_like_the_reference():
    a = analyze_steps([T3, T2], remove_none=True)
    t3_rows = [r for r in a.rows if r.example_id == "t3"]
    # the none step and everything after it is gone; step 1 stays intermediate and is compared with the none step
    assert len(t3_rows) == 1 and not t3_rows[0].is_last and t3_rows[0].n_steps == 3
    assert t3_rows[0].actual_next == "none"
    assert a.n_stopped_at_none == 1 and a.remove_none
    # misses now: t3 step 1 (b predicted later) and t2 step 1 (b never predicted)
    assert (a.summary.n_next_misses, a.summary.n_never_predicted) == (2, 1)
    assert analyze_steps([T3], remove_none=True).summary.never_predicted_rate == 0.0
    assert analyze_steps([T3]).summary.never_predicted_rate == 0.5


def test_remove_none_counts_a_tie_with_none_as_none():
    t = trace("t", [[0.45, 0.1, 0.0, 0.45], [1.0, 0.0, 0.0, 0.0]], ("a",), step_labels=("a", "a"))
    assert analyze_steps([t], remove_none=True).rows == ()


def test_expected_none_counts_as_never_predicted():
    t = trace("t", [[0.6, 0.0, 0.0, 0.4], [0.0, 0.9, 0.0, 0.1]], ("a", "b"))
    (r1, _) = analyze_steps([t]).rows
    assert r1.expected_next == "none" and r1.never_predicted is True


def test_empty_traces_and_summaries():
    empty = trace("e", np.zeros((0, 4)), ())
    a = analyze_steps([empty, T2])
    assert a.n_without_steps == 1 and a.n_examples == 2 and a.summary.n_rows == 2
    s = summarize_steps([])
    assert s.groups == () and math.isnan(s.second_next_rate) and math.isnan(s.never_predicted_rate)
