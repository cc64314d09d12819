"""``labeldist evaluate RUN_DIR...``: Table 2 (NLL, L1, example-F1 with 95% bootstrap intervals), files and plots."""

from __future__ import annotations

import argparse
from pathlib import Path

from labeldist.methods import calibratable_methods


DATA_ON_STDOUT = True  # --json / --format: data via labeldist.cli.output, all else to stderr


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "evaluate",
        help="score runs against human distributions: Table 2 with bootstrap intervals",
        description="Score every method of the given run directories against the human annotator "
        "distributions (NLL, L1, Brier) and the aggregate gold labels (example-F1, Jaccard, micro/macro F1, "
        "ECE, ROC-AUC, AP), with the base-rate and uniform baselines, 95% percentile bootstrap intervals "
        "and paired bootstrap tests. Prints Table 2 and writes table.md, table.csv, scores.csv, "
        "comparisons.csv, per_label.csv, results.json and plots/*.png. With a calibration directory (RUN_DIR/calibration "
        "from `labeldist calibrate`, or --calibration DIR) also '<method> + <calibrator>' rows, a 'calibration: NLL "
        "and ECE before -> after' table and reliability diagrams before/after; its dev records are not evaluated.",
    )
    p.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="run directories written by `labeldist run`")
    p.add_argument("--out", type=Path, default=None, help="output directory (default: RUN_DIR/evaluation for one run, "
                   "./evaluation for several)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default: 0)")
    p.add_argument("--n-boot", type=int, default=1000, help="bootstrap resamples (default: 1000)")
    cal = p.add_mutually_exclusive_group()
    cal.add_argument("--calibration", metavar="DIR", type=Path, default=None,
                     help="calibration directory from `labeldist calibrate` for every run (default: each run's "
                          "RUN_DIR/calibration where it exists): adds '<method> + <calibrator>' rows, the before → "
                          "after table and reliability diagrams; its dev records are not evaluated")
    cal.add_argument("--no-calibration", action="store_true", help="ignore RUN_DIR/calibration: raw rows only")
    p.add_argument("--calibrate", metavar="SPLIT", default=None,
                   help=f"reference variant: fit one shared Platt (w, b) of "
                        f"{', '.join(s.name for s in calibratable_methods())} on this split at evaluation time "
                        "(e.g. dev) and add its rows")
    p.add_argument("--split", default=None, help="evaluate only records of this split (default: all records not used "
                   "for calibration)")
    p.add_argument("--threshold", type=float, default=None,
                   help="global threshold t of micro-F1@t and Hamming loss (default 0.2, the token-level "
                        "marginalization paper's; fixed, never tuned on the evaluated labels)")
    p.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    p.add_argument("--json", action="store_true", help="print one JSON summary (scores with intervals, notes, paths "
                   "written) on stdout and nothing else")
    return p


def run(args: argparse.Namespace) -> int:
    from labeldist.report import evaluate_runs

    calibration = None if args.no_calibration else (args.calibration or "auto")
    result = evaluate_runs(args.run_dirs, seed=args.seed, n_boot=args.n_boot, calibrate=args.calibrate,
                           split=args.split, threshold=args.threshold, calibration=calibration)
    out = args.out or (Path(args.run_dirs[0]) / "evaluation" if len(args.run_dirs) == 1 else Path("evaluation"))
    paths = result.write(out, plots=not args.no_plots)
    if args.json:
        from labeldist.cli.output import print_json

        print_json(args, evaluation_summary(result, paths, out))
        return 0
    sizes = ", ".join(f"{d.name}: {d.n_examples} examples" for d in result.datasets)
    print(f"Distribution alignment ({sizes}); cells: value [{round(100 * result.confidence)}% bootstrap interval, "
          f"{result.n_boot} resamples, seed {result.seed}]; F1 = example-F1\n")
    print(result.table())
    from labeldist.metrics import TOKEN_LEVEL_METRICS

    print("\nToken-level marginalization metrics (Praharaj & Kasundra): micro-F1@t, Hamming loss at t, micro ROC-AUC\n")
    print(result.table(TOKEN_LEVEL_METRICS))
    if result.calibration_effects:
        from labeldist.report.tables import calibration_markdown

        print("\ncalibration: NLL and ECE before → after (ECE pooled over entries, against q or gold)\n")
        print(calibration_markdown(result))
    for note in result.notes:
        print(f"note: {note}")
    print(f"\nwrote {paths['markdown']} (every metric, paired tests), {paths['table_csv']}, {paths['json']} "
          f"and {sum(':' in k for k in paths)} plots to {out}")
    return 0


def evaluation_summary(result, paths: dict[str, Path], out: Path) -> dict:
    """The ``--json`` summary: datasets, rows, every score with its interval, calibration fits, notes, files."""
    full = result.to_dict()
    keep = ("seed", "n_boot", "confidence", "calibrate", "split", "datasets", "methods", "scores", "calibration",
            "notes")
    return {"out_dir": str(out), **{k: full[k] for k in keep if k in full},
            "paths": {k: str(v) for k, v in paths.items()}}
