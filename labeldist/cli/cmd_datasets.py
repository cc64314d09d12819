"""``labeldist datasets``: list the registered datasets and which are available on this machine."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from labeldist.data.registry import REGISTRY, describe, resolve_root


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "datasets",
        help="list datasets available on this machine",
        description="Load every registered dataset once and show its splits, labels and annotators.",
    )
    p.add_argument("names", nargs="*", metavar="NAME", help="only these datasets (default: all)")
    p.add_argument("--root", help="folder holding the shared datasets (default: $LABELDIST_SHARED_DATASETS "
                                  "or ../shared/datasets next to the repository)")
    p.add_argument("--json", action="store_true", help="print one JSON object per dataset instead of a table")
    p.add_argument("--all", action="store_true", help="also list the datasets that are not available")
    p.add_argument("--stats", action="store_true",
                   help="Table 1: annotators per item, labels per item and inter-annotator agreement (Krippendorff's "
                        "alpha per label; Cohen's kappa where every item has two annotators) of each named dataset")
    p.add_argument("--stats-out", default=None, metavar="PATH",
                   help="with --stats: also write PATH.md and PATH.csv")
    p.add_argument("--presets", action="store_true",
                   help="show each registered dataset's prompt preset (instruction, template, answer format) and exit")
    p.add_argument("--help-layouts", action="store_true",
                   help="explain the annotated-file layouts accepted by `labeldist run --data`, with an example file and command for each, and exit")
    return p


def _row(info) -> list[str]:
    if not info.available:
        return [info.name, "-", "-", "-", "-", "-", info.reason]
    splits = " / ".join(f"{k} {v}" for k, v in info.n_items.items())
    labels = ",".join(info.labels)
    if len(labels) > 40:
        labels = labels[:37] + "..."
    ann = "no"
    if info.annotators_per_item:
        lo, mean, hi = info.annotators_per_item
        ann = f"yes {lo}-{hi} (mean {mean:.1f})" if lo != hi else f"yes {lo}"
    return [info.name, splits, f"{len(info.labels)}: {labels}", "yes" if info.multilabel else "no", ann,
            f"{info.load_seconds:.2f}s", ""]


def _print_presets(names) -> None:
    from labeldist.prompts.presets import DATASET_TASKS, preset_for

    for name in names:
        if name not in DATASET_TASKS:
            continue
        info = describe(name)  # multi- or single-label decides the generic shape
        paper, _ = DATASET_TASKS[name]
        multi = info.multilabel if info.available else paper != "hatexplain"
        p = preset_for(name, multilabel=multi)
        print(f"{name}: {p.label_format}, {p.max_new_tokens} new tokens, demos {p.demo_sampling}; {p.source}")
        print(f"  instruction: {p.instruction!r}")
        print(f"  template:    {p.template!r}")


def _print_stats(args) -> None:
    from labeldist.analyses.dataset_stats import dataset_stats_row
    from labeldist.analyses.tables import markdown_table, write_table
    from labeldist.data.registry import load_dataset

    names = args.names or [i.name for i in (describe(n, root=args.root) for n in REGISTRY) if i.available]
    rows = [dataset_stats_row(load_dataset(n, root=args.root)) for n in names]
    print(markdown_table(rows), end="")
    if args.stats_out:
        md, csv = write_table(rows, args.stats_out, title="Annotation statistics (Table 1)")
        print(f"\nwrote {md} and {csv}")


def run(args) -> int:
    if args.stats:
        _print_stats(args)
        return 0
    if args.presets:
        _print_presets(args.names or list(REGISTRY))
        return 0
    if args.help_layouts:
        from labeldist.data import files
        from labeldist.data.layout import format_examples

        print(files.__doc__.strip())
        print()
        print(format_examples())
        return 0
    names = args.names or list(REGISTRY)
    infos = [describe(n, root=args.root) for n in names]
    if args.json:
        for info in infos:
            print(json.dumps(asdict(info)))
        return 0
    shown = [i for i in infos if i.available or args.all or args.names]
    header = ["name", "items per split", "labels", "multilabel", "annotators", "load", "note"]
    rows = [header] + [_row(i) for i in shown]
    widths = [max(len(r[j]) for r in rows) for j in range(len(header) - 1)]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)) + ("  " + r[-1] if r[-1] else ""))
    hidden = len(infos) - len(shown)
    print(f"\nshared datasets root: {resolve_root(args.root)}"
          + (f"; {hidden} registered dataset(s) not available here (--all shows why)" if hidden else ""))
    return 0
