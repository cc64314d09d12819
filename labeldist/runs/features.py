"""Hidden-state features of a run, stored beside its records so a resume never regenerates them.

Two files in a folder: ``features.f32`` (rows of float32, appended) and ``features.jsonl``
(one line per row: id, split, row, dim), written after the row's bytes are fsynced. On
open, rows whose index line is missing (a crash between the two writes) are cut off the
binary file, so both files always agree.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from labeldist.errors import LabeldistError

DATA, INDEX = "features.f32", "features.jsonl"


class FeatureStore:
    """Append-only store of one feature vector per (split, id)."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.index: dict[tuple[str, str], int] = {}
        self.dim: int | None = None
        ipath, dpath = self.folder / INDEX, self.folder / DATA
        if ipath.exists():
            lines = ipath.read_text(encoding="utf-8").splitlines(keepends=True)
            good = 0
            for line in lines:
                if not line.endswith("\n"):
                    break  # a torn last index line: its row is cut off below
                d = json.loads(line)
                self.dim = self.dim or int(d["dim"])
                self.index[(d["split"], d["id"])] = int(d["row"])
                good += 1
            if good < len(lines):
                ipath.write_text("".join(lines[:good]), encoding="utf-8")
        if dpath.exists() and self.dim:
            size = len(self.index) * self.dim * 4
            if dpath.stat().st_size < size:
                raise LabeldistError(f"{dpath} is shorter than its index", f"delete {self.folder} to recompute the features")
            with open(dpath, "r+b") as f:
                f.truncate(size)

    def __contains__(self, key: tuple[str, str]) -> bool:
        return key in self.index

    def append(self, split: str, id: str, vector: np.ndarray) -> None:
        v = np.asarray(vector, dtype=np.float32).ravel()
        if self.dim is None:
            self.dim = v.size
        if v.size != self.dim or not np.all(np.isfinite(v)):
            raise LabeldistError(f"feature of item {id!r} has {v.size} values (expected {self.dim}) or is not finite",
                                 "report this as a bug")
        row = len(self.index)
        with open(self.folder / DATA, "ab") as f:
            f.write(v.tobytes())
            f.flush()
            os.fsync(f.fileno())
        with open(self.folder / INDEX, "a", encoding="utf-8") as f:
            f.write(json.dumps({"id": id, "split": split, "row": row, "dim": self.dim}) + "\n")
            f.flush()
            os.fsync(f.fileno())
        self.index[(split, id)] = row

    def matrix(self, split: str, ids) -> np.ndarray:
        """Rows of ``ids`` (all must be stored), shape (n, dim), float32."""
        if not self.dim:
            raise LabeldistError(f"no features stored in {self.folder}", "run the generation pass first")
        data = np.memmap(self.folder / DATA, dtype=np.float32, mode="r", shape=(len(self.index), self.dim))
        return np.array([data[self.index[(split, i)]] for i in ids], dtype=np.float32)
