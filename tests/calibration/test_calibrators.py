"""Each calibrator on data with a known miscalibration (true σ(2z), reported σ(z)); isotonic monotonicity; round trips.

Fitted on a dev split of 2000 items, scored on a separate test split of 2000 drawn the same way.
Tolerances, on the test split, against the oracle that predicts the true probabilities:

* targets q = the true probabilities: NLL within 1e-6 (Platt, temperature) or 1e-5 (isotonic,
  a step function) of the oracle's (measured: 1e-10, 1e-15, 2e-7), pooled ECE below 1e-3. The
  raw method is 0.14 nats and 0.10 ECE away.
* q = mean of 5 Bernoulli annotators: NLL within 0.005 of the oracle's for Platt and temperature
  (measured 4e-4, -8e-5) and within 0.02 for isotonic, which fits some of the annotator noise
  with 2000 dev items (measured 0.012); pooled ECE within 0.01 of the oracle's own ECE (not 0:
  q is noisy; measured at most +0.003).
* single-label (categorical, 3 classes): temperature within 1e-4 of the oracle's NLL; per-label
  Platt and isotonic then renormalised are not the softmax family, within 0.01 (measured 1e-3;
  raw is 0.078 away).
"""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.isotonic import IsotonicRegression

from labeldist.calibration import (
    ISOTONIC_EPS,
    CalibrationInput,
    Calibrator,
    IdentityCalibrator,
    IsotonicCalibrator,
    PlattCalibrator,
    TemperatureCalibrator,
    expected_calibration_error,
)
from labeldist.errors import LabeldistError
from labeldist.metrics import nll_loss
from tests.calibration.synthetic import make_split, sigmoid, softmax

FITTED = [PlattCalibrator, IsotonicCalibrator, TemperatureCalibrator]
NLL_TOL_EXACT = {"platt": 1e-6, "temperature": 1e-6, "isotonic": 1e-5}
NLL_TOL_NOISY = {"platt": 0.005, "temperature": 0.005, "isotonic": 0.02}


def _fit_and_score(cls, *, n_annotators, multilabel=True):
    dev = make_split(2000, 0, n_annotators=n_annotators, multilabel=multilabel)
    test = make_split(2000, 1, n_annotators=n_annotators, multilabel=multilabel)
    cal = cls().fit(dev.inputs(), dev.q, multilabel=multilabel)
    p = cal.transform(test.inputs())
    return cal, test, p


@pytest.mark.parametrize("cls", FITTED)
def test_calibration_reaches_the_oracle_with_exact_targets(cls):
    cal, test, p = _fit_and_score(cls, n_annotators=None)
    oracle = nll_loss(test.q, test.true)
    assert nll_loss(test.q, test.reported) > oracle + 0.1  # the miscalibration is real
    assert expected_calibration_error(test.reported, test.q) > 0.05
    assert nll_loss(test.q, p) == pytest.approx(oracle, abs=NLL_TOL_EXACT[cal.name])
    assert expected_calibration_error(p, test.q) < 1e-3


@pytest.mark.parametrize("cls", FITTED)
def test_calibration_reaches_the_oracle_with_five_annotators(cls):
    cal, test, p = _fit_and_score(cls, n_annotators=5)
    oracle_nll, oracle_ece = nll_loss(test.q, test.true), expected_calibration_error(test.true, test.q)
    assert nll_loss(test.q, p) <= oracle_nll + NLL_TOL_NOISY[cal.name]
    assert expected_calibration_error(p, test.q) <= oracle_ece + 0.01
    assert expected_calibration_error(p, test.q, reduce="mean") <= \
        expected_calibration_error(test.true, test.q, reduce="mean") + 0.01


def test_temperature_recovers_one_half():
    exact, _, _ = _fit_and_score(TemperatureCalibrator, n_annotators=None)
    noisy, _, _ = _fit_and_score(TemperatureCalibrator, n_annotators=5)
    assert exact.temperature_ == pytest.approx(0.5, abs=1e-4)
    assert noisy.temperature_ == pytest.approx(0.5, abs=0.02)
    assert exact.n_evals_ < 60


def test_temperature_is_the_grid_minimum_and_never_worse_than_raw():
    dev = make_split(500, 3, n_annotators=5)
    cal = TemperatureCalibrator().fit(dev.inputs(), dev.q)
    grid = np.exp(np.linspace(np.log(0.05), np.log(20), 400))
    nll = [nll_loss(dev.q, sigmoid(dev.z / t)) for t in grid]
    assert cal.dev_nll_ <= min(nll) + 1e-9
    assert cal.dev_nll_ <= nll_loss(dev.q, dev.reported)
    assert cal.dev_nll_ == pytest.approx(nll_loss(dev.q, cal.transform(dev.inputs())), abs=1e-12)


def test_temperature_keeps_one_when_already_calibrated():
    dev = make_split(300, 4, calibrated=True)  # exact targets: T = 1 is the exact minimum
    cal = TemperatureCalibrator().fit(dev.inputs(), dev.q)
    assert cal.temperature_ == 1.0
    np.testing.assert_array_equal(cal.transform(dev.inputs()), dev.reported)


