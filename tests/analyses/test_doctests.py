"""The docstring examples of every analyses module run and pass."""

import doctest
import importlib

import pytest

MODULES = ["agreement", "attention", "findings", "intervals", "order", "spikiness", "steps", "trace"]


@pytest.mark.parametrize("name", MODULES)
def test_module_doctests(name):
    mod = importlib.import_module(f"labeldist.analyses.{name}")
    result = doctest.testmod(mod, verbose=False)
    assert result.failed == 0
    assert result.attempted > 0 or name == "intervals"
