"""The calibration directory: where ``labeldist calibrate`` writes, and what ``evaluate``, ``classify`` and ``run`` read.

Layout (default ``RUN_DIR/calibration/``)::

    calibration.json        fitted calibrator per method        (labeldist.calibration.save_calibration)
    thresholds.json         per-label thresholds per method     (labeldist.calibration.ThresholdSet)
    fit.json                what they were fitted on: run, dev split or dev run, dev item ids, targets,
                            selection rule, CV NLL per candidate, dev NLL and ECE before/after
    reliability_<method>.png  dev reliability diagrams before/after (per label + pooled)

``fit.json`` (format ``labeldist-calibration-fit``, version 1) is provenance: the
calibrators and thresholds are complete without it. Its ``dev.ids`` let ``evaluate`` leave
out every dev item, whichever run it sits in.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from labeldist.calibration.storage import CALIBRATION_FILE
from labeldist.errors import LabeldistError

CALIBRATION_DIR = "calibration"
FIT_FILE = "fit.json"
FIT_FORMAT = "labeldist-calibration-fit"
FIT_VERSION = 1


def resolve_dir(path) -> Path:
    """The calibration directory meant by ``path``: itself, its parent for a ``calibration.json``, or
    ``path/calibration`` for a run directory that holds one."""
    path = Path(path)
    if path.suffix == ".json" and path.name == CALIBRATION_FILE:
        return path.parent
    if not (path / CALIBRATION_FILE).is_file() and (path / CALIBRATION_DIR / CALIBRATION_FILE).is_file():
        return path / CALIBRATION_DIR
    return path


def default_dir(run_dir) -> Path | None:
    """``run_dir/calibration`` when it holds a ``calibration.json``, else None."""
    d = Path(run_dir) / CALIBRATION_DIR
    return d if (d / CALIBRATION_FILE).is_file() else None


def write_fit(directory, doc: dict) -> Path:
    """Write ``fit.json`` (atomically) with the format and version fields added."""
    path = Path(directory) / FIT_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"format": FIT_FORMAT, "version": FIT_VERSION, **doc}, indent=1, allow_nan=False)
                   + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def read_fit(directory) -> dict:
    """``fit.json`` of a calibration directory as a dict; ``{}`` when the directory has none."""
    path = Path(directory) / FIT_FILE
    if not path.is_file():
        return {}
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise LabeldistError(f"cannot read {path} ({type(e).__name__}: {e})", "rerun `labeldist calibrate`") from None
    if not isinstance(doc, dict) or doc.get("format") != FIT_FORMAT or doc.get("version") != FIT_VERSION:
        raise LabeldistError(f"{path} is not a labeldist calibration record of version {FIT_VERSION}",
                             "rerun `labeldist calibrate`")
    return doc


__all__ = ["CALIBRATION_DIR", "FIT_FILE", "default_dir", "read_fit", "resolve_dir", "write_fit"]
