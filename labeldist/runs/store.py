"""Run directories: ``manifest.json`` plus ``records.jsonl``, written as examples finish.

A run directory is only created once its manifest can be written, and the manifest is
written atomically (:meth:`labeldist.records.Manifest.write`), so a crash before the first
record leaves nothing, a directory holding only the lock file or a cut-short temporary
manifest (both taken as empty), or a valid, empty run. Records are appended one JSON line per
example and flushed + fsynced; a torn last line (the process died mid-write) is detected on
open, reported, and truncated away so the example is recomputed.

One process at a time writes a run directory: ``RunStore.open`` takes an exclusive lock
on ``RUN_DIR/.lock`` (:mod:`labeldist.runs.lock`), held until ``close`` or process exit. A
record write is never cut by SIGINT/SIGTERM (:mod:`labeldist.runs.interrupt`); a failed write
(disk full, read-only file system) is cut back to the last complete line and reported in one
line; a records file deleted or replaced under a running run stops it with one line instead
of silently starting a new file.

Records are read in the layout the manifest names (:data:`labeldist.records.LAYOUT_VERSION`;
a manifest without a version is layout 1): old runs still evaluate, but only a run of the
current layout can be resumed.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from labeldist.errors import LabeldistError
from labeldist.methods import infer_legacy_diagnostics
from labeldist.records import LAYOUT_VERSION, ExampleRecord, LabelSet, Manifest
from labeldist.runs.interrupt import deferred
from labeldist.runs.lock import LOCK_FILE, RunLock

RECORDS = "records.jsonl"
MANIFEST = "manifest.json"
INTERNAL_FILES = frozenset({LOCK_FILE, MANIFEST + ".tmp"})  # never a reason to call a directory foreign


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

    ``open`` creates the directory (or checks that an existing one has the same config),
    takes the directory's lock (:class:`labeldist.runs.lock.RunLock`: a second process is
    refused) and returns the store; ``done`` holds the records already written, by id.
    ``close`` (or the end of the process) releases the lock. Within one process, opening a
    directory again takes it over from the earlier store, which is closed (a simulated crash).

    Every write is one ``os.write`` of a whole line plus ``fsync``, inside
    :func:`labeldist.runs.interrupt.deferred` (a SIGINT/SIGTERM waits for it). A failed write
    (disk full, read-only) is cut back to the last complete line and becomes a one-line
    :class:`LabeldistError`; so does a records file that was deleted, replaced or changed by
    someone else since the run opened it.
    """

    run_dir: Path
    manifest: Manifest
    done: dict[str, ExampleRecord]
    torn_lines: int = 0
    n_appended: int = 0  # records this store wrote
    _lock: RunLock | None = field(default=None, repr=False)
    _fd: int | None = field(default=None, repr=False)
    _identity: tuple[int, int] | None = field(default=None, repr=False)  # (st_dev, st_ino) of records.jsonl
    _size: int = field(default=0, repr=False)  # its size after our last write

    @classmethod
    def open(cls, run_dir: str | Path, manifest: Manifest) -> "RunStore":
        run_dir = Path(run_dir)
        _take_over(run_dir)
        if run_dir.exists() and not run_dir.is_dir():
            raise LabeldistError(f"{run_dir} is a file, not a run directory", "choose a new --out directory")
        if (run_dir / MANIFEST).exists():
            _resumable(run_dir, manifest)  # refuse before touching anything (e.g. an old layout's directory)
            created = None
        else:
            created = _create(run_dir)
        try:
            lock = RunLock.acquire(run_dir)
        except BaseException:
            _remove_created(created)
            raise
        try:
            if (run_dir / MANIFEST).exists():  # read again under the lock: the holder may have just written it
                manifest = _resumable(run_dir, manifest)
                created = None
            _write_manifest(manifest, run_dir)
            created = None  # from here on the directory is a valid (possibly empty) run
            rpath = run_dir / RECORDS
            done: dict[str, ExampleRecord] = {}
            torn = 0
            if rpath.exists():
                recs, good_end = _scan_records(rpath)
                if good_end < rpath.stat().st_size:
                    torn = 1
                    with deferred(), open(rpath, "r+b") as f:
                        f.truncate(good_end)
                        os.fsync(f.fileno())
                done = {r["id"]: _load(r, manifest) for r in recs}
            fd = _os_call(lambda: os.open(rpath, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644), rpath)
        except BaseException:
            lock.release()
            _remove_created(created)
            raise
        st = os.fstat(fd)
        store = cls(run_dir, manifest, done, torn, _lock=lock, _fd=fd, _identity=(st.st_dev, st.st_ino),
                    _size=st.st_size)
        _OWNERS[_key(run_dir)] = weakref.ref(store)
        return store

    def append(self, record: ExampleRecord) -> None:
        line = (json.dumps(record.to_dict(), ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")
        path = self.run_dir / RECORDS
        if self._fd is None:
            raise LabeldistError(f"the store of {self.run_dir} is closed", "open the run directory again to write to it")
        with deferred():  # a signal waits until the line is whole and on disk
            self._check_unchanged(path)
            try:
                view = memoryview(line)
                while view:
                    view = view[os.write(self._fd, view):]
                os.fsync(self._fd)
            except OSError as e:
                try:  # leave only complete lines behind
                    os.ftruncate(self._fd, self._size)
                except OSError:
                    pass  # the torn tail is cut when the run is resumed
                raise _write_error(path, e) from None
            self._size += len(line)
            self.done[record.id] = record  # counted before a deferred signal is raised: it is on disk
            self.n_appended += 1

    def _check_unchanged(self, path: Path) -> None:
        """The records file must still be the one this store opened, as this store left it."""
        again = "; rerun the same command to resume from the records on disk (the rest are recomputed)"
        try:
            st = os.stat(path)
        except FileNotFoundError:
            raise LabeldistError(f"{path} was deleted while the run was writing it",
                                 "do not delete records of a running run" + again) from None
        if (st.st_dev, st.st_ino) != self._identity:
            raise LabeldistError(f"{path} was replaced while the run was writing it",
                                 "do not replace records of a running run" + again)
        if st.st_size < self._size:
            raise LabeldistError(f"{path} was truncated while the run was writing it "
                                 f"({st.st_size} bytes, expected {self._size})",
                                 "let one process write a run directory at a time" + again)
        self._size = st.st_size  # grown by someone else: keep it (a corrupt line is reported on resume)

    def update_manifest(self, **fields) -> None:
        for k, v in fields.items():
            setattr(self.manifest, k, v)
        _write_manifest(self.manifest, self.run_dir)

    def close(self) -> None:
        """Close the records file and release the directory's lock (safe to call twice)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def __enter__(self) -> "RunStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):  # an abandoned store must not keep its directory locked
        try:
            self.close()
        except Exception:
            pass


# -- opening helpers --------------------------------------------------------------------------
_OWNERS: dict[str, "weakref.ref[RunStore]"] = {}  # run directory -> this process's open store


def _key(run_dir: Path) -> str:
    return os.path.realpath(run_dir)


def _take_over(run_dir: Path) -> None:
    """Close this process's earlier store of ``run_dir``, so reopening it works like a resume."""
    ref = _OWNERS.pop(_key(run_dir), None)
    old = ref() if ref is not None else None
    if old is not None:
        old.close()


def _resumable(run_dir: Path, manifest: Manifest) -> Manifest:
    """The directory's manifest, updated for a resume with ``manifest``'s config, or a one-line refusal."""
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
    return old


def _create(run_dir: Path) -> Path | None:
    """Make ``run_dir`` if needed; return the highest directory this created (None if it existed)."""
    if run_dir.exists():
        # Only our own leftovers (a lock file, a manifest whose write was cut short) count as empty.
        if any(p.name not in INTERNAL_FILES for p in run_dir.iterdir()):
            raise LabeldistError(f"{run_dir} exists and is not a labeldist run", "choose an empty or new --out directory")
        return None
    top = run_dir
    while not top.parent.exists() and top.parent != top:
        top = top.parent
    _os_call(lambda: run_dir.mkdir(parents=True, exist_ok=True), run_dir, what="create run directory")
    return top


def _remove_created(created: Path | None) -> None:
    if created is not None:
        shutil.rmtree(created, ignore_errors=True)


def _write_manifest(manifest: Manifest, run_dir: Path) -> None:
    with deferred():
        _os_call(lambda: manifest.write(run_dir), run_dir / MANIFEST)


def _os_call(fn, path: Path, *, what: str = "write"):
    try:
        return fn()
    except OSError as e:
        raise _write_error(path, e, what=what) from None


def _write_error(path: Path, e: OSError, *, what: str = "write") -> LabeldistError:
    """One line for a failed write: the file, the system's reason, and what to do."""
    reason = e.strerror or type(e).__name__
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        fix = "free disk space (or choose an --out on another disk), then rerun the same command to resume"
    elif e.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        fix = "make the directory writable (or choose another --out), then rerun the same command to resume"
    elif e.errno in (errno.ENOENT, errno.ENOTDIR):
        fix = "check the --out path (its parent must be a directory), then rerun"
    else:
        fix = "fix the file system problem, then rerun the same command to resume"
    if what == "write":
        fix += "; the records already written stay valid"
    return LabeldistError(f"cannot {what} {path} ({reason})", fix)


def run_label_set(run_dir: str | Path) -> LabelSet:
    return read_manifest(run_dir).label_set
