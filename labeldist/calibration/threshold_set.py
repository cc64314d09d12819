"""``thresholds.json``: the per-label thresholds of every calibrated method of one run, in one file.

One file per calibration directory, one :class:`~labeldist.calibration.thresholds.Thresholds`
record per method (each exactly as ``Thresholds.to_dict()`` writes it)::

    {"format": "labeldist-threshold-set", "version": 1, "labels": [...],
     "methods": {"<method>": {"format": "labeldist-thresholds", "labels": [...], "method": "<method>",
                              "objective": "f1", "target": null, "thresholds": [L floats in [0, 1]],
                              "calibrator": "platt", "fitted_on": {...}, "notes": {...}}, ...}}

A record's ``calibrator`` names the calibration its thresholds were chosen after: they
apply to the method's probabilities calibrated that way (``"none"``: the raw ones).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from labeldist.calibration._common import write_json_atomic
from labeldist.calibration.thresholds import Thresholds
from labeldist.errors import LabeldistError

THRESHOLDS_FILE = "thresholds.json"
FORMAT = "labeldist-threshold-set"
VERSION = 1


@dataclass(frozen=True)
class ThresholdSet:
    """Per-label thresholds of several methods over one label set.

    Parameters
    ----------
    labels : tuple of str
        Label names in label-set order; every member's labels must equal them.
    by_method : dict of str to Thresholds
        Method name -> its thresholds.
    """

    labels: tuple[str, ...]
    by_method: Mapping[str, Thresholds]

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", tuple(str(l) for l in self.labels))
        if not self.by_method:
            raise LabeldistError("a threshold set needs thresholds for at least one method",
                                 "choose thresholds for a method first")
        for method, thr in self.by_method.items():
            if not isinstance(thr, Thresholds):
                raise LabeldistError(f"thresholds of method {method!r} are a {type(thr).__name__}, not Thresholds",
                                     "build them with labeldist.calibration.select_thresholds")
            thr.check(self.labels, method)
        object.__setattr__(self, "by_method", dict(self.by_method))

    @property
    def methods(self) -> tuple[str, ...]:
        return tuple(self.by_method)

    def check_labels(self, labels: Sequence[str], where: str = "thresholds") -> "ThresholdSet":
        """Raise a one-line LabeldistError unless these thresholds were chosen on ``labels`` (same order)."""
        if tuple(labels) != self.labels:
            raise LabeldistError(f"{where} were chosen for labels [{', '.join(self.labels)}], "
                                 f"not [{', '.join(labels)}]", "choose thresholds on this label set")
        return self

    def to_dict(self) -> dict:
        return {"format": FORMAT, "version": VERSION, "labels": list(self.labels),
                "methods": {m: t.to_dict() for m, t in self.by_method.items()}}

    @classmethod
    def from_dict(cls, d: dict, *, where: str = "thresholds") -> "ThresholdSet":
        if not isinstance(d, dict) or d.get("format") != FORMAT or d.get("version") != VERSION:
            raise LabeldistError(f"{where} is not a labeldist threshold set of version {VERSION}",
                                 "pass the thresholds.json written by `labeldist calibrate`")
        methods = d.get("methods")
        if not isinstance(methods, dict) or not isinstance(d.get("labels"), list):
            raise LabeldistError(f"{where} lacks 'labels' or 'methods'", "rerun `labeldist calibrate`")
        return cls(tuple(d["labels"]), {str(m): Thresholds.from_dict(t) for m, t in methods.items()})

    def to_json(self, path) -> Path:
        """Write the set as JSON (parent folders created; replaced atomically)."""
        return write_json_atomic(path, self.to_dict())

    @classmethod
    def from_json(cls, path, *, labels: Sequence[str] | None = None) -> "ThresholdSet":
        """Read ``path`` (a thresholds.json), checking the label set when ``labels`` is given.

        Raises
        ------
        LabeldistError
            Missing or unreadable file, another format, a threshold outside [0, 1], or
            thresholds chosen on another label set.
        """
        path = Path(path)
        if not path.is_file():
            raise LabeldistError(f"no thresholds file at {path}", "run `labeldist calibrate` first, or fix the path")
        try:
            d = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise LabeldistError(f"cannot read {path} ({type(e).__name__}: {e})", "rerun `labeldist calibrate`") from None
        try:
            out = cls.from_dict(d, where=str(path))
        except LabeldistError as e:
            if str(path) in str(e):
                raise
            raise LabeldistError(f"{path}: {e}") from None
        if labels is not None:
            out.check_labels(labels, where=str(path))
        return out


__all__ = ["THRESHOLDS_FILE", "ThresholdSet"]
