"""Fitted calibrators and thresholds applied to run records: calibrated probabilities and predicted label sets.

For each method m with a fitted calibrator c_m, a batch of records gives the method's
stored probabilities P (n, L) and, for the step-based methods (the registry's
``reads == ("steps",)``), the recompute function T -> P(T) from the stored candidate
logits (:class:`~labeldist.calibration.recompute.StepRecompute`); the calibrated rows are
c_m(P). With thresholds t_m chosen after calibrator k (``Thresholds.calibrator``), the
predicted label set of record i is {l : clip(P'_il) ≥ t_ml}, where P' is P calibrated with
k (``"none"``: P itself). Results go to ``record.calibrated[m]`` and ``record.predicted[m]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from labeldist.calibration.calibrators import Calibrator, CalibrationInput
from labeldist.calibration.directory import resolve_dir
from labeldist.calibration.recompute import StepRecompute, temperature_methods
from labeldist.calibration.storage import CalibrationFile, load_calibration
from labeldist.calibration.threshold_set import THRESHOLDS_FILE, ThresholdSet
from labeldist.calibration.thresholds import Thresholds
from labeldist.errors import LabeldistError
from labeldist.metrics import check_probs
from labeldist.records import ExampleRecord, LabelSet


def method_probs(records: Sequence[ExampleRecord], method: str, label_set: LabelSet, *, where: str = "") -> np.ndarray:
    """The stored probabilities of ``method``, float64 (n_records, n_labels), validated."""
    missing = [r.id for r in records if method not in r.methods]
    if missing:
        raise LabeldistError(f"{where}method {method!r} is missing for example id {missing[0]!r} "
                             f"({len(records) - len(missing)} of {len(records)} examples have it)",
                             "compute every method for every example (resume the run)")
    return check_probs([r.methods[method] for r in records], "probabilities", row_ids=[r.id for r in records],
                       columns=label_set.labels, where=f"{where}method {method!r}")


def method_input(records: Sequence[ExampleRecord], method: str, label_set: LabelSet, *,
                 where: str = "") -> CalibrationInput:
    """What a calibrator of ``method`` reads from records: stored probs, plus recompute(T) for step methods.

    Records without a label step keep their stored (fallback) row under every temperature.
    """
    probs = method_probs(records, method, label_set, where=where)
    recompute = None
    if method in temperature_methods(label_set):
        recompute = StepRecompute(method, [r.steps for r in records], label_set)
    return CalibrationInput(probs, recompute=recompute)


def calibrate_records(records: Sequence[ExampleRecord], method: str, calibrator: Calibrator,
                      label_set: LabelSet, *, where: str = "") -> np.ndarray:
    """``calibrator`` applied to ``method``'s output on ``records``: float64 (n_records, n_labels)."""
    return calibrator.transform(method_input(records, method, label_set, where=where))


