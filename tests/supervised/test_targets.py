"""target_matrix / default_target_kind on hand-written examples, and the package's lazy import."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from labeldist.errors import LabeldistError
from labeldist.records import Example, HumanDistribution, LabelSet
from labeldist.supervised.targets import default_target_kind, target_matrix

ML = LabelSet(("joy", "anger", "fear"))
SL = LabelSet(("negative", "neutral", "positive"), multilabel=False)


def test_soft_targets_are_the_human_fractions_and_items_without_them_are_dropped():
    exs = [Example("a", "t", gold=("joy",), human=HumanDistribution.from_annotations([["joy"], ["joy", "fear"]], ML)),
           Example("b", "t", gold=("anger",)),  # aggregate only
           Example("c", "t", gold=(), human=HumanDistribution((0.0, 0.25, 0.0), 4, "fractions"))]
    Y, keep = target_matrix(exs, ML, "soft")
    np.testing.assert_array_equal(Y, [[1.0, 0.0, 0.5], [0.0, 0.0, 0.0], [0.0, 0.25, 0.0]])
    np.testing.assert_array_equal(keep, [True, False, True])
    assert default_target_kind(exs) == "hard"
    assert default_target_kind([exs[0], exs[2]]) == "soft"
    Yh, keep_h = target_matrix(exs, ML, "hard")
    np.testing.assert_array_equal(Yh, [[1, 0, 0], [0, 1, 0], [0, 0, 0]])  # c: gold () = no label
    assert keep_h.all()


def test_single_label_hard_targets_drop_ties():
    exs = [Example("a", "t", gold=("positive",)), Example("b", "t", gold=("negative", "positive")),
           Example("c", "t", gold=None)]
    Y, keep = target_matrix(exs, SL, "hard")
    np.testing.assert_array_equal(Y[0], [0, 0, 1])
    np.testing.assert_array_equal(keep, [True, False, False])


def test_no_usable_target_is_an_error():
    with pytest.raises(LabeldistError, match="no item has annotator fractions.*use targets='hard'"):
        target_matrix([Example("a", "t", gold=("joy",))], ML, "soft")
    with pytest.raises(LabeldistError, match="unknown targets"):
        target_matrix([Example("a", "t", gold=("joy",))], ML, "gold")


def test_importing_the_package_loads_neither_torch_nor_sklearn():
    code = "import sys, labeldist.supervised; print('torch' in sys.modules, 'sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]
