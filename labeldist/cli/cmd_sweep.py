"""``labeldist sweep --demo-ratios 0,0.2,...``: one run per share of multi-label demos, then their analysis (Fig 6)."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from labeldist.cli.cmd_run import add_run_arguments

DATA_ON_STDOUT = True  # --json: one summary object on stdout, all else to stderr
DEFAULT_RATIOS = "0,0.2,0.4,0.6,0.8,1"


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "sweep", help="one run per share of multi-label demos (Fig 6), then `labeldist analyze` on them",
        description="Classify the same items once per share of multi-label demonstrations (multilabel demo "
                    "sampling: floor(shots x share) demos with >= 2 labels, the rest with one), with one loaded model "
                    "whose prefix cache keeps each prompt's demos; each share gets its own resumable run directory "
                    "OUT/ratio-<share>, and the runs are then analysed into OUT/analysis (the multi-label output rate "
                    "against the demo share, Fig 6, with every other Section-4 analysis).")
    add_run_arguments(p, out_help="folder for the run directories ratio-<share> and analysis/ "
                                  "(default: runs/sweep-<data>-<model>; rerun to resume)")
    p.add_argument("--demo-ratios", default=DEFAULT_RATIOS, metavar="R,R,...",
                   help=f"shares of multi-label demos, each in [0, 1] (default {DEFAULT_RATIOS})")
    p.add_argument("--n-boot", type=int, default=1000, help="bootstrap resamples of the analysis (default 1000)")
    return p


def parse_ratios(text: str) -> list[float]:
    """``"0,0.2,1"`` -> [0.0, 0.2, 1.0]: at least two distinct shares in [0, 1], kept in the given order."""
    from labeldist.errors import LabeldistError

    try:
        ratios = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise LabeldistError(f"--demo-ratios {text!r} is not a comma list of numbers", "pass e.g. 0,0.2,0.4") from None
    if len(set(ratios)) < 2 or len(set(ratios)) != len(ratios) or not all(0.0 <= r <= 1.0 for r in ratios):
        raise LabeldistError(f"--demo-ratios {text!r} must list two or more distinct shares in [0, 1]",
                             f"pass e.g. {DEFAULT_RATIOS}")
    return ratios


def run(args: argparse.Namespace) -> int:
    from labeldist import api
    from labeldist.analyses.output import AnalysisOptions
    from labeldist.analyses.runs import load_analysis_runs
    from labeldist.analyses.suite import analyze_runs
    from labeldist.analyses.writer import report_text, write_report
    from labeldist.cli.cmd_run import load_inputs
    from labeldist.cli.options import backend_options, run_config
    from labeldist.errors import LabeldistError
    from labeldist.prompts.presets import preset_for

    ratios = parse_ratios(args.demo_ratios)
    if args.demo_ratio is not None:
        raise LabeldistError("--demo-ratio sets one share; a sweep takes --demo-ratios", "drop --demo-ratio")
    if args.shots < 1:
        raise LabeldistError("a demo-share sweep needs demonstrations", "pass --shots 1 or more (e.g. 10)")
    examples, label_set, pool, train, dev, source = load_inputs(args)
    if not label_set.multilabel:
        raise LabeldistError("the share of multi-label demos only exists for multi-label label sets",
                             "sweep a multi-label dataset, or drop --single-label")
    config = run_config(args, preset=preset_for(args.dataset, multilabel=True, task=args.task))
    if config.prompt.demo_sampling not in (None, "multilabel"):
        raise LabeldistError(f"--demo-sampling {config.prompt.demo_sampling} ignores the multi-label demo share",
                             "use --demo-sampling multilabel (the default for multi-label sets)")
    name = Path(str(source["name"])).stem
    out = Path(args.out) if args.out else Path("runs") / f"sweep-{name}-{Path(config.model).stem}"
    backend = api.load_backend(config.model, backend=config.backend, **backend_options(args))
    results = []
    for r in ratios:
        cfg = replace(config, prompt=replace(config.prompt, demo_ratio=r))
        res = api.run(examples, label_set, out / f"ratio-{r:g}", config=cfg, demo_pool=pool, train_pool=train,
                      dev_pool=dev, data_source=source, backend=backend, progress=not args.quiet)
        s = res.summary
        print(f"ratio {r:g}: {res.run_dir}  ({s.n_examples} examples: {s.n_new} new, {s.seconds:.1f} s)")
        results.append(res)
    runs = load_analysis_runs([res.run_dir for res in results])
    report = analyze_runs(runs, AnalysisOptions(n_boot=args.n_boot, seed=args.seed))
    paths = write_report(report, out / "analysis", title=f"Demo-share sweep: {name}, {config.model}")
    if args.json:
        from labeldist.cli.output import print_json

        print_json(args, {"runs": [api.run_summary_dict(res) for res in results], "analysis": str(paths["readme"]),
                          "paths": {k: str(v) for k, v in paths.items()}})
        return 0
    print(report_text(report))
    print(f"\nwrote {paths['readme']}")
    return 0
