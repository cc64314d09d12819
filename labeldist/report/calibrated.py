"""Calibrated rows in the evaluation: ``<method> + <calibrator>`` beside each raw row, and the before → after table.

A run's calibration directory (default ``RUN_DIR/calibration``, written by ``labeldist
calibrate``; or one ``--calibration DIR`` for every run) gives a fitted calibrator per
method. Its dev items are never evaluated: records of the dev split it was fitted on (when
it was fitted on a split of a run) and records whose id is one of its dev items are left
out of every run of the dataset, with a note.

The before → after table reports, per calibrated row, NLL and L1 (against q) with their
bootstrap intervals from the main scores, the paired bootstrap difference of NLL, and the
pooled ECE against the calibration target (q, or the 0/1 gold where the data has no
annotators) over all (example, label) entries in 10 equal-width bins::

    ECE = Σ_b |Σ_{(i,l) in b} w_i (p_il − t_il)| / (L Σ_i w_i)

which with all weights w_i = 1 equals :func:`labeldist.calibration.expected_calibration_error`
(``reduce="pooled"``), and under bootstrap counts w gives its interval on the same resamples.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from labeldist.calibration.apply import calibrate_records
from labeldist.calibration.directory import default_dir, read_fit, resolve_dir
from labeldist.calibration.reliability import N_BINS
from labeldist.calibration.storage import CalibrationFile, load_calibration
from labeldist.errors import LabeldistError
from labeldist.methods import order_methods
from labeldist.metrics import EPS
from labeldist.metrics.bootstrap import iter_resample_weights, percentile_interval
from labeldist.report.load import DatasetBlock, Run


@dataclass
class RunCalibration:
    """One run's calibration directory, loaded and checked against the run's label set and methods."""

    path: Path
    file: CalibrationFile
    fit: dict = field(default_factory=dict)
    methods: list[str] = field(default_factory=list)  # calibrated methods the run has

    @property
    def exclude_splits(self) -> set[str]:
        """Splits never to evaluate: the dev split, when the calibration was fitted on a split of a run."""
        dev = self.fit.get("dev") or {}
        if dev:
            return {dev["split"]} if dev.get("source") == "split" else set()
        return {info.split for info in self.file.fitted_on.values()}  # no fit.json: the stated split names

    @property
    def exclude_ids(self) -> set[str]:
        return set((self.fit.get("dev") or {}).get("ids", []))

    def describe(self) -> str:
        dev = self.fit.get("dev") or {}
        infos = list(self.file.fitted_on.values())
        n = dev.get("n_items", infos[0].n_items if infos else "?")
        target = self.fit.get("target", infos[0].target if infos else "?")
        where = f"split {dev['split']!r} of {dev['run']}" if dev.get("source") == "split" else \
            f"dev run {dev['run']}" if dev else f"split {infos[0].split!r}" if infos else "?"
        return f"{self.path} (fitted on {where}, {n} items, targets: {'q' if target == 'human' else target})"


def _run_methods(run: Run) -> list[str]:
    return order_methods(dict.fromkeys(m for r in run.records for m in r.methods))


def load_run_calibrations(runs: Sequence[Run], calibration="auto") -> dict[str, RunCalibration]:
    """Resolve each run's calibration: ``"auto"`` = ``RUN_DIR/calibration`` where it exists; a path = that
    directory for every run; None or False = none. Keyed by ``str(run.run_dir)``.

    Raises
    ------
    LabeldistError
        A calibration fitted on another label set, or covering none of the run's methods.
    """
    if calibration is None or calibration is False:
        return {}
    out: dict[str, RunCalibration] = {}
    for run in runs:
        path = default_dir(run.run_dir) if calibration == "auto" else resolve_dir(calibration)
        if path is None:
            continue
        try:
            file = load_calibration(path, label_set=run.label_set)
        except LabeldistError as e:
            raise LabeldistError(f"run {run}: {e}") from None
        have = _run_methods(run)
        covered = [m for m in have if m in file.selections]
        if not covered:
            raise LabeldistError(f"run {run}: {file.path} calibrates {', '.join(file.methods)}, none of which the run "
                                 f"has ({', '.join(have)})", "pass the calibration made for this run, or --no-calibration")
        out[str(run.run_dir)] = RunCalibration(path, file, read_fit(path), covered)
    return out


def pooled_ece_scorer(target: np.ndarray, pred: np.ndarray, n_bins: int = N_BINS):
    """``score(weights) -> (n_boot,)``: pooled ECE (module docstring) under example weights (n_boot, n)."""
    p = np.clip(np.asarray(pred, dtype=np.float64), EPS, 1.0 - EPS)
    t = np.asarray(target, dtype=np.float64)
    n, n_labels = p.shape
    bins = np.minimum(np.floor(p * n_bins).astype(int), n_bins - 1)  # (n, L)
    per_bin = np.zeros((n, n_bins))  # Σ over the example's labels in bin b of (p − t)
    np.add.at(per_bin, (np.repeat(np.arange(n), n_labels), bins.ravel()), (p - t).ravel())
    return lambda w: np.abs(w @ per_bin).sum(axis=1) / (n_labels * w.sum(axis=1))


def ece_with_interval(target: np.ndarray, pred: np.ndarray, *, mask: np.ndarray | None, n_boot: int, seed: int,
                      confidence: float):
    """Pooled ECE with its percentile bootstrap interval (the evaluation's resamples); ``mask`` weighs rows 0/1."""
    score = pooled_ece_scorer(target, pred)
    n = target.shape[0]
    m = np.ones(n) if mask is None else mask.astype(np.float64)
    est = float(score(m[None, :])[0])
    boot = np.empty(n_boot)
    for sl, w in iter_resample_weights(n, n_boot=n_boot, seed=seed):
        w = w * m
        ok = w.sum(axis=1) > 0
        vals = np.full(w.shape[0], np.nan)
        vals[ok] = score(w[ok])
        boot[sl] = vals
    return percentile_interval(est, boot[np.isfinite(boot)] if np.isfinite(boot).any() else boot,
                               confidence=confidence)


def calibrated_rows(block: DatasetBlock, names: Sequence[str], cals: dict[str, RunCalibration],
                    notes: list[str]) -> tuple[dict[str, tuple[str, np.ndarray]], list[dict]]:
    """Per raw row name: (calibrated row name, probs (n, L)); plus one info dict per calibrated row."""
    rows: dict[str, tuple[str, np.ndarray]] = {}
    infos: list[dict] = []
    for (run, method, _), name in zip(block.methods, names):
        cal = cals.get(str(run.run_dir))
        if cal is None or method not in cal.methods:
            continue
        sel = cal.file.selection(method)
        if sel.name == "none":
            notes.append(f"{block.name}: {name}: the dev rule chose no calibration (raw kept; no '+ none' row)")
        else:
            probs = calibrate_records(block.records[str(run.run_dir)], method, sel.calibrator, block.label_set,
                                      where=f"run {run}, ")
            rows[name] = (f"{name} + {sel.name}", probs)
        info = cal.file.fitted_on[method]
        infos.append({"dataset": block.name, "run": str(run.run_dir), "method": method, "row": name,
                      "calibrated_row": f"{name} + {sel.name}" if sel.name != "none" else name,
                      "calibrator": sel.name, "rule": sel.rule, "cv_nll": dict(sel.cv_nll),
                      "calibration": str(cal.path), "fitted_on": info.to_dict()})
    return rows, infos


def exclusions(group: Sequence[Run], cals: dict[str, RunCalibration]) -> tuple[set[str], set[str]]:
    """(splits, ids) to leave out of every run of a dataset group."""
    splits, ids = set(), set()
    for run in group:
        cal = cals.get(str(run.run_dir))
        if cal is not None:
            splits |= cal.exclude_splits
            ids |= cal.exclude_ids
    return splits, ids


__all__ = ["RunCalibration", "calibrated_rows", "ece_with_interval", "exclusions", "load_run_calibrations",
           "pooled_ece_scorer"]
