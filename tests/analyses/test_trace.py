"""Trace validation and construction from logits."""

import numpy as np
import pytest

from labeldist.analyses import Trace
from labeldist.errors import LabeldistError
from tests.analyses.helpers import CANDS, trace


def test_from_logits_is_softmax_and_arrays_are_read_only():
    t = Trace.from_logits(id="x", candidates=CANDS, step_logits=[[np.log(2), 0.0, 0.0, np.log(4)]],
                          step_labels=("none",), predicted=(), human=[0.5, 0.0, 1.0])
    np.testing.assert_allclose(t.step_probs, [[0.25, 0.125, 0.125, 0.5]])
    assert t.labels == ("a", "b", "c") and t.n_steps == 1
    with pytest.raises(ValueError):
        t.step_probs[0, 0] = 1.0
    with pytest.raises(ValueError):
        t.human[0] = 0.0


def test_zero_steps_are_allowed():
    t = Trace.from_logits(id="x", candidates=CANDS, step_logits=[], step_labels=(), predicted=())
    assert t.step_probs.shape == (0, 4) and t.n_steps == 0


@pytest.mark.parametrize("kwargs, match", [
    (dict(probs=[[0.5, 0.5, 0.5, 0.0]], predicted=()), "sums to"),
    (dict(probs=[[0.5, 0.5, 0.0]], predicted=()), "shape"),
    (dict(probs=[[1.0, 0, 0, 0]], predicted=("none",)), "not a real label"),
    (dict(probs=[[1.0, 0, 0, 0]], predicted=("a", "a")), "repeat"),
    (dict(probs=[[1.0, 0, 0, 0]], predicted=("a",), gold=("z",)), "gold label"),
    (dict(probs=[[1.0, 0, 0, 0]], predicted=("a",), step_labels=("a", "b")), "step_labels"),
    (dict(probs=[[1.0, 0, 0, 0]], predicted=("a",), step_labels=("z",)), "not a candidate"),
    (dict(probs=[[1.0, 0, 0]], predicted=("a",), candidates=("a", "b", "c")), "must end with"),
    (dict(probs=[[1.0, 0, 0, 0]], predicted=("a",), multilabel=False), "single-label"),
])
def test_invalid_traces_name_the_problem(kwargs, match):
    probs = kwargs.pop("probs")
    predicted = kwargs.pop("predicted")
    with pytest.raises(LabeldistError, match=match):
        trace("x", probs, predicted, **kwargs)


def test_single_label_trace_has_no_none():
    t = trace("x", [[0.7, 0.3]], ("a",), candidates=("a", "b"), multilabel=False)
    assert t.labels == ("a", "b")


def test_first_occurrences_keeps_each_candidates_first_step():
    probs = [[0.7, 0.1, 0.1, 0.1], [0.1, 0.7, 0.1, 0.1], [0.6, 0.2, 0.1, 0.1], [0.1, 0.1, 0.1, 0.7]]
    t = trace("x", probs, ("a", "b"))
    f = t.first_occurrences()
    assert f.step_labels == ("a", "b", "none")
    np.testing.assert_array_equal(f.step_probs, np.array(probs)[[0, 1, 3]])
    assert f.predicted == t.predicted and f.id == "x"
