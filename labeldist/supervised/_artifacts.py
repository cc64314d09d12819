"""Atomic artefact directories: write into a hidden temp sibling, then rename into place.

A crash mid-save leaves only a ``.<name>.tmp-*`` sibling (never read by ``load``), so a
directory at the final path is always a complete artefact. Each artefact has a JSON
manifest whose ``format`` field says which class wrote it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

from labeldist.errors import LabeldistError

MANIFEST = "classifier.json"


@contextlib.contextmanager
def atomic_dir(dest: str | Path, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temp directory; on normal exit it becomes ``dest``, on an exception it is removed.

    Parameters
    ----------
    dest : path
        Final directory. Its parent is created if needed.
    overwrite : bool, default=False
        Replace an existing ``dest``. The old directory is moved aside first and deleted
        only after the new one is in place.
    """
    dest = Path(dest)
    if dest.exists() and not overwrite:
        raise LabeldistError(f"{dest} already exists", "choose a new directory, or pass overwrite=True to replace it")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.tmp-", dir=dest.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if dest.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{dest.name}.old-", dir=dest.parent))
        os.replace(dest, old / dest.name)
    os.replace(tmp, dest)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def write_manifest(folder: Path, manifest: dict) -> None:
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def read_manifest(folder: str | Path, fmt: str, *, what: str) -> dict:
    """The manifest of an artefact written by ``fmt``'s ``save``; a one-line error otherwise."""
    folder = Path(folder)
    if not folder.is_dir():
        raise LabeldistError(f"no saved {what} at {folder} (not a directory)", f"pass the directory written by {what}.save")
    path = folder / MANIFEST
    if not path.is_file():
        raise LabeldistError(f"{folder} has no {MANIFEST}, so it is not a saved {what}",
                             f"pass the directory written by {what}.save")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise LabeldistError(f"{path} is not valid JSON ({exc.__class__.__name__})", "save the model again") from None
    if manifest.get("format") != fmt:
        raise LabeldistError(f"{folder} holds a {manifest.get('format')!r} artefact, not a {fmt!r}",
                             f"load it with the class that saved it, or pass a directory written by {what}.save")
    return manifest


def check_labels(saved: list[str], expected, folder: Path) -> None:
    """Raise if the caller's label names differ from the saved ones (same order required)."""
    if expected is not None and list(expected) != list(saved):
        raise LabeldistError(f"{folder} was trained on labels {saved!r}, not {list(expected)!r}",
                             "load the model trained on this label set, or retrain it")
