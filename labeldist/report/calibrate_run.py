"""``labeldist calibrate``: fit every method's calibrator and thresholds on a run's dev records.

Dev records come from the run itself (its records of ``dev_split``; a run made with
``labeldist run --split dev+test`` holds both) or from a separate dev run directory made
with the same config and label set (checked). Targets are the dev items' annotator
fractions q when they have them, else their 0/1 aggregate gold (items without one, i.e.
plurality ties, are left out and counted); the choice is printed and recorded.

Per method: the calibrator is chosen by the rule of :mod:`labeldist.calibration.selection`
(lowest 5-fold cross-validated dev NLL among none, temperature — step-based methods only —,
Platt and isotonic; ties to the simpler), or forced with ``calibrator``; then per-label
thresholds are chosen on the calibrated dev probabilities for the stated objective, against
the dev items' aggregate gold labels (the ones ``evaluate``'s F1 uses; 1[q ≥ 0.5] where the
records have none). Minimums: 20 dev items; Platt and isotonic need, per label, a dev item
with q > 0 and one with q < 1; thresholds need a dev item with that label in its gold. Everything goes to one calibration
directory (:mod:`labeldist.calibration.directory`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from labeldist.calibration import (
    CALIBRATORS,
    MIN_ITEMS,
    OBJECTIVES,
    RULE,
    CalibrationSelection,
    FitInfo,
    Thresholds,
    expected_calibration_error,
    plot_reliability,
    reliability_curves,
    save_calibration,
    select_calibrator,
    select_thresholds,
    temperature_methods,
)
from labeldist.calibration.apply import method_input
from labeldist.calibration.directory import CALIBRATION_DIR, write_fit
from labeldist.calibration.threshold_set import THRESHOLDS_FILE, ThresholdSet
from labeldist.errors import LabeldistError
from labeldist.methods import get_method, order_methods
from labeldist.metrics import nll_loss
from labeldist.records import ExampleRecord
from labeldist.report.load import Run, gold_mask, gold_matrix, human_matrix, load_run

TARGET_WORDS = {"human": "annotator fractions q", "gold": "0/1 aggregate gold (no annotator distributions)"}


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "method"


@dataclass
class MethodCalibration:
    """One method's fitted calibrator, its dev numbers and its thresholds.

    ``dev_*_before`` / ``dev_*_after``: NLL and pooled ECE (10 bins) against the targets on
    the dev items, raw and calibrated in-sample (the CV NLLs in ``selection.cv_nll`` are the
    out-of-sample numbers the choice was made on).
    """

    method: str
    selection: CalibrationSelection
    fitted_on: FitInfo
    dev_nll_before: float
    dev_nll_after: float
    dev_ece_before: float
    dev_ece_after: float
    n_no_steps: int = 0
    thresholds: Thresholds | None = None
    plot: Path | None = None

    def to_dict(self) -> dict:
        return {"calibrator": self.selection.name, "rule": self.selection.rule, "cv_nll": self.selection.cv_nll,
                "dev_nll_before": self.dev_nll_before, "dev_nll_after": self.dev_nll_after,
                "dev_ece_before": self.dev_ece_before, "dev_ece_after": self.dev_ece_after,
                "n_dev_no_label_step": self.n_no_steps,
                "thresholds": None if self.thresholds is None else list(self.thresholds.thresholds)}


@dataclass
class CalibrationReport:
    """What :func:`calibrate_run` fitted and wrote."""

    run_dir: Path
    out_dir: Path
    dev_source: str  # e.g. "split 'dev' of runs/x" or "dev run runs/x-dev"
    split: str
    n_dev: int
    target: str  # "human" or "gold"
    methods: list[MethodCalibration]
    threshold_objective: str | None
    threshold_target: float | None
    paths: dict[str, Path] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """The text ``labeldist calibrate`` prints."""
        lines = [f"calibration of {self.run_dir} on the {self.dev_source} ({self.n_dev} items); "
                 f"targets: {TARGET_WORDS[self.target]}"]
        forced = {m.selection.rule for m in self.methods if m.selection.rule.startswith("forced")}
        lines.append(f"rule: {', '.join(sorted(forced)) if forced else RULE}")
        names = [n for n in CALIBRATORS if any(n in m.selection.cv_nll for m in self.methods)]
        mw = max(len("method"), *(len(m.method) for m in self.methods))
        head = f"  {'method':<{mw}}  {'chosen':<11}" + "".join(f"{'CV NLL ' + n:>20}" for n in names)
        lines += ["", head + f"  {'dev NLL before → after':>24}  {'dev ECE before → after':>24}"]
        for m in self.methods:
            cells = "".join(f"{m.selection.cv_nll[n]:>19.4f}{'*' if n == m.selection.name else ' '}"
                            if n in m.selection.cv_nll else f"{'—':>20}" for n in names)
            lines.append(f"  {m.method:<{mw}}  {m.selection.name:<11}{cells}  "
                         f"{m.dev_nll_before:>11.4f} → {m.dev_nll_after:<10.4f}  "
                         f"{m.dev_ece_before:>11.4f} → {m.dev_ece_after:<10.4f}")
        lines.append("  (* = lowest CV NLL; dev before/after are in-sample)")
        if self.threshold_objective:
            goal = self.threshold_objective if self.threshold_target is None else \
                f"{self.threshold_objective} ≥ {self.threshold_target:g}"
            lines += ["", f"thresholds ({goal}, chosen on the calibrated dev probabilities; label: threshold):"]
            for m in self.methods:
                if m.thresholds is not None:
                    cells = ", ".join(f"{l} {t:.3f}" for l, t in zip(m.thresholds.labels, m.thresholds.thresholds))
                    lines.append(f"  {m.method}: {cells}")
                    lines += [f"    note: {l}: {n}" for l, n in m.thresholds.notes.items()]
        lines += [f"note: {n}" for n in self.notes]
        files = ", ".join(p.name for k, p in self.paths.items() if not k.startswith("plot:"))
        n_plots = sum(k.startswith("plot:") for k in self.paths)
        lines += ["", f"wrote {files} and {n_plots} reliability plots to {self.out_dir}",
                  f"evaluate with: labeldist evaluate {self.run_dir}"
                  + ("" if self.out_dir == self.run_dir / CALIBRATION_DIR else f" --calibration {self.out_dir}")]
        return "\n".join(lines)


def check_same_config(run: Run, dev: Run) -> None:
    """A dev run must share the run's label set, model and config (everything but the data it read)."""
    if run.label_set != dev.label_set:
        raise LabeldistError(f"dev run {dev} has labels [{', '.join(dev.label_set.labels)}] "
                             f"(multilabel={dev.label_set.multilabel}) but run {run} has "
                             f"[{', '.join(run.label_set.labels)}] (multilabel={run.label_set.multilabel})",
                             "calibrate on a dev run of the same label set")
    if run.model != dev.model:
        raise LabeldistError(f"dev run {dev} used model {dev.model!r}, run {run} used {run.model!r}",
                             "calibrate on a dev run of the same model")
    a = {k: v for k, v in run.manifest.config.items() if k != "data"}
    b = {k: v for k, v in dev.manifest.config.items() if k != "data"}
    if a != b:
        diff = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
        raise LabeldistError(f"dev run {dev} was made with another config than run {run} (differs in: "
                             f"{', '.join(diff)})", "make the dev run with the same options, only another --split")


