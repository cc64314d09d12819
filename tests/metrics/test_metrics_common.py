"""Properties every registered metric must have (as scikit-learn's metrics/tests/test_common.py)."""

import numpy as np
import pytest

from labeldist.errors import LabeldistError
from labeldist.metrics import METRICS, metric_values

RNG = np.random.default_rng(0)
N, L = 30, 5
HUMAN = RNG.integers(0, 5, size=(N, L)) / 4  # fractions of 4 annotators
GOLD = (HUMAN >= 0.5).astype(float)
PRED = RNG.random((N, L))
# single-label: vote shares and one-hot gold; distinct predictions so argmax has no ties
SL_HUMAN = RNG.dirichlet(np.ones(L), size=N)
SL_GOLD = np.eye(L)[SL_HUMAN.argmax(1)]
SL_PRED = RNG.dirichlet(np.ones(L), size=N)


def _target(spec, multilabel=True):
    if multilabel:
        return HUMAN if spec.target == "human" else GOLD
    return SL_HUMAN if spec.target == "human" else SL_GOLD


@pytest.mark.parametrize("name", list(METRICS))
@pytest.mark.parametrize("multilabel", [True, False])
def test_invariant_under_permuting_labels(name, multilabel):
    spec = METRICS[name]
    t = _target(spec, multilabel)
    p = PRED if multilabel else SL_PRED
    perm = RNG.permutation(L)
    assert spec.func(t[:, perm], p[:, perm], multilabel=multilabel) == pytest.approx(
        spec.func(t, p, multilabel=multilabel))


@pytest.mark.parametrize("name", list(METRICS))
def test_invariant_under_permuting_examples(name):
    spec = METRICS[name]
    perm = RNG.permutation(N)
    assert spec.func(_target(spec)[perm], PRED[perm]) == pytest.approx(spec.func(_target(spec), PRED))


@pytest.mark.parametrize("name", list(METRICS))
def test_weighted_form_with_unit_weights_equals_the_function(name):
    spec = METRICS[name]
    for multilabel in (True, False):
        t = _target(spec, multilabel)
        p = PRED if multilabel else SL_PRED
        v = metric_values(name, t, p, np.ones((1, N)), multilabel=multilabel)
        assert v.shape == (1,)
        assert v[0] == pytest.approx(spec.func(t, p, multilabel=multilabel))


@pytest.mark.parametrize("name", list(METRICS))
def test_integer_weights_equal_repeating_examples(name):
    spec = METRICS[name]
    w = np.array([RNG.integers(0, 3, size=N)], dtype=float)
    rep = np.repeat(np.arange(N), w[0].astype(int))
    t = _target(spec)
    assert metric_values(name, t, PRED, w)[0] == pytest.approx(spec.func(t[rep], PRED[rep]))


@pytest.mark.parametrize("name", list(METRICS))
def test_registry_entry_is_consistent(name):
    spec = METRICS[name]
    assert spec.name == name and spec.target in ("human", "gold") and spec.level in ("example", "label", "corpus")
    suffix = spec.func.__name__.rsplit("_", 1)[-1]
    assert (suffix == "score") == spec.greater_is_better  # sklearn naming: *_score up, *_loss/*_error down
    assert spec.func.__doc__ and ">>>" in spec.func.__doc__
    if spec.level == "example":
        assert spec.func(_target(spec), PRED, reduce="none").shape == (N,)
    elif spec.level == "label":
        assert spec.func(_target(spec), PRED, reduce="none").shape == (L,)
    else:
        with pytest.raises(LabeldistError, match="reduce"):
            spec.func(_target(spec), PRED, reduce="none")


@pytest.mark.parametrize("name", list(METRICS))
def test_perfect_prediction_beats_uniform(name):
    spec = METRICS[name]
    t = _target(spec)
    good, bad = spec.func(t, GOLD if spec.target == "gold" else HUMAN), spec.func(t, np.full((N, L), 0.3))
    assert good > bad if spec.greater_is_better else good < bad


@pytest.mark.parametrize("name", list(METRICS))
@pytest.mark.parametrize(
    "pred, match",
    [
        (np.full((N, L + 1), 0.5), r"shape \(30, 5\) but pred_probs has shape \(30, 6\)"),
        (np.where(np.arange(N * L).reshape(N, L) == 7, np.nan, 0.5), r"pred_probs at example index 1, label 2 is nan"),
        (np.where(np.arange(N * L).reshape(N, L) == 13, 1.5, 0.5), r"pred_probs at example index 2, label 3 is 1.5"),
        (np.full(N, 0.5), r"pred_probs must have shape \(n_examples, n_labels\)"),
    ],
)
def test_bad_predictions_are_rejected_naming_argument_and_example(name, pred, match):
    spec = METRICS[name]
    with pytest.raises(LabeldistError, match=match):
        spec.func(_target(spec), pred)


def test_bad_targets_are_rejected():
    with pytest.raises(LabeldistError, match=r"human_probs at example index 0, label 0 is -0.1"):
        METRICS["nll"].func(np.where(np.eye(N, L) == 1, -0.1, 0.0), PRED)
    with pytest.raises(LabeldistError, match=r"gold at example index 0, label 0 is 0.5, not 0 or 1"):
        METRICS["example_f1"].func(np.full((N, L), 0.5), PRED)