def test_platt_recovers_the_slope_two():
    cal, _, _ = _fit_and_score(lambda: PlattCalibrator(alpha=0.0), n_annotators=None)
    np.testing.assert_allclose(cal.coef_, 2.0, atol=1e-6)
    np.testing.assert_allclose(cal.intercept_, 0.0, atol=1e-6)


def test_platt_on_scores_equals_platt_on_logit_probs():
    dev = make_split(300, 5, n_annotators=5)
    on_p = PlattCalibrator().fit(dev.reported, dev.q)
    on_s = PlattCalibrator(on="scores").fit(CalibrationInput(dev.reported, scores=dev.z), dev.q)
    np.testing.assert_allclose(on_s.coef_, on_p.coef_, rtol=1e-6)
    np.testing.assert_allclose(on_s.intercept_, on_p.intercept_, atol=1e-6)
    with pytest.raises(LabeldistError, match="got no scores"):
        PlattCalibrator(on="scores").fit(dev.reported, dev.q)


@pytest.mark.parametrize("cls", [PlattCalibrator, IsotonicCalibrator, TemperatureCalibrator])
def test_single_label_calibration_reaches_the_categorical_oracle(cls):
    cal, test, p = _fit_and_score(cls, n_annotators=None, multilabel=False)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-12)  # renormalised rows
    oracle = nll_loss(test.q, test.true, multilabel=False)
    assert nll_loss(test.q, test.reported, multilabel=False) > oracle + 0.05
    # per-label Platt/isotonic + renormalisation is not the softmax family: looser bound
    tol = 1e-4 if cal.name == "temperature" else 0.01
    assert nll_loss(test.q, p, multilabel=False) == pytest.approx(oracle, abs=tol)
    if cal.name == "temperature":
        assert cal.temperature_ == pytest.approx(0.5, abs=1e-4)


def test_identity_returns_the_raw_values_even_below_the_minimum():
    p = np.array([[0.2, 0.7], [0.9, 0.1]])
    cal = IdentityCalibrator().fit(p, np.array([[0.0, 1.0], [1.0, 0.0]]), multilabel=False)
    np.testing.assert_array_equal(cal.transform(p), p)  # single-label: no renormalisation either


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(20, 60))
def test_isotonic_output_is_monotone_and_matches_sklearn(seed, n):
    rng = np.random.default_rng(seed)
    p = np.round(rng.random((n, 2)), 2)  # rounding makes ties in p
    q = rng.integers(0, 4, (n, 2)) / 3
    q[0], q[1] = 0.0, 1.0  # both sides present
    cal = IsotonicCalibrator().fit(p, q)
    grid = np.linspace(-0.0, 1.0, 501)
    out = cal.transform(np.column_stack([grid, grid]))
    assert np.all(np.diff(out, axis=0) >= 0)
    assert out.min() >= ISOTONIC_EPS and out.max() <= 1 - ISOTONIC_EPS
    for j in range(2):
        ref = IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(p[:, j], q[:, j]).predict(grid)
        np.testing.assert_allclose(out[:, j], np.clip(ref, ISOTONIC_EPS, 1 - ISOTONIC_EPS), atol=1e-12)


def test_isotonic_clip_keeps_nll_finite_on_an_unseen_class():
    p = np.linspace(0.01, 0.99, 40)[:, None]
    q = (p > 0.5).astype(float)  # perfectly separated: the fit is exactly 0 below, 1 above
    cal = IsotonicCalibrator().fit(p, q)
    out = cal.transform(np.array([[0.02], [0.98]]))
    np.testing.assert_allclose(out.ravel(), [ISOTONIC_EPS, 1 - ISOTONIC_EPS])
    # an item of the other class costs -log(1e-6) = 13.8 nats, not infinity
    assert nll_loss([[1.0]], out[:1]) == pytest.approx(-np.log(ISOTONIC_EPS))


@pytest.mark.parametrize("multilabel", [True, False])
@pytest.mark.parametrize("cls", [IdentityCalibrator, PlattCalibrator, IsotonicCalibrator, TemperatureCalibrator])
def test_json_round_trip_gives_identical_transforms(cls, multilabel):
    dev = make_split(200, 6, n_annotators=5, multilabel=multilabel)
    test = make_split(50, 7, n_annotators=5, multilabel=multilabel)
    cal = cls().fit(dev.inputs(), dev.q, multilabel=multilabel)
    back = Calibrator.from_dict(json.loads(json.dumps(cal.to_dict())))
    assert type(back) is cls and back.get_params() == cal.get_params()
    np.testing.assert_array_equal(back.transform(test.inputs()), cal.transform(test.inputs()))


def test_softmax_helper_is_a_distribution():  # guards the synthetic single-label data itself
    z = np.array([[0.0, np.log(3.0)]])
    np.testing.assert_allclose(softmax(z), [[0.25, 0.75]])
