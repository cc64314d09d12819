"""Per-dataset run summaries of the reproduction, side by side: answers without a label slot, mass outside
the answer grammar, grammar overrides, binary order disagreement, timing.

    .venv/bin/python docs/summarize_runs.py RUNS_DIR [MORE_RUNS_DIR ...] > docs/results/runs.md

Each RUNS_DIR holds one run directory per dataset (as docs/reproduce.sh writes them); the columns of
each are recomputed from the records (so runs of any record layout compare the same way).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from labeldist.records import Manifest
from labeldist.runs.store import iter_records


def summarize(run: Path) -> dict:
    man = Manifest.read(run)
    recs = list(iter_records(run, man))
    gen = [r for r in recs if r.generation is not None]
    slots = [s for r in recs for s in r.steps if s.outside_mass is not None]
    dis = [r.binary.position_disagreement for r in recs if r.binary and r.binary.position_disagreement is not None]
    decoding = man.config.get("run", {}).get("decoding", "free (layout 1)" if man.version == 1 else "free")
    return {
        "dataset": man.dataset, "decoding": decoding, "items": len(recs),
        "no_slot": sum(not r.steps for r in gen),
        "outside": float(np.mean([s.outside_mass for s in slots])) if slots else None,
        "override": float(np.mean([bool(s.overridden) for s in slots])) if slots else None,
        "malformed": sum(not r.generation.diagnostics.well_formed for r in gen),
        "binary_disagreement": float(np.mean(dis)) if dis else None,
        "seconds": (man.summary.seconds if man.summary else None),
    }


def fmt(x, digits=3) -> str:
    return "—" if x is None else (f"{x:.{digits}f}" if isinstance(x, float) else str(x))


def main(argv: list[str]) -> int:
    rows = []
    for folder in argv:
        for run in sorted(p for p in Path(folder).iterdir() if (p / "manifest.json").is_file()):
            rows.append({"runs": folder, **summarize(run)})
    print("| dataset | runs | decoding | items | no label slot | mean mass outside the grammar | grammar overrode "
          "argmax | malformed answers | binary order disagreement | seconds |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in sorted(rows, key=lambda r: (r["dataset"], r["runs"])):
        print(f"| {r['dataset']} | {r['runs']} | {r['decoding']} | {r['items']} | {r['no_slot']} | {fmt(r['outside'])} | "
              f"{fmt(r['override'])} | {r['malformed']} | {fmt(r['binary_disagreement'])} | {fmt(r['seconds'], 0)} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
