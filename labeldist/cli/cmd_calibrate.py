"""``labeldist calibrate RUN_DIR (--dev-split NAME | --dev-run DIR)``: fit calibrators and thresholds on dev records."""

from __future__ import annotations

import argparse
from pathlib import Path

from labeldist.calibration import CALIBRATORS, MIN_ITEMS, OBJECTIVES, RULE
from labeldist.methods import METHODS


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "calibrate",
        help="fit each method's calibrator and per-label thresholds on dev records",
        description="Fit a calibrator per method on dev records against the annotator fractions q (the 0/1 gold "
        f"where the data has no annotators) and choose per-label thresholds on the calibrated dev probabilities. "
        f"Choice rule: {RULE}. Minimums: {MIN_ITEMS} dev items; platt and isotonic need, per label, a dev item with "
        "q > 0 and one with q < 1; thresholds (chosen against the dev gold labels) need a dev item with each label. Writes "
        "calibration.json, thresholds.json, fit.json and dev reliability diagrams to RUN_DIR/calibration (or --out), "
        "which `labeldist evaluate RUN_DIR` then uses.",
    )
    p.add_argument("run_dir", metavar="RUN_DIR", type=Path, help="run directory to calibrate (and later evaluate)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--dev-split", metavar="NAME", help="fit on RUN_DIR's own records of this split (e.g. dev; "
                     "`labeldist run --split dev+test` writes both)")
    src.add_argument("--dev-run", metavar="DIR", type=Path,
                     help="fit on every record of this run directory (same model, label set and options)")
    p.add_argument("--calibrator", choices=list(CALIBRATORS), default=None,
                   help="force one calibrator for every method (default: the dev CV-NLL rule; temperature applies "
                        "to the step-based methods only)")
    p.add_argument("--methods", default=None,
                   help=f"comma list of methods to calibrate (default: all in the records); one of {', '.join(METHODS)}")
    thr = p.add_argument_group("thresholds")
    thr.add_argument("--threshold-objective", choices=list(OBJECTIVES), default="f1",
                     help="per-label threshold objective: max F1, or the largest recall at a precision target, or "
                          "the highest threshold at a recall target (default f1)")
    thr.add_argument("--threshold-target", type=float, default=None,
                     help="precision or recall target in (0, 1] for every label")
    thr.add_argument("--no-thresholds", action="store_true", help="fit calibrators only")
    p.add_argument("--out", type=Path, default=None, help="calibration directory (default: RUN_DIR/calibration)")
    p.add_argument("--seed", type=int, default=0, help="seed of the cross-validation folds (default 0)")
    p.add_argument("--no-plots", action="store_true", help="skip the dev reliability diagrams")
    return p


def run(args: argparse.Namespace) -> int:
    from labeldist.report.calibrate_run import calibrate_run

    methods = [m.strip() for m in args.methods.split(",") if m.strip()] if args.methods else None
    objective = None if args.no_thresholds else args.threshold_objective
    target = args.threshold_target
    if args.no_thresholds and target is not None:
        from labeldist.errors import LabeldistError

        raise LabeldistError("--threshold-target was given with --no-thresholds", "drop one of them")
    report = calibrate_run(args.run_dir, dev_split=args.dev_split, dev_run=args.dev_run, calibrator=args.calibrator,
                           methods=methods, threshold_objective=objective, threshold_target=target, out=args.out,
                           seed=args.seed, plots=not args.no_plots)
    print(report.summary())
    return 0