def _check_threshold_goal(objective: str | None, target: float | None) -> None:
    if objective is None:
        if target is not None:
            raise LabeldistError("--threshold-target was given but thresholds are off",
                                 "drop --no-thresholds or --threshold-target")
        return
    if objective not in OBJECTIVES:
        raise LabeldistError(f"unknown threshold objective {objective!r}", f"use one of {', '.join(OBJECTIVES)}")
    if objective == "f1" and target is not None:
        raise LabeldistError("--threshold-target applies to the precision and recall objectives, not f1",
                             "drop it, or pass --threshold-objective precision or recall")
    if objective != "f1":
        if target is None:
            raise LabeldistError(f"the {objective} objective needs a target",
                                 "pass --threshold-target X with X in (0, 1], e.g. 0.8")
        if isinstance(target, bool) or not isinstance(target, (int, float)) or not np.isfinite(target) \
                or not 0 < target <= 1:
            raise LabeldistError(f"--threshold-target {target!r} is outside (0, 1]",
                                 "pass a precision or recall target such as 0.8")


def _dev_records(run: Run, dev_split: str | None, dev_run) -> tuple[Run, list[ExampleRecord], str, str]:
    """(run holding the dev records, the records, the fitted-on split name, a description)."""
    if (dev_split is None) == (dev_run is None):
        raise LabeldistError("give exactly one dev source", "pass --dev-split NAME or --dev-run DIR")
    if dev_split is not None:
        recs = [r for r in run.records if r.split == dev_split]
        if not recs:
            have = sorted({str(r.split) for r in run.records})
            raise LabeldistError(f"run {run} has no records of split {dev_split!r} (its splits: {', '.join(have)})",
                                 f"run the model on it into the same directory (labeldist run --split "
                                 f"{dev_split}+test ...), or pass --dev-run DIR")
        if len(recs) == len(run.records):
            raise LabeldistError(f"every record of run {run} is of split {dev_split!r}: nothing would be left to "
                                 "evaluate", "pass that run as --dev-run of a run over another split")
        return run, recs, dev_split, f"split {dev_split!r} of {run}"
    dev = load_run(dev_run)
    if dev.run_dir.resolve() == run.run_dir.resolve():
        raise LabeldistError(f"--dev-run {dev_run} is the run being calibrated",
                             "pass --dev-split NAME for dev records inside the run")
    check_same_config(run, dev)
    splits = sorted({r.split for r in dev.records if r.split})
    return dev, list(dev.records), "+".join(splits) or "dev-run", f"dev run {dev}"


