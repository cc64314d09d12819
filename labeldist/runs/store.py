"""Run directories: ``manifest.json`` plus ``records.jsonl``, written as examples finish.

A run directory is only created once its manifest can be written, and the manifest is
written atomically (:meth:`labeldist.records.Manifest.write`), so a crash before the first
record leaves either nothing or a valid, empty run. Records are appended one JSON line per
example and flushed + fsynced; a torn last line (the process died mid-write) is detected on
open, reported, and truncated away so the example is recomputed.

Records are read in the layout the manifest names (:data:`labeldist.records.LAYOUT_VERSION`;
a manifest without a version is layout 1): old runs still evaluate, but only a run of the
current layout can be resumed.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from labeldist.errors import LabeldistError
from labeldist.methods import infer_legacy_diagnostics
from labeldist.records import LAYOUT_VERSION, ExampleRecord, LabelSet, Manifest

RECORDS = "records.jsonl"


def read_manifest(run_dir: str | Path) -> Manifest:
    return Manifest.read(run_dir)


def _scan_records(path: Path) -> tuple[list[dict], int]:
    """Parse complete lines; return (records, byte offset just after the last good line)."""
    records: list[dict] = []
    good_end = 0
    with open(path, "rb") as f:
        data = f.read()
    pos = 0
    while pos < len(data):
        nl = data.find(b"\n", pos)
        if nl == -1:  # torn last line: no newline was written
            break
        line = data[pos:nl]
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                if data.find(b"\n", nl + 1) == -1 and not data[nl + 1 :].strip():
                    break  # a corrupt final line: treat as torn
                raise LabeldistError(
                    f"{path}: line {len(records) + 1} is not valid JSON",
                    "the file was edited or corrupted; delete that line or the run directory",
                ) from None
        pos = nl + 1
        good_end = pos
    return records, good_end


def _load(d: dict, manifest: Manifest) -> ExampleRecord:
    rec = ExampleRecord.from_dict(d, version=manifest.version)
    if manifest.version == 1:
        infer_legacy_diagnostics(rec, manifest.label_set)
    return rec


def iter_records(run_dir: str | Path, manifest: Manifest | None = None) -> Iterator[ExampleRecord]:
    """Complete records of a run, in the order they were written (a torn last line is skipped)."""
    path = Path(run_dir) / RECORDS
    if not path.exists():
        return iter(())
    manifest = manifest or read_manifest(run_dir)
    recs, _ = _scan_records(path)
    return (_load(r, manifest) for r in recs)


@dataclass
class RunStore:
    """Append-only writer for one run directory, with resume.

    ``open`` creates the directory (or checks that an existing one has the same config)
    and returns the store; ``done`` holds the records already written, by id.
    """

    run_dir: Path
    manifest: Manifest
    done: dict[str, ExampleRecord]
    torn_lines: int = 0

    @classmethod
    def open(cls, run_dir: str | Path, manifest: Manifest) -> "RunStore":
        run_dir = Path(run_dir)
        if (run_dir / "manifest.json").exists():
            old = read_manifest(run_dir)
            if old.version != LAYOUT_VERSION:
                raise LabeldistError(
                    f"{run_dir} holds a run of record layout {old.version}, made by an earlier labeldist; "
                    f"it can be evaluated but not resumed",
                    "use a new --out directory to rerun it",
                )
            if old.config != manifest.config:
                diff = sorted(k for k in set(old.config) | set(manifest.config) if old.config.get(k) != manifest.config.get(k))
                raise LabeldistError(
                    f"{run_dir} holds a run with a different config (differs in: {', '.join(diff) or '?'})",
                    "use a new --out directory, or the same options to resume",
                )
            old.resumed += 1
            for key in ("train_base_rates",):  # e.g. a run made before base rates were recorded
                if getattr(old, key) is None and getattr(manifest, key) is not None:
                    setattr(old, key, getattr(manifest, key))
            manifest = old
        else:
            if run_dir.exists() and any(run_dir.iterdir()):
                raise LabeldistError(f"{run_dir} exists and is not a labeldist run", "choose an empty or new --out directory")
            run_dir.mkdir(parents=True, exist_ok=True)
        manifest.write(run_dir)
        rpath = run_dir / RECORDS
        done: dict[str, ExampleRecord] = {}
        torn = 0
        if rpath.exists():
            recs, good_end = _scan_records(rpath)
            if good_end < rpath.stat().st_size:
                torn = 1
                with open(rpath, "r+b") as f:
                    f.truncate(good_end)
            done = {r["id"]: _load(r, manifest) for r in recs}
        return cls(run_dir, manifest, done, torn)

    def append(self, record: ExampleRecord) -> None:
        line = json.dumps(record.to_dict(), ensure_ascii=False, sort_keys=True)
        with open(self.run_dir / RECORDS, "a", encoding="utf-8") as f:
            f.write(line + "\n")
            f.flush()
            os.fsync(f.fileno())
        self.done[record.id] = record

    def update_manifest(self, **fields) -> None:
        for k, v in fields.items():
            setattr(self.manifest, k, v)
        self.manifest.write(self.run_dir)


def run_label_set(run_dir: str | Path) -> LabelSet:
    return read_manifest(run_dir).label_set
