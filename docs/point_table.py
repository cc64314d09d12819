"""Point estimates of an evaluation's scores.csv as one Markdown table (rows: dataset × metric;
columns: methods), the summary docs/results/README.md shows; intervals stay in table.md.

    .venv/bin/python docs/point_table.py docs/results/scores.csv [--metrics nll,l1,example_f1]
"""

from __future__ import annotations

import argparse
import csv
from collections import defaultdict

ARROW = {"nll": "↓", "l1": "↓", "example_f1": "↑", "micro_f1@t": "↑", "hamming@t": "↓", "micro_roc_auc": "↑"}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scores")
    ap.add_argument("--metrics", default="nll,l1,example_f1")
    ap.add_argument("--methods", default=None, help="comma list (default: every method, in file order)")
    args = ap.parse_args(argv)
    metrics = args.metrics.split(",")
    cells, methods = defaultdict(dict), []
    with open(args.scores, newline="") as f:
        for row in csv.DictReader(f):
            if row["metric"] not in metrics:
                continue
            cells[(row["dataset"], row["metric"])][row["method"]] = float(row["value"])
            if row["method"] not in methods:
                methods.append(row["method"])
    if args.methods:
        methods = [m for m in args.methods.split(",") if m in methods]
    print("| dataset | metric | " + " | ".join(methods) + " |")
    print("|---|---|" + "---:|" * len(methods))
    for (d, m) in sorted(cells, key=lambda k: (k[0], metrics.index(k[1]))):
        vals = [cells[(d, m)].get(meth) for meth in methods]
        print(f"| {d} | {m} {ARROW.get(m, '')} | " + " | ".join("—" if v is None else f"{v:.3f}" for v in vals) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
