"""Compare a run directory with a reference run of the same config: what a crash campaign checks."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from labeldist.runs.store import RECORDS


@dataclass
class RunComparison:
    """``lines``: complete JSON lines in records.jsonl; ``torn_tail``: bytes after the last newline."""

    lines: int = 0
    duplicates: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    torn_tail: int = 0
    worst_diff: float = 0.0  # max |p - p_ref| over ids, methods and labels
    generation_mismatch: list[str] = field(default_factory=list)  # ids whose generated token ids differ
    method_mismatch: list[str] = field(default_factory=list)  # ids whose method names differ

    @property
    def same_records(self) -> bool:
        return not (self.duplicates or self.missing or self.extra or self.torn_tail or self.generation_mismatch
                    or self.method_mismatch)


def read_lines(run_dir: Path) -> tuple[list[dict], int]:
    """Parsed complete lines and the length of a torn tail (0 when the file ends with a newline)."""
    path = Path(run_dir) / RECORDS
    if not path.exists():
        return [], 0
    data = path.read_bytes()
    body, _, tail = data.rpartition(b"\n")
    if not _:
        body, tail = b"", data
    return [json.loads(l) for l in body.split(b"\n") if l.strip()], len(tail)


def compare_runs(run_dir: Path, reference: Path) -> RunComparison:
    got, torn = read_lines(run_dir)
    ref, _ = read_lines(reference)
    c = RunComparison(lines=len(got), torn_tail=torn)
    ids = [r["id"] for r in got]
    c.duplicates = sorted({i for i in ids if ids.count(i) > 1})
    by_ref = {r["id"]: r for r in ref}
    by_got = {r["id"]: r for r in got}
    c.missing = sorted(set(by_ref) - set(by_got))
    c.extra = sorted(set(by_got) - set(by_ref))
    for i in sorted(set(by_ref) & set(by_got)):
        a, b = by_got[i], by_ref[i]
        if set(a["methods"]) != set(b["methods"]):
            c.method_mismatch.append(i)
            continue
        for m in a["methods"]:
            d = np.abs(np.asarray(a["methods"][m], dtype=float) - np.asarray(b["methods"][m], dtype=float))
            c.worst_diff = max(c.worst_diff, float(np.nanmax(d)) if d.size else 0.0)
        ga, gb = a.get("generation"), b.get("generation")
        if (ga or {}).get("ids") != (gb or {}).get("ids"):
            c.generation_mismatch.append(i)
    return c
