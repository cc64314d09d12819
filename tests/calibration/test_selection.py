"""The stated selection rule: lowest 5-fold CV NLL, ties to the simpler calibrator, winner refitted on all dev."""

import numpy as np
import pytest

from labeldist.calibration import (
    CANDIDATE_ORDER,
    RULE,
    CalibrationInput,
    IdentityCalibrator,
    IsotonicCalibrator,
    PlattCalibrator,
    cross_validated_nll,
    fold_indices,
    select_calibrator,
)
from labeldist.metrics import nll_loss
from tests.calibration.synthetic import make_split


def test_fold_indices_partition_the_examples_reproducibly():
    folds = fold_indices(23, 5, seed=3)
    assert sorted(np.concatenate(folds).tolist()) == list(range(23))
    assert sorted(len(f) for f in folds) == [4, 4, 5, 5, 5]  # 23 = 5 + 5 + 5 + 4 + 4
    assert all(np.array_equal(a, b) for a, b in zip(folds, fold_indices(23, 5, seed=3)))
    assert not all(np.array_equal(a, b) for a, b in zip(folds, fold_indices(23, 5, seed=4)))


def test_cv_nll_of_identity_is_the_raw_nll():
    dev = make_split(100, 0, n_annotators=5)
    assert cross_validated_nll(IdentityCalibrator(), dev.reported, dev.q) == pytest.approx(
        nll_loss(dev.q, dev.reported), abs=1e-12)


def test_cv_nll_predicts_each_fold_from_the_others():
    dev = make_split(60, 1, n_annotators=5)
    folds = fold_indices(60, 5, seed=0)
    oof = np.empty_like(dev.q)
    for k, test_idx in enumerate(folds):
        train = np.sort(np.concatenate([f for j, f in enumerate(folds) if j != k]))
        oof[test_idx] = PlattCalibrator().fit(dev.reported[train], dev.q[train]).transform(dev.reported[test_idx])
    assert cross_validated_nll(PlattCalibrator(), dev.reported, dev.q) == pytest.approx(nll_loss(dev.q, oof), abs=1e-12)


def test_selection_picks_identity_on_calibrated_data_with_exact_targets():
    dev = make_split(300, 2, calibrated=True)
    sel = select_calibrator(dev.inputs(), dev.q)
    assert tuple(sel.cv_nll) == CANDIDATE_ORDER
    # temperature keeps T = 1 in every fold, so it ties identity exactly; the tie goes to "none"
    assert sel.cv_nll["temperature"] == pytest.approx(sel.cv_nll["none"], abs=1e-12)
    assert sel.name == "none" and isinstance(sel.calibrator, IdentityCalibrator) and sel.rule == RULE


def test_selection_mostly_picks_identity_on_calibrated_noisy_data_and_never_hurts():
    picks = []
    for seed in range(10):
        dev = make_split(300, 10 + seed, n_annotators=5, calibrated=True)
        test = make_split(2000, 100 + seed, n_annotators=5, calibrated=True)
        sel = select_calibrator(dev.inputs(), dev.q)
        picks.append(sel.name)
        # whatever wins by CV noise costs at most 0.01 nats on fresh data
        assert nll_loss(test.q, sel.calibrator.transform(test.inputs())) <= nll_loss(test.q, test.reported) + 0.01
    # measured 6 of 10 (the others: platt 2, temperature 2, each within noise of identity on test data)
    assert picks.count("none") >= 5, picks


def test_selection_never_picks_identity_on_miscalibrated_data():
    for seed in range(5):
        dev = make_split(300, 20 + seed, n_annotators=5)
        test = make_split(2000, 200 + seed, n_annotators=5)
        sel = select_calibrator(dev.inputs(), dev.q)
        assert sel.name != "none"
        assert sel.cv_nll[sel.name] == min(sel.cv_nll.values())
        assert nll_loss(test.q, sel.calibrator.transform(test.inputs())) <= nll_loss(test.q, test.true) + 0.02


def test_without_recompute_temperature_is_not_a_candidate():
    dev = make_split(300, 3, n_annotators=5)
    sel = select_calibrator(dev.reported, dev.q)
    assert tuple(sel.cv_nll) == ("none", "platt", "isotonic")
    assert sel.name == "platt"  # the Platt family contains the truth σ(2z)


def test_winner_is_refitted_on_all_of_dev():
    dev = make_split(300, 4, n_annotators=5)
    sel = select_calibrator(dev.reported, dev.q, candidates=["platt"])
    ref = PlattCalibrator().fit(dev.reported, dev.q)
    np.testing.assert_array_equal(sel.calibrator.coef_, ref.coef_)
    np.testing.assert_array_equal(sel.calibrator.intercept_, ref.intercept_)


def test_forcing_a_name_skips_cross_validation():
    dev = make_split(300, 5, n_annotators=5, calibrated=True)
    sel = select_calibrator(dev.inputs(), dev.q, calibrator="isotonic")
    assert sel.name == "isotonic" and isinstance(sel.calibrator, IsotonicCalibrator)
    assert sel.cv_nll == {} and sel.rule == "forced: isotonic"


def test_selection_on_gold_targets_and_single_label_sets():
    dev = make_split(300, 6, n_annotators=1)  # one annotator: q is 0/1, as gold
    assert set(np.unique(dev.q)) == {0.0, 1.0}
    assert select_calibrator(dev.inputs(), dev.q).name != "none"
    cat = make_split(300, 7, n_annotators=5, multilabel=False)
    sel = select_calibrator(cat.inputs(), cat.q, multilabel=False)
    assert sel.name == "temperature"  # the softmax(z/T) family contains the truth
    assert sel.calibrator.temperature_ == pytest.approx(0.5, abs=0.05)


def test_cv_folds_may_lack_a_labels_positives():
    rng = np.random.default_rng(8)
    p = rng.random((20, 2))
    q = np.zeros((20, 2))
    q[:, 0] = rng.integers(0, 2, 20)
    q[3, 1] = 1.0  # a single positive: one fold's training part has none, still finite
    sel = select_calibrator(CalibrationInput(p), q)
    assert all(np.isfinite(v) for v in sel.cv_nll.values())
