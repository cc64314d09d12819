"""Reliability curves and ECE: hand-computed values, agreement with macro_calibration_error, the PNG."""

import numpy as np
import pytest

from labeldist.calibration import (
    POOLED,
    expected_calibration_error,
    plot_reliability,
    reliability_curve,
    reliability_curves,
)
from labeldist.metrics import macro_calibration_error


def test_ece_on_four_points_by_hand():
    # bins: [0, .1): p .05, q 0 -> |.05| * 1/4; [.1, .2): p .15, .15, q .5, 0 -> |.15 - .25| * 2/4;
    # [.9, 1]: p 1.0 (closed last bin), q .8 -> |1 - .8| * 1/4  => .0125 + .05 + .05
    p, q = [0.05, 0.15, 0.15, 1.0], [0.0, 0.5, 0.0, 0.8]
    assert expected_calibration_error(p, q) == pytest.approx(0.1125, abs=1e-7)  # p=1 is clipped by 1e-8
    c = reliability_curve(p, q)
    assert c.count.tolist() == [1, 2, 0, 0, 0, 0, 0, 0, 0, 1]
    assert c.mean_pred[1] == pytest.approx(0.15) and c.mean_target[1] == pytest.approx(0.25)
    assert np.isnan(c.mean_pred[2]) and c.to_dict()["mean_pred"][2] is None
    np.testing.assert_allclose(c.edges, np.linspace(0, 1, 11))


def test_pooled_per_label_and_mean():
    p = np.array([[0.05, 0.95], [0.15, 0.85]])
    q = np.array([[0.0, 1.0], [1.0, 1.0]])
    per = expected_calibration_error(p, q, reduce="none")
    # label 0: (1/2)(.05) + (1/2)(.85) = .45; label 1: (1/2)(.05) + (1/2)(.15) = .1
    np.testing.assert_allclose(per, [0.45, 0.10])
    assert expected_calibration_error(p, q, reduce="mean") == pytest.approx(0.275)
    # pooled: bin 0 {.05|0}, bin 1 {.15|1}, bin 8 {.85|1}, bin 9 {.95|1} -> (.05 + .85 + .15 + .05) / 4
    assert expected_calibration_error(p, q) == pytest.approx(0.275)
    curves = reliability_curves(p, q, ["a", "b"], n_bins=5)
    assert list(curves) == ["a", "b", POOLED] and curves[POOLED].n == 4
    assert curves["a"].ece == pytest.approx(expected_calibration_error(p[:, 0], q[:, 0], n_bins=5))


def test_equals_macro_calibration_error_against_gold():
    rng = np.random.default_rng(0)
    p, gold = rng.random((200, 4)), (rng.random((200, 4)) < 0.3).astype(float)
    np.testing.assert_allclose(expected_calibration_error(p, gold, reduce="none"),
                               macro_calibration_error(gold, p, reduce="none"), atol=1e-12)


def test_plot_writes_a_png(tmp_path):
    rng = np.random.default_rng(1)
    p, q = rng.random((60, 7)), rng.random((60, 7))
    labels = [f"label{j}" for j in range(7)]
    before = reliability_curves(p, q, labels)
    after = reliability_curves(np.sqrt(p), q, labels)
    out = plot_reliability(before, after, tmp_path / "figs" / "rel.png", "demo")
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    assert plot_reliability(before, None, tmp_path / "raw.png", "demo").is_file()
