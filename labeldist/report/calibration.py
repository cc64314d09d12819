"""``--calibrate SPLIT``: Platt scaling for compare-to-none, fitted per run on that run's SPLIT records.

Scores: x_l = z_l − z_none at the first label step (``steps[0].scores``, candidate order =
labels then ``none``). One shared (w, b) is fitted by minimising BCE(σ(w x + b), q) pooled
over all (example, label) pairs of the calibration split, with q the annotator fractions.
Examples where the model produced no label step have no x: they are left out of the fit
and, in the evaluated split, keep the run's stored compare-to-none row (the runner's
uniform fallback), both counted in the returned info.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from labeldist.errors import LabeldistError
from labeldist.estimators.platt import PlattScaler
from labeldist.estimators.zero_shot import compare_to_none
from labeldist.report.load import Run, human_matrix
from labeldist.runs.records import ExampleRecord

COMPARE_TO_NONE = "compare_to_none"


def none_differences(run: Run, record: ExampleRecord) -> np.ndarray | None:
    """x = z_l − z_none at the first label step, shape (n_labels,); None without steps."""
    if not record.steps:
        return None
    n_labels = run.label_set.n_labels
    z = np.asarray(record.steps[0].scores, dtype=np.float64)
    if z.shape != (n_labels + 1,):
        raise LabeldistError(f"run {run}: example id {record.id!r} has {z.size} first-step scores, "
                             f"expected {n_labels + 1} (labels, then none)", "recompute the run")
    if not np.all(np.isfinite(z)):
        raise LabeldistError(f"run {run}: example id {record.id!r} has a non-finite first-step score",
                             "recompute the run; the backend returned NaN or infinite logits")
    return z[:n_labels] - z[n_labels]


def fit_compare_to_none(run: Run, split: str) -> tuple[PlattScaler, dict]:
    """Fit Platt scaling on ``run``'s records of ``split``; returns (scaler, info)."""
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
        x = none_differences(run, r)
        if x is not None:
            xs.append(x)
            qs.append(q_row)
    if not xs:
        raise LabeldistError(f"run {run}: no {split} example has a label step to calibrate on",
                             "check the run's generations; the model never produced a label")
    scaler = PlattScaler().fit(np.array(xs), np.array(qs))
    info = {"run": str(run.run_dir), "split": split, "coef": scaler.coef_, "intercept": scaler.intercept_,
            "n_fit_examples": len(xs), "n_fit_pairs": len(xs) * run.label_set.n_labels,
            "n_skipped_no_steps": len(dev) - len(xs), "n_iter": scaler.n_iter_, "loss": scaler.loss_}
    return scaler, info


def calibrated_probs(run: Run, records: Sequence[ExampleRecord], scaler: PlattScaler,
                     raw: np.ndarray) -> tuple[np.ndarray, int]:
    """σ(w x + b) per evaluated record (n, L); records without steps keep their ``raw`` row.

    Returns the probabilities and how many rows kept the raw (fallback) values.
    """
    out = np.array(raw, dtype=np.float64, copy=True)
    n_fallback = 0
    for i, r in enumerate(records):
        none_differences(run, r)  # validates the stored scores
        p = compare_to_none(r.steps, run.label_set, w=scaler.coef_, b=scaler.intercept_)
        if p is None:
            n_fallback += 1
        else:
            out[i] = p
    return out, n_fallback