def _targets(src: Run, recs: list[ExampleRecord], notes: list[str]) -> tuple[np.ndarray, str, list[ExampleRecord]]:
    q = human_matrix(src, recs, purpose="calibration against annotator fractions")
    if q is not None:
        return q, "human", recs
    keep = gold_mask(recs)
    if not keep.any():
        raise LabeldistError(f"run {src}: the dev records have neither annotator distributions nor gold labels",
                             "calibrate on a dev split with annotations")
    if not keep.all():
        notes.append(f"{int((~keep).sum())} of {len(recs)} dev items have no aggregate label (plurality tie) and "
                     "are left out of the gold targets")
    recs = [r for r, k in zip(recs, keep) if k]
    return gold_matrix(src, recs), "gold", recs


def _methods(dev: list[ExampleRecord], methods: Sequence[str] | None, calibrator: str | None, run: Run,
             notes: list[str]) -> list[str]:
    present = order_methods(dict.fromkeys(m for r in dev for m in r.methods))
    if methods:
        for m in methods:
            get_method(m)  # unknown names: one-line error listing the registered ones
            if m not in present:
                raise LabeldistError(f"method {m!r} has no probabilities in the dev records (they have: "
                                     f"{', '.join(present) or 'none'})", "calibrate the methods the run computed")
        return order_methods(dict.fromkeys(methods))
    if calibrator == "temperature":
        allowed = temperature_methods(run.label_set)
        chosen = [m for m in present if m in allowed]
        if not chosen:
            raise LabeldistError(f"temperature scaling applies to {', '.join(allowed)}; the dev records have "
                                 f"{', '.join(present)}", "choose --calibrator platt, isotonic or none")
        if len(chosen) < len(present):
            notes.append(f"--calibrator temperature: only the step-based methods are calibrated "
                         f"({', '.join(chosen)}); left out: {', '.join(m for m in present if m not in chosen)}")
        return chosen
    if not present:
        raise LabeldistError(f"the dev records of run {run} hold no method probabilities", "rerun the dev split")
    return present


