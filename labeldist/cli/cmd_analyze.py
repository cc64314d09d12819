"""``labeldist analyze RUN_DIR...``: the paper's Section-4 analyses of run directories, as figures, tables and findings."""

from __future__ import annotations

import argparse
from pathlib import Path

from labeldist.analyses.intervals import N_BOOT
from labeldist.analyses.spikiness import MIN_TOP

DESCRIPTION = """\
Section 4 of the paper on the given runs: per-step confidence (top-1, top-1/top-2 ratio, entropy; last vs
intermediate steps; the second-highest-predicted-next and never-predicted rates), spikiness of the first step,
accuracy by generation order, the multi-label output rate (with a demo-share sweep from `labeldist sweep`), label
order (runs with --label-order canonical/reverse/random on the same items), attention (runs made with
--attention), probes (runs holding probe features) and, for runs of one dataset by several models, scale.
Every statistic gets a cluster-bootstrap interval over examples, and each finding of the paper a verdict:
holds / does not hold / inconclusive. Writes README.md, findings.md/.csv, tables/*.md/.csv and figures/*.png."""


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("analyze", help="the paper's Section-4 analyses of runs: figures, tables, findings",
                              description=DESCRIPTION)
    p.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="run directories written by `labeldist run`")
    p.add_argument("--out", type=Path, default=None,
                   help="output directory (default: RUN_DIR/analysis for one run, where `labeldist report` finds it; "
                        "./analysis for several)")
    p.add_argument("--remove-none", action="store_true",
                   help="stop each example at its first step whose top candidate is none (the reference's option)")
    p.add_argument("--first-occurrence", action="store_true",
                   help="keep only each label's first step (the reference's view; default: one step per label slot)")
    p.add_argument("--no-spikiness-filter", action="store_true",
                   help=f"Fig 4: keep every example (default: the reference's filter, top >= {MIN_TOP:g} and a "
                        "predicted label; the counts are printed either way)")
    p.add_argument("--min-count", type=int, default=11,
                   help="Fig 5: keep a generation rank with at least this many examples (default 11, the reference's)")
    p.add_argument("--n-boot", type=int, default=N_BOOT, help=f"bootstrap resamples (default {N_BOOT})")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    p.add_argument("--title", default="Section-4 analyses", help="heading of README.md")
    return p


def run(args: argparse.Namespace) -> int:
    from labeldist.analyses.output import AnalysisOptions
    from labeldist.analyses.runs import load_analysis_runs
    from labeldist.analyses.suite import analyze_runs
    from labeldist.analyses.writer import report_text, write_report
    from labeldist.errors import LabeldistError

    if args.n_boot < 1 or args.min_count < 0:
        raise LabeldistError(f"--n-boot {args.n_boot} / --min-count {args.min_count} out of range",
                             "pass --n-boot >= 1 and --min-count >= 0")
    runs = load_analysis_runs(args.run_dirs, first_occurrence=args.first_occurrence)
    options = AnalysisOptions(remove_none=args.remove_none, first_occurrence=args.first_occurrence, n_boot=args.n_boot,
                              seed=args.seed, spikiness_filter=not args.no_spikiness_filter, min_count=args.min_count)
    report = analyze_runs(runs, options)
    out = args.out or (Path(args.run_dirs[0]) / "analysis" if len(args.run_dirs) == 1 else Path("analysis"))
    paths = write_report(report, out, title=args.title)
    print(report_text(report))
    n_fig = sum(k.startswith("figure:") for k in paths)
    n_tab = sum(k.startswith("table:") for k in paths)
    print(f"\nwrote {paths['readme']} with {n_tab} tables and {n_fig} figures under {out}")
    return 0
