"""``calibration.json``: the fitted calibrators of one run's methods, with the label set they belong to.

One file per directory, holding one entry per method::

    {"format": "labeldist-calibration", "version": 1,
     "labels": [...], "multilabel": true,
     "methods": {"compare_to_none": {"name": "platt", "calibrator": {...}, "cv_nll": {...},
                                     "rule": "...", "fitted_on": {"split": "dev", "n_items": 400,
                                                                  "target": "human"}}, ...}}

The loader checks the label set (names, order, multi-label flag) and, when asked, that a
method is present; a mismatch is a one-line :class:`~labeldist.errors.LabeldistError`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from labeldist.calibration._common import FitInfo, write_json_atomic
from labeldist.calibration.calibrators import Calibrator
from labeldist.calibration.selection import CalibrationSelection
from labeldist.errors import LabeldistError
from labeldist.records import LabelSet

CALIBRATION_FILE = "calibration.json"
FORMAT = "labeldist-calibration"
VERSION = 1


@dataclass(frozen=True)
class CalibrationFile:
    """A loaded ``calibration.json``.

    Attributes
    ----------
    label_set : LabelSet
    selections : dict of str to CalibrationSelection
        Per method.
    fitted_on : dict of str to FitInfo
        Per method.
    path : Path
    """

    label_set: LabelSet
    selections: dict[str, CalibrationSelection]
    fitted_on: dict[str, FitInfo]
    path: Path

    @property
    def methods(self) -> tuple[str, ...]:
        return tuple(self.selections)

    def calibrator(self, method: str) -> Calibrator:
        """The fitted calibrator of ``method``; LabeldistError if the file has none for it."""
        return self.selection(method).calibrator

    def selection(self, method: str) -> CalibrationSelection:
        if method not in self.selections:
            raise LabeldistError(f"{self.path} has no calibration for method {method!r} "
                                 f"(it has: {', '.join(self.selections) or 'none'})",
                                 "run `labeldist calibrate` for that method, or evaluate only the calibrated methods")
        return self.selections[method]


def _check_label_set(label_set) -> LabelSet:
    if not isinstance(label_set, LabelSet):
        raise LabeldistError(f"expected a LabelSet, got {type(label_set).__name__}",
                             "pass the run's LabelSet (labeldist.records.LabelSet)")
    return label_set


def save_calibration(directory, label_set: LabelSet, selections: Mapping[str, CalibrationSelection],
                     fitted_on: Mapping[str, FitInfo] | FitInfo) -> Path:
    """Write ``directory/calibration.json`` (created if missing; replaced atomically).

    Parameters
    ----------
    directory : path-like
    label_set : LabelSet
        The label set the calibrators were fitted on.
    selections : mapping of method name to CalibrationSelection
    fitted_on : FitInfo, or mapping of method name to FitInfo
        One record for every method, or one per method (step-based methods may have fitted on
        fewer items).

    Returns
    -------
    Path of the written file.
    """
    label_set = _check_label_set(label_set)
    if not selections:
        raise LabeldistError("no calibrations to save", "fit at least one method's calibrator first")
    methods = {}
    for method, sel in selections.items():
        info = fitted_on if isinstance(fitted_on, FitInfo) else fitted_on.get(method)
        if not isinstance(info, FitInfo):
            raise LabeldistError(f"no fitted-on record for method {method!r}", "pass a FitInfo for every method")
        cal = sel.calibrator
        if cal.n_labels_ != label_set.n_labels or cal.multilabel_ != label_set.multilabel:
            raise LabeldistError(f"method {method!r}: its calibrator was fitted on {cal.n_labels_} labels "
                                 f"(multilabel={cal.multilabel_}) but the label set has {label_set.n_labels} "
                                 f"(multilabel={label_set.multilabel})", "fit it on this label set")
        methods[str(method)] = {**sel.to_dict(), "fitted_on": info.to_dict()}
    doc = {"format": FORMAT, "version": VERSION, "labels": list(label_set.labels),
           "multilabel": label_set.multilabel, "methods": methods}
    return write_json_atomic(Path(directory) / CALIBRATION_FILE, doc)


def load_calibration(directory, *, label_set: LabelSet | None = None, method: str | None = None) -> CalibrationFile:
    """Read ``directory/calibration.json`` (or the file itself when given a path to it).

    Parameters
    ----------
    directory : path-like
    label_set : LabelSet, optional
        The caller's label set; must equal the file's (names, order, multi-label flag).
    method : str, optional
        A method the caller will calibrate; must be in the file.

    Raises
    ------
    LabeldistError
        Missing or unreadable file, another format or version, a label-set mismatch, or a
        missing method.
    """
    path = Path(directory)
    if path.is_dir() or path.suffix != ".json":
        path = path / CALIBRATION_FILE
    if not path.is_file():
        raise LabeldistError(f"no calibration file at {path}", "run `labeldist calibrate` first, or fix the path")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise LabeldistError(f"cannot read {path} ({type(e).__name__}: {e})", "rerun `labeldist calibrate`") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or doc.get("version") != VERSION:
        got = (doc.get("format"), doc.get("version")) if isinstance(doc, dict) else type(doc).__name__
        raise LabeldistError(f"{path} is not a labeldist calibration file of version {VERSION} (got {got!r})",
                             "rerun `labeldist calibrate` with this version")
    try:
        file_set = LabelSet(tuple(doc["labels"]), multilabel=bool(doc["multilabel"]))
        entries = dict(doc["methods"])
    except (KeyError, TypeError, ValueError) as e:
        if isinstance(e, LabeldistError):
            raise
        raise LabeldistError(f"{path} is malformed ({type(e).__name__}: {e})", "rerun `labeldist calibrate`") from None
    if label_set is not None:
        label_set = _check_label_set(label_set)
        if label_set.labels != file_set.labels or label_set.multilabel != file_set.multilabel:
            raise LabeldistError(
                f"{path} was fitted on labels [{', '.join(file_set.labels)}] (multilabel={file_set.multilabel}), "
                f"not on [{', '.join(label_set.labels)}] (multilabel={label_set.multilabel})",
                "calibrate on this label set, or evaluate the run it was fitted for")
    selections, fitted_on = {}, {}
    for name, entry in entries.items():
        if not isinstance(entry, dict):
            raise LabeldistError(f"{path}: method {name!r} entry is malformed", "rerun `labeldist calibrate`")
        sel = CalibrationSelection.from_dict(entry)
        if sel.calibrator.n_labels_ != file_set.n_labels or sel.calibrator.multilabel_ != file_set.multilabel:
            raise LabeldistError(f"{path}: method {name!r} holds a calibrator for {sel.calibrator.n_labels_} labels, "
                                 f"the file's label set has {file_set.n_labels}", "rerun `labeldist calibrate`")
        selections[name] = sel
        fitted_on[name] = FitInfo.from_dict(entry.get("fitted_on", {}))
    out = CalibrationFile(file_set, selections, fitted_on, path)
    if method is not None:
        out.selection(method)  # raises when absent
    return out
