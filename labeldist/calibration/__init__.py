"""Post-hoc calibration and decision thresholds for any method's probabilities, fitted on a dev split.

* :mod:`~labeldist.calibration.calibrators`: identity, per-label Platt, per-label isotonic,
  and one temperature per step-based method (on the candidate logits before the softmax).
* :mod:`~labeldist.calibration.recompute`: ``recompute(T)`` for temperature scaling from stored step logits.
* :mod:`~labeldist.calibration.selection`: the stated choice rule (lowest 5-fold CV dev NLL,
  ties to the simpler calibrator), or a forced name.
* :mod:`~labeldist.calibration.storage`: ``calibration.json`` with label-set and method checks.
* :mod:`~labeldist.calibration.thresholds`: per-label thresholds for max F1 or a precision or
  recall target, as a small JSON file.
* :mod:`~labeldist.calibration.reliability`: reliability curves, ECE against q or gold, and
  before/after reliability diagrams.
* :mod:`~labeldist.calibration.threshold_set`: ``thresholds.json``, one file holding every method's thresholds.
* :mod:`~labeldist.calibration.directory`: the calibration directory's layout and ``fit.json``.
* :mod:`~labeldist.calibration.apply`: fitted calibrators and thresholds applied to run records
  (``record.calibrated`` / ``record.predicted``), as ``classify`` and ``run`` do.

numpy, scipy and scikit-learn on arrays and records (and, for temperature, the registry's estimators on stored
steps): nothing here reads run directories or calls a model; ``labeldist.report.calibrate_run`` does.
"""

from labeldist.calibration._common import MIN_ITEMS, FitInfo
from labeldist.calibration.calibrators import (
    CALIBRATORS,
    ISOTONIC_EPS,
    CalibrationInput,
    Calibrator,
    IdentityCalibrator,
    IsotonicCalibrator,
    PlattCalibrator,
    TemperatureCalibrator,
    as_input,
)
from labeldist.calibration.recompute import StepRecompute, temperature_methods
from labeldist.calibration.reliability import (
    POOLED,
    ReliabilityCurve,
    expected_calibration_error,
    plot_reliability,
    reliability_curve,
    reliability_curves,
)
from labeldist.calibration.selection import (
    CANDIDATE_ORDER,
    N_FOLDS,
    RULE,
    CalibrationSelection,
    candidate_names,
    cross_validated_nll,
    fold_indices,
    select_calibrator,
)
from labeldist.calibration.storage import CALIBRATION_FILE, CalibrationFile, load_calibration, save_calibration
from labeldist.calibration.thresholds import OBJECTIVES, Thresholds, select_thresholds, threshold_curve
from labeldist.calibration.threshold_set import THRESHOLDS_FILE, ThresholdSet
from labeldist.calibration.directory import CALIBRATION_DIR, FIT_FILE
from labeldist.calibration.apply import AppliedCalibration, method_input, resolve_calibration

__all__ = [
    "AppliedCalibration", "CALIBRATION_DIR", "FIT_FILE", "THRESHOLDS_FILE", "ThresholdSet", "method_input",
    "resolve_calibration", "CALIBRATION_FILE", "CALIBRATORS", "CANDIDATE_ORDER", "ISOTONIC_EPS", "MIN_ITEMS", "N_FOLDS", "OBJECTIVES",
    "POOLED", "RULE", "temperature_methods", "CalibrationFile", "CalibrationInput", "CalibrationSelection", "Calibrator", "FitInfo",
    "IdentityCalibrator", "IsotonicCalibrator", "PlattCalibrator", "ReliabilityCurve", "StepRecompute", "TemperatureCalibrator",
    "Thresholds", "as_input", "candidate_names", "cross_validated_nll", "expected_calibration_error",
    "fold_indices", "load_calibration", "plot_reliability", "reliability_curve", "reliability_curves",
    "save_calibration", "select_calibrator", "select_thresholds", "threshold_curve",
]
