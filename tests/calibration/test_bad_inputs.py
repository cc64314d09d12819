"""Every bad input of the calibration layer raises LabeldistError with one line: '<problem>; <fix>'."""

import json
import re

import numpy as np
import pytest

from labeldist.calibration import (
    MIN_ITEMS,
    CalibrationInput,
    FitInfo,
    IsotonicCalibrator,
    PlattCalibrator,
    TemperatureCalibrator,
    Thresholds,
    expected_calibration_error,
    reliability_curves,
    select_calibrator,
    select_thresholds,
)
from labeldist.errors import LabeldistError

RNG = np.random.default_rng(0)
P = RNG.random((40, 2))
Q = RNG.integers(0, 4, (40, 2)) / 3
Q[0], Q[1] = 0.0, 1.0
NO_POS = Q.copy()
NO_POS[:, 1] = 0.0
ALL_POS = Q.copy()
ALL_POS[:, 1] = 1.0
Y = (Q >= 0.5).astype(float)
THR = Thresholds(("a", "b"), "m", "f1", None, (0.3, 0.6), FitInfo("dev", 40))


def _rec(t):
    return P ** (1 / t)


def _thr_file(tmp_path, **change):
    d = {**THR.to_dict(), **change}
    path = tmp_path / "thr.json"
    path.write_text(json.dumps(d))
    return path


