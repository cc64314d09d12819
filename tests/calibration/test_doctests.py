"""The docstring examples of the calibration modules run and hold (they state hand-checked values)."""

import doctest
import importlib

import pytest

MODULES = ["calibrators", "recompute", "reliability", "selection", "storage", "thresholds"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    mod = importlib.import_module(f"labeldist.calibration.{name}")
    result = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
    if name in ("calibrators", "recompute", "reliability", "thresholds"):
        assert result.attempted > 0
