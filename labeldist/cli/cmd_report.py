"""``labeldist report RUN_DIR... --out report.html``: one self-contained HTML page of a run or a comparison."""

from __future__ import annotations

import argparse
from pathlib import Path

from labeldist.report.html import N_EXAMPLES


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "report",
        help="one self-contained HTML page of a run or a comparison of runs",
        description="Write one HTML file (no network, images embedded) showing the given runs: provenance, the "
        "alignment table with bootstrap intervals and the best cell marked, reliability diagrams and per-label "
        "bars, the run summary, RUN_DIR/analysis and RUN_DIR/calibration outputs when present, and example items "
        "with their probabilities by method. Runs with different label sets are shown as separate sections; "
        "incomplete or older runs are flagged on the page.",
    )
    p.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="run directories written by `labeldist run`")
    p.add_argument("--out", type=Path, default=Path("report.html"), help="output file (default: report.html)")
    p.add_argument("--n-boot", type=int, default=1000, help="bootstrap resamples for the intervals (default: 1000)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default: 0)")
    p.add_argument("--examples", type=int, default=N_EXAMPLES,
                   help=f"example items shown per section, the first by id (default: {N_EXAMPLES})")
    p.add_argument("--calibrate", metavar="SPLIT", default=None,
                   help="add Platt-scaled rows fitted on this split (as `labeldist evaluate --calibrate`)")
    p.add_argument("--title", default=None, help="page title (default: the datasets' names)")
    return p


def run(args: argparse.Namespace) -> int:
    from labeldist.report.html import write_report

    report = write_report(args.run_dirs, args.out, n_boot=args.n_boot, seed=args.seed, n_examples=args.examples,
                          calibrate=args.calibrate, title=args.title)
    flagged = f"; {len(report.warnings)} warnings shown on the page" if report.warnings else ""
    print(f"wrote {args.out} ({report.n_sections} section{'s' if report.n_sections != 1 else ''}, "
          f"{report.n_images} images, {len(report.html) / 1e6:.1f} MB{flagged})")
    return 0
