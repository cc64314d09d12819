"""``--calibrate SPLIT``: Platt scaling of every method with raw calibration scores, fitted per run on
that run's SPLIT records.

Which methods and which scores come from the registry (``MethodSpec.calibration_scores``):
for compare-to-none, x_l = z_l − z_none at the first label step. One shared (w, b) is
fitted by minimising BCE(σ(w x + b), q) pooled over all (example, label) pairs of the
calibration split, with q the annotator fractions. Examples without scores (no label
step) have no x: they are left out of the fit and, in the evaluated split, keep the run's
stored row (the runner's no-label fallback), both counted in the returned info.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from labeldist.errors import LabeldistError
from labeldist.calibration.platt import PlattScaler
from labeldist.methods import MethodSpec
from labeldist.numeric import sigmoid
from labeldist.records import ExampleRecord
from labeldist.report.load import Run, human_matrix


def calibration_scores(spec: MethodSpec, run: Run, record: ExampleRecord) -> np.ndarray | None:
    """The method's raw scores x of one record, shape (n_labels,), validated; None without them."""
    if record.steps:
        z = np.asarray(record.steps[0].scores, dtype=np.float64)
        n = len(run.label_set.candidates)
        if z.shape != (n,):
            raise LabeldistError(f"run {run}: example id {record.id!r} has {z.size} first-step scores, "
                                 f"expected {n} (labels, then none)", "recompute the run")
        if not np.all(np.isfinite(z)):
            raise LabeldistError(f"run {run}: example id {record.id!r} has a non-finite first-step score",
                                 "recompute the run; the backend returned NaN or infinite logits")
    return spec.calibration_scores(record, run.label_set)


def fit_platt(spec: MethodSpec, run: Run, split: str) -> tuple[PlattScaler, dict]:
    """Fit Platt scaling of ``spec`` on ``run``'s records of ``split``; returns (scaler, info)."""
    dev = [r for r in run.records if r.split == split]
    if not dev:
        have = sorted({str(r.split) for r in run.records})
        raise LabeldistError(f"run {run} has no records of split {split!r} to fit Platt scaling on "
                             f"(its splits: {', '.join(have)})",
                             f"run the model on the {split} split into the same run directory, or drop --calibrate")
    q = human_matrix(run, dev, purpose="Platt scaling")
    if q is None:
        raise LabeldistError(f"run {run}: the {split} split has no annotator distributions to calibrate against",
                             "calibrate on a dataset with per-annotator labels, or drop --calibrate")
    xs, qs = [], []
    for r, q_row in zip(dev, q):
        x = calibration_scores(spec, run, r)
        if x is not None:
            xs.append(x)
            qs.append(q_row)
    if not xs:
        raise LabeldistError(f"run {run}: no {split} example has a label step to calibrate on",
                             "check the run's generations; the model never produced a label")
    scaler = PlattScaler().fit(np.array(xs), np.array(qs))
    info = {"run": str(run.run_dir), "method": spec.name, "split": split, "coef": scaler.coef_, "intercept": scaler.intercept_,
            "n_fit_examples": len(xs), "n_fit_pairs": len(xs) * run.label_set.n_labels,
            "n_skipped_no_steps": len(dev) - len(xs), "n_iter": scaler.n_iter_, "loss": scaler.loss_}
    return scaler, info


def calibrated_probs(spec: MethodSpec, run: Run, records: Sequence[ExampleRecord], scaler: PlattScaler,
                     raw: np.ndarray) -> tuple[np.ndarray, int]:
    """σ(w x + b) per evaluated record (n, L); records without scores keep their ``raw`` row.

    Returns the probabilities and how many rows kept the raw (fallback) values.
    """
    out = np.array(raw, dtype=np.float64, copy=True)
    n_fallback = 0
    for i, r in enumerate(records):
        x = calibration_scores(spec, run, r)
        if x is None:
            n_fallback += 1
        else:
            out[i] = sigmoid(scaler.coef_ * x + scaler.intercept_)
    return out, n_fallback