def calibrate_run(run_dir, *, dev_split: str | None = None, dev_run=None, calibrator: str | None = None,
                  methods: Sequence[str] | None = None, threshold_objective: str | None = "f1",
                  threshold_target: float | None = None, out=None, seed: int = 0,
                  plots: bool = True) -> CalibrationReport:
    """Fit calibrators (and thresholds) for a run's methods on dev records and write the calibration directory.

    Parameters
    ----------
    run_dir : path-like
        The run to calibrate (the one ``evaluate`` will then score).
    dev_split : str, optional
        Fit on the run's own records of this split (e.g. ``"dev"``).
    dev_run : path-like, optional
        Or fit on every record of this run directory (same label set, model and config).
    calibrator : {"none", "temperature", "platt", "isotonic"}, optional
        Force one calibrator (default: the dev CV-NLL rule).
    methods : sequence of str, optional
        Methods to calibrate (default: every method in the dev records; with
        ``calibrator="temperature"``, the step-based ones).
    threshold_objective : {"f1", "precision", "recall"} or None, default="f1"
        None: choose no thresholds.
    threshold_target : float, optional
        Per-label precision or recall target in (0, 1].
    out : path-like, optional
        Calibration directory (default ``run_dir/calibration``).
    seed : int, default=0
        Seed of the cross-validation folds.
    plots : bool, default=True
        Write the dev reliability diagrams.

    Returns
    -------
    CalibrationReport

    Raises
    ------
    LabeldistError
        No dev records, a mismatched dev run, fewer than 20 dev items, a label without the
        dev items its calibrator or thresholds need, an unknown method or calibrator, or a
        bad threshold objective or target.
    """
    if calibrator is not None and calibrator not in CALIBRATORS:
        raise LabeldistError(f"unknown calibrator {calibrator!r}", f"use one of {', '.join(CALIBRATORS)}")
    _check_threshold_goal(threshold_objective, threshold_target)
    run = load_run(run_dir)
    src, dev, split, source = _dev_records(run, dev_split, dev_run)
    notes: list[str] = []
    targets, kind, dev = _targets(src, dev, notes)
    ls = run.label_set
    if len(dev) < MIN_ITEMS and calibrator != "none":
        raise LabeldistError(f"the {source} has {len(dev)} usable items, fewer than the minimum {MIN_ITEMS}",
                             f"calibrate on a dev split of at least {MIN_ITEMS} items, or use --calibrator none")
    names = _methods(dev, methods, calibrator, run, notes)
    info = FitInfo(split, len(dev), kind)
    # Thresholds are chosen against the dev items' aggregate gold, the labels evaluate's F1 is computed
    # against (items without one, plurality ties, left out); without gold, against 1[q >= 0.5].
    has_gold = gold_mask(dev)
    thr_gold = gold_matrix(src, [r for r, k in zip(dev, has_gold) if k]) if has_gold.any() else None
    fitted: list[tuple[MethodCalibration, np.ndarray, np.ndarray]] = []  # (fit, raw dev probs, calibrated)
    for m in names:
        inp = method_input(dev, m, ls, where=f"run {src}, ")
        sel = select_calibrator(inp, targets, multilabel=ls.multilabel, labels=ls.labels, calibrator=calibrator,
                                seed=seed)
        after = sel.calibrator.transform(inp)
        if sel.name == "temperature":
            lo, hi = sel.calibrator.bounds
            t = sel.calibrator.temperature_
            if t <= lo * 1.001 or t >= hi * 0.999:
                notes.append(f"{m}: the fitted temperature {t:.3g} is at its search bound [{lo:g}, {hi:g}]; one T "
                             "cannot remove a shift of the logits (platt, with an intercept per label, can)")
        if inp.recompute is not None and any(not r.steps for r in dev):
            notes.append(f"{m}: {sum(not r.steps for r in dev)} of {len(dev)} dev items have no label step (uniform "
                         "fallback rows, which a temperature cannot change)")
        mc = MethodCalibration(
            m, sel, info,
            float(nll_loss(targets, inp.probs, multilabel=ls.multilabel)),
            float(nll_loss(targets, after, multilabel=ls.multilabel)),
            float(expected_calibration_error(inp.probs, targets)), float(expected_calibration_error(after, targets)),
            n_no_steps=sum(not r.steps for r in dev) if inp.recompute is not None else 0)
        if threshold_objective is not None:
            kw = {"gold": thr_gold} if thr_gold is not None else {"human_probs": targets}
            mc.thresholds = select_thresholds(after[has_gold] if thr_gold is not None else after, **kw,
                                              labels=ls.labels, method=m, objective=threshold_objective,
                                              target=threshold_target, split=split, calibrator=sel.name)
        fitted.append((mc, inp.probs, after))
    out_dir = Path(out) if out is not None else run.run_dir / CALIBRATION_DIR
    paths = {"calibration": save_calibration(out_dir, ls, {mc.method: mc.selection for mc, _, _ in fitted}, info)}
    thr_path = out_dir / THRESHOLDS_FILE
    if threshold_objective is not None:
        paths["thresholds"] = ThresholdSet(ls.labels, {mc.method: mc.thresholds for mc, _, _ in fitted}).to_json(thr_path)
    elif thr_path.exists():
        thr_path.unlink()  # stale thresholds of an earlier calibration would be applied with the new calibrators
        notes.append(f"removed the earlier {thr_path.name}: thresholds are off")
    for old in out_dir.glob("reliability_*.png"):
        old.unlink()
    if plots:
        what = "human fraction q" if kind == "human" else "gold rate"
        for mc, raw, after in fitted:
            try:
                before_c = reliability_curves(raw, targets, ls.labels)
                after_c = reliability_curves(after, targets, ls.labels)
            except LabeldistError as e:  # e.g. a label named like the pooled panel
                notes.append(f"{mc.method}: no reliability plot ({e})")
                continue
            mc.plot = plot_reliability(before_c, after_c, out_dir / f"reliability_{_slug(mc.method)}.png",
                                       f"{mc.method} + {mc.selection.name}, {source} ({len(dev)} items, in-sample)",
                                       target_name=what)
            paths[f"plot:{mc.method}"] = mc.plot
    methods_out = [mc for mc, _, _ in fitted]
    paths["fit"] = write_fit(out_dir, {
        "run": str(run.run_dir.resolve()), "dataset": run.manifest.dataset, "model": run.model,
        "labels": list(ls.labels), "multilabel": ls.multilabel,
        "dev": {"source": "split" if dev_split is not None else "run", "split": split,
                "run": str(src.run_dir.resolve()), "n_items": len(dev), "ids": [r.id for r in dev]},
        "target": kind, "target_note": TARGET_WORDS[kind], "rule": RULE if calibrator is None else f"forced: {calibrator}",
        "seed": seed, "threshold_objective": threshold_objective, "threshold_target": threshold_target,
        "methods": {mc.method: mc.to_dict() for mc in methods_out}, "notes": notes,
    })
    return CalibrationReport(run.run_dir, out_dir, source, split, len(dev), kind, methods_out, threshold_objective,
                             threshold_target, paths, notes)


__all__ = ["CalibrationReport", "MethodCalibration", "calibrate_run", "check_same_config"]