@dataclass
class AppliedCalibration:
    """Calibrators and thresholds resolved for one label set and the methods a run computes.

    Attributes
    ----------
    label_set : LabelSet
    calibrators : dict of str to Calibrator
        Method -> fitted calibrator (only methods the run computes).
    thresholds : dict of str to Thresholds
        Method -> thresholds (only methods the run computes).
    source : dict
        Where they came from (paths) and content digests, recorded in run manifests.
    notes : list of str
        Methods left uncalibrated or without thresholds, and why.
    """

    label_set: LabelSet
    calibrators: dict[str, Calibrator] = field(default_factory=dict)
    thresholds: dict[str, Thresholds] = field(default_factory=dict)
    source: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def methods(self) -> list[str]:
        return list(dict.fromkeys([*self.calibrators, *self.thresholds]))

    def describe(self) -> dict:
        """JSON-safe identity: calibrator and threshold objective per method, plus file digests."""
        return {"calibrators": {m: c.name for m, c in self.calibrators.items()},
                "thresholds": {m: {"objective": t.objective, "target": t.target, "after": t.calibrator}
                               for m, t in self.thresholds.items()},
                "sha256": {k: v for k, v in self.source.items() if k.endswith("_sha256")}}

    def label_name(self, method: str) -> str:
        """``"<method> + <calibrator>"``, the row name of its calibrated probabilities."""
        return f"{method} + {self.calibrators[method].name}"

    def apply(self, records: Sequence[ExampleRecord]) -> None:
        """Fill ``record.calibrated`` and ``record.predicted`` for every resolved method, in place."""
        if not records:
            return
        labels = self.label_set.labels
        for method in self.methods:
            cal = None
            if method in self.calibrators:
                cal = calibrate_records(records, method, self.calibrators[method], self.label_set)
                for r, row in zip(records, cal):
                    r.calibrated[method] = [float(x) for x in row]
            if method in self.thresholds:
                thr = self.thresholds[method]
                probs = method_probs(records, method, self.label_set) if thr.calibrator == "none" else cal
                for r, row in zip(records, thr.apply(probs)):
                    r.predicted[method] = [l for l, on in zip(labels, row) if on]


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def resolve_calibration(label_set: LabelSet, methods: Sequence[str], *, calibration=None,
                        thresholds=None) -> AppliedCalibration | None:
    """Load a calibration directory and/or a thresholds file for the methods a run computes.

    Parameters
    ----------
    label_set : LabelSet
        The run's label set; both files must have been fitted on it.
    methods : sequence of str
        The methods the run computes.
    calibration : path-like or CalibrationFile, optional
        A calibration directory (``calibration.json`` inside), the file, or a run directory
        holding ``calibration/``. Its
        ``thresholds.json`` is used too when ``thresholds`` is not given.
    thresholds : path-like or ThresholdSet, optional
        A ``thresholds.json``.

    Returns
    -------
    AppliedCalibration, or None when neither was given.

    Raises
    ------
    LabeldistError
        Files fitted on another label set, none of ``methods`` covered, thresholds outside
        [0, 1], or thresholds chosen after a calibrator that is not given.
    """
    if calibration is None and thresholds is None:
        return None
    out = AppliedCalibration(label_set)
    methods = list(methods)
    cal_file: CalibrationFile | None = None
    if calibration is not None:
        cal_file = calibration if isinstance(calibration, CalibrationFile) else \
            load_calibration(resolve_dir(calibration), label_set=label_set)
        out.source.update(calibration=str(cal_file.path), calibration_sha256=_sha256(cal_file.path))
        covered = [m for m in methods if m in cal_file.selections]
        if not covered:
            raise LabeldistError(
                f"{cal_file.path} calibrates methods {', '.join(cal_file.methods)}, none of which this run computes "
                f"({', '.join(methods)})", "calibrate this run's methods, or select the calibrated methods' group")
        out.calibrators = {m: cal_file.calibrator(m) for m in covered}
        out.notes += [f"{m}: not in {cal_file.path}, left uncalibrated" for m in methods if m not in covered]
        if thresholds is None and (cal_file.path.parent / THRESHOLDS_FILE).is_file():
            thresholds = cal_file.path.parent / THRESHOLDS_FILE
    if thresholds is not None:
        if isinstance(thresholds, ThresholdSet):
            tset = thresholds.check_labels(label_set.labels)
        else:
            tset = ThresholdSet.from_json(thresholds, labels=label_set.labels)
            out.source.update(thresholds=str(thresholds), thresholds_sha256=_sha256(Path(thresholds)))
        covered = [m for m in methods if m in tset.by_method]
        if not covered:
            raise LabeldistError(f"thresholds {thresholds} are for methods {', '.join(tset.methods)}, none of which "
                                 f"this run computes ({', '.join(methods)})",
                                 "choose thresholds for this run's methods")
        for m in covered:
            thr = tset.by_method[m]
            have = out.calibrators[m].name if m in out.calibrators else "none"
            if thr.calibrator not in ("none", have):  # "none": chosen on, and applied to, the raw probabilities
                raise LabeldistError(
                    f"thresholds of method {m!r} were chosen on {thr.calibrator}-calibrated probabilities, but "
                    f"the calibration given applies {have!r}",
                    "pass --calibration with the directory the thresholds were chosen in")
            out.thresholds[m] = thr
        out.notes += [f"{m}: no thresholds, no predicted label set" for m in methods
                      if m not in covered and m in out.calibrators]
    return out


__all__ = ["AppliedCalibration", "calibrate_records", "method_input", "method_probs", "resolve_calibration"]
