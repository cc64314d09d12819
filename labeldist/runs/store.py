"""Run directories: ``manifest.json`` plus ``records.jsonl``, written as examples finish.

A run directory is only created once its manifest can be written, and the manifest is
written atomically (temp file + rename), so a crash before the first record leaves either
nothing or a valid, empty run. Records are appended one JSON line per example and
flushed + fsynced; a torn last line (the process died mid-write) is detected on open,
reported, and truncated away so the example is recomputed.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from labeldist.errors import LabeldistError
from labeldist.records import LabelSet
from labeldist.runs.records import ExampleRecord

MANIFEST = "manifest.json"
RECORDS = "records.jsonl"


def _atomic_write_json(path: Path, obj: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, sort_keys=True)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)


def read_manifest(run_dir: str | Path) -> dict:
    path = Path(run_dir) / MANIFEST
    if not path.is_file():
        raise LabeldistError(f"{run_dir} is not a labeldist run (no {MANIFEST})", "pass a directory written by `labeldist run`")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise LabeldistError(f"{path} is not valid JSON ({e.msg} at line {e.lineno})", "delete the run directory and run again") from None


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


def iter_records(run_dir: str | Path) -> Iterator[ExampleRecord]:
    """Complete records of a run, in the order they were written (a torn last line is skipped)."""
    path = Path(run_dir) / RECORDS
    if not path.exists():
        return iter(())
    recs, _ = _scan_records(path)
    return (ExampleRecord.from_dict(r) for r in recs)


@dataclass
class RunStore:
    """Append-only writer for one run directory, with resume.

    ``open`` creates the directory (or checks that an existing one has the same config)
    and returns the store; ``done`` holds the ids already recorded.
    """

    run_dir: Path
    manifest: dict
    done: dict[str, dict]
    torn_lines: int = 0

    @classmethod
    def open(cls, run_dir: str | Path, manifest: dict, *, resume_key: str = "config") -> "RunStore":
        run_dir = Path(run_dir)
        mpath = run_dir / MANIFEST
        if mpath.exists():
            old = read_manifest(run_dir)
            if old.get(resume_key) != manifest.get(resume_key):
                diff = sorted(
                    k for k in set(old.get(resume_key, {})) | set(manifest.get(resume_key, {}))
                    if old.get(resume_key, {}).get(k) != manifest.get(resume_key, {}).get(k)
                )
                raise LabeldistError(
                    f"{run_dir} holds a run with a different config (differs in: {', '.join(diff) or '?'})",
                    "use a new --out directory, or the same options to resume",
                )
            manifest = {**old, "resumed": old.get("resumed", 0) + 1}
        else:
            if run_dir.exists() and any(run_dir.iterdir()):
                raise LabeldistError(f"{run_dir} exists and is not a labeldist run", "choose an empty or new --out directory")
            run_dir.mkdir(parents=True, exist_ok=True)
        _atomic_write_json(mpath, manifest)
        rpath = run_dir / RECORDS
        done: dict[str, dict] = {}
        torn = 0
        if rpath.exists():
            recs, good_end = _scan_records(rpath)
            if good_end < rpath.stat().st_size:
                torn = 1
                with open(rpath, "r+b") as f:
                    f.truncate(good_end)
            done = {r["id"]: r for r in recs}
        return cls(run_dir, manifest, done, torn)

    def append(self, record: ExampleRecord) -> None:
        line = json.dumps(record.to_dict(), ensure_ascii=False, sort_keys=True)
        with open(self.run_dir / RECORDS, "a", encoding="utf-8") as f:
            f.write(line + "\n")
            f.flush()
            os.fsync(f.fileno())
        self.done[record.id] = record.to_dict()

    def update_manifest(self, **fields) -> None:
        self.manifest.update(fields)
        _atomic_write_json(self.run_dir / MANIFEST, self.manifest)


def run_label_set(run_dir: str | Path) -> LabelSet:
    return LabelSet.from_dict(read_manifest(run_dir)["label_set"])
