"""Platt scaling with soft targets."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from labeldist.errors import LabeldistError
from labeldist.calibration.platt import PlattScaler


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def test_recovers_parameters_of_soft_targets_exactly():
    x = np.linspace(-4, 4, 50).reshape(10, 5)  # (n_examples, n_labels), pooled
    q = _sigmoid(0.7 * x + 0.3)
    m = PlattScaler(alpha=0.0).fit(x, q)
    assert m.coef_ == pytest.approx(0.7, abs=1e-8) and m.intercept_ == pytest.approx(0.3, abs=1e-8)
    assert m.n_iter_ < 20


def test_is_the_bce_minimum():
    rng = np.random.default_rng(0)
    x, q = rng.normal(size=200), rng.integers(0, 5, size=200) / 4

    def loss(w, b):
        p = _sigmoid(w * x + b)
        return -np.mean(q * np.log(p) + (1 - q) * np.log(1 - p))

    m = PlattScaler(alpha=0.0).fit(x, q)
    best = loss(m.coef_, m.intercept_)
    for dw, db in [(1e-3, 0), (-1e-3, 0), (0, 1e-3), (0, -1e-3)]:
        assert loss(m.coef_ + dw, m.intercept_ + db) > best


def test_predict_proba_keeps_shape_and_is_deterministic():
    x = np.array([[-1.0, 0.0], [2.0, 3.0]])
    m = PlattScaler().fit(x, [[0.0, 0.25], [0.75, 1.0]])
    p = m.predict_proba(x)
    assert p.shape == (2, 2) and np.all((p > 0) & (p < 1))
    np.testing.assert_array_equal(p, PlattScaler().fit(x, [[0.0, 0.25], [0.75, 1.0]]).predict_proba(x))
    np.testing.assert_allclose(p, _sigmoid(m.coef_ * x + m.intercept_))


def test_separable_hard_targets_stay_finite():
    m = PlattScaler().fit([-2.0, -1.0, 1.0, 2.0], [0.0, 0.0, 1.0, 1.0])
    assert np.isfinite(m.coef_) and m.coef_ > 0


def test_sklearn_conventions():
    m = PlattScaler(alpha=0.1)
    with pytest.raises(NotFittedError):
        m.predict_proba([0.0])
    assert clone(m).get_params() == {"alpha": 0.1, "max_iter": 100, "tol": 1e-10}


def test_bad_input():
    with pytest.raises(LabeldistError, match="targets must be in"):
        PlattScaler().fit([0.0, 1.0], [0.5, 1.5])
    with pytest.raises(LabeldistError, match="equal, non-empty"):
        PlattScaler().fit([0.0, 1.0], [0.5])