CASES = {
    "too few items (platt)": (lambda _: PlattCalibrator().fit(P[:MIN_ITEMS - 1], Q[:MIN_ITEMS - 1]),
                              f"fewer than the minimum {MIN_ITEMS}"),
    "too few items (temperature)": (lambda _: TemperatureCalibrator().fit(lambda t: _rec(t)[:5], Q[:5]),
                                    "fewer than the minimum"),
    "too few items (selection)": (lambda _: select_calibrator(P[:10], Q[:10], candidates=["none"]),
                                  "fewer than the minimum"),
    "label without a positive (platt)": (lambda _: PlattCalibrator().fit(P, NO_POS, labels=["joy", "fear"]),
                                         "label 'fear' has no dev item with a positive target"),
    "label without a positive (isotonic)": (lambda _: IsotonicCalibrator().fit(P, NO_POS), "label '#1'"),
    "label without a positive (selection)": (lambda _: select_calibrator(P, NO_POS, labels=["joy", "fear"]),
                                             "label 'fear' has no dev item"),
    "label on every item": (lambda _: PlattCalibrator().fit(P, ALL_POS, labels=["joy", "fear"]),
                            "label 'fear' has no dev item with q < 1"),
    "targets outside [0, 1]": (lambda _: PlattCalibrator().fit(P, Q * 2), "not a probability"),
    "targets with another label count": (lambda _: PlattCalibrator().fit(P, Q[:, :1]), "label columns"),
    "targets for other examples": (lambda _: PlattCalibrator().fit(P, Q[:30]), "target rows"),
    "probs with NaN": (lambda _: IsotonicCalibrator().fit(np.where(P > 0.9, np.nan, P), Q), "not a probability"),
    "temperature without logits": (lambda _: TemperatureCalibrator().fit(P, Q), "needs the method's candidate logits"),
    "forced temperature without logits": (lambda _: select_calibrator(P, Q, calibrator="temperature"),
                                          "needs the method's candidate logits"),
    "unknown calibrator": (lambda _: select_calibrator(P, Q, calibrator="beta"), "unknown calibrator 'beta'"),
    "unknown candidate": (lambda _: select_calibrator(P, Q, candidates=["beta"]), "no usable calibrator"),
    "transform on another label count": (lambda _: PlattCalibrator().fit(P, Q).transform(P[:, :1]),
                                         "fitted on 2 labels"),
    "temperature applied without logits": (lambda _: TemperatureCalibrator().fit(_rec, Q).transform(P),
                                           "needs the method's candidate logits"),
    "recompute of the wrong shape": (lambda _: TemperatureCalibrator().fit(
        CalibrationInput(P, recompute=lambda t: _rec(t)[:, :1]), Q), "recompute returned shape"),
    "input without probs or logits": (lambda _: CalibrationInput(), "needs probabilities or a recompute"),
    "scores of another shape": (lambda _: CalibrationInput(P, scores=P[:, :1]), "scores must be finite"),
    "bad temperature bounds": (lambda _: TemperatureCalibrator(bounds=(2.0, 20.0)).fit(_rec, Q), "0 < low < 1 < high"),
    "threshold above 1": (lambda _: Thresholds(("a", "b"), "m", "f1", None, (0.3, 1.5), FitInfo("dev", 40)),
                          "threshold for label 'b' is 1.5, outside [0, 1]"),
    "threshold below 0": (lambda _: Thresholds(("a", "b"), "m", "f1", None, (-0.1, 0.5), FitInfo("dev", 40)),
                          "outside [0, 1]"),
    "threshold file above 1": (lambda tmp: Thresholds.from_json(_thr_file(tmp, thresholds=[0.2, 2.0])),
                               "outside [0, 1]"),
    "thresholds of another label set": (lambda tmp: Thresholds.from_json(_thr_file(tmp), labels=["a", "c"]),
                                        "chosen for labels"),
    "thresholds of another method": (lambda tmp: Thresholds.from_json(_thr_file(tmp), method="hard"),
                                     "chosen for method 'm', not 'hard'"),
    "threshold count": (lambda _: Thresholds(("a", "b"), "m", "f1", None, (0.3,), FitInfo("dev", 40)),
                        "1 thresholds for 2 labels"),
    "thresholds applied to another label count": (lambda _: THR.apply(P[:, :1]), "2 labels but probs have 1"),
    "missing thresholds file": (lambda tmp: Thresholds.from_json(tmp / "none.json"), "no thresholds file"),
    "unknown objective": (lambda _: select_thresholds(P, Y, labels=["a", "b"], method="m", objective="auc"),
                          "unknown threshold objective"),
    "target missing": (lambda _: select_thresholds(P, Y, labels=["a", "b"], method="m", objective="recall"),
                       "needs a target in (0, 1]"),
    "target out of range": (lambda _: select_thresholds(P, Y, labels=["a", "b"], method="m", objective="precision",
                                                        target=1.2), "needs a target in (0, 1]"),
    "target with f1": (lambda _: select_thresholds(P, Y, labels=["a", "b"], method="m", target=0.5), "takes no target"),
    "threshold label without a positive": (lambda _: select_thresholds(P, (NO_POS >= 0.5) * 1.0, labels=["a", "b"],
                                                                       method="m"), "label 'b' has no positive"),
    "thresholds on too few items": (lambda _: select_thresholds(P[:5], Y[:5], labels=["a", "b"], method="m"),
                                    "fewer than the minimum"),
    "gold and q both given": (lambda _: select_thresholds(P, Y, human_probs=Q, labels=["a", "b"], method="m"),
                              "exactly one of gold and human_probs"),
    "soft gold": (lambda _: select_thresholds(P, Q, labels=["a", "b"], method="m"), "gold must be 0 or 1"),
    "bad fitted-on record": (lambda _: FitInfo("dev", 0), "positive integer"),
    "zero bins": (lambda _: expected_calibration_error(P, Q, n_bins=0), "n_bins must be a positive integer"),
    "reliability shapes": (lambda _: expected_calibration_error(P, Q[:, :1]), "target has shape"),
    "reliability label names": (lambda _: reliability_curves(P, Q, ["a"]), "1 label names for 2 columns"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_raises_a_one_line_error(case, tmp_path):
    fn, match = CASES[case]
    with pytest.raises(LabeldistError, match=re.escape(match)) as e:
        fn(tmp_path)
    msg = str(e.value)
    assert "\n" not in msg and "; " in msg, msg
