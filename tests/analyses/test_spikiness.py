"""Sorted first-step distributions with `none` removed, and the reference filter."""

import numpy as np
import pytest

from labeldist.analyses import first_step_spikiness
from labeldist.errors import LabeldistError
from tests.analyses.helpers import trace

KEEP = trace("keep", [[0.25, 0.6, 0.05, 0.1], [0.0, 1.0, 0.0, 0.0]], ("b",))
LOW = trace("low", [[0.2, 0.2, 0.1, 0.5]], ())            # top without none is 0.2 < 0.3
NOPRED = trace("nopred", [[0.9, 0.05, 0.05, 0.0]], ())    # spiky but nothing parsed
EMPTY = trace("empty", np.zeros((0, 4)), ())


def test_first_step_sorted_without_none_and_not_renormalised():
    s = first_step_spikiness([KEEP, LOW, NOPRED, EMPTY])
    assert s.example_ids == ("keep",)
    np.testing.assert_allclose(s.sorted_probs, [[0.6, 0.25, 0.05]])
    assert s.sorted_probs.sum() == pytest.approx(0.9)  # none's 0.1 is not redistributed
    assert (s.n_skipped_no_steps, s.n_skipped_low_top, s.n_skipped_no_prediction) == (1, 1, 1)
    assert s.filtered and "top < 0.3: 1" in s.description and "no predicted label: 1" in s.description
    np.testing.assert_allclose(s.mean_by_rank(), [0.6, 0.25, 0.05])


def test_filter_can_be_switched_off_and_tuned():
    s = first_step_spikiness([KEEP, LOW, NOPRED, EMPTY], filter=False)
    assert s.example_ids == ("keep", "low", "nopred") and "no top/prediction filter" in s.description
    np.testing.assert_allclose(s.sorted_probs[1], [0.2, 0.2, 0.1])
    s = first_step_spikiness([KEEP, LOW, NOPRED], min_top=0.15, require_prediction=False)
    assert s.example_ids == ("keep", "low", "nopred")


def test_mixed_candidate_sets_are_rejected():
    other = trace("o", [[0.5, 0.5]], ("a",), candidates=("a", "b"), multilabel=False)
    with pytest.raises(LabeldistError, match="candidate"):
        first_step_spikiness([KEEP, other])
