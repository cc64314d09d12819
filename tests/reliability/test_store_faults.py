"""Disk problems and torn writes: a one-line error, exit 2, and what was written before stays valid.

Faults are injected in-process (``os.write`` failing mid-line with ENOSPC, a manifest write
failing with EROFS, the records file deleted or replaced mid-run), and, where this machine lets
the tests mount a small tmpfs, produced for real (a full disk, a read-only file system).
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
from pathlib import Path

import pytest

from labeldist.errors import LabeldistError
from labeldist.records import ExampleRecord, Manifest
from labeldist.runs.store import RECORDS, RunStore, iter_records, read_manifest
from tests.helpers import make_manifest

from .compare import compare_runs, read_lines
from .conftest import run_argv
from .tiny import is_records_fd


def _err(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("labeldist: error: "), err
    assert "Traceback" not in err
    return err


def _rec(i: int) -> ExampleRecord:
    return ExampleRecord(id=f"e{i}", text=f"text {i}", methods={"hard": [0.25, 0.75]})


REAL_WRITE = os.write


def fail_records_write(monkeypatch, k: int, code: int) -> None:
    """The k-th write to records.jsonl writes half its bytes, then fails with ``code`` (undo: ``heal``)."""
    real = REAL_WRITE
    n = [0]

    def write(fd, data):
        if not is_records_fd(fd):
            return real(fd, data)
        n[0] += 1
        if n[0] == k:
            real(fd, bytes(data[: len(data) // 2]))
            raise OSError(code, os.strerror(code))
        return real(fd, data)

    monkeypatch.setattr(os, "write", write)


def heal(monkeypatch) -> None:
    monkeypatch.setattr(os, "write", REAL_WRITE)


# -- the store itself ------------------------------------------------------------------------------
def test_failed_append_leaves_only_complete_lines(tmp_path, monkeypatch):
    d = tmp_path / "run"
    s = RunStore.open(d, make_manifest({}))
    s.append(_rec(1))
    fail_records_write(monkeypatch, 1, errno.ENOSPC)
    with pytest.raises(LabeldistError, match=r"cannot write .*records.jsonl \(No space left on device\); "
                                             r"free disk space.*rerun the same command.*stay valid") as e:
        s.append(_rec(2))
    assert "\n" not in str(e.value)
    heal(monkeypatch)
    lines, torn = read_lines(d)
    assert [l["id"] for l in lines] == ["e1"] and torn == 0  # the half line was cut back
    assert set(s.done) == {"e1"}
    s.append(_rec(3))  # the store still works once the disk has room again
    assert [r.id for r in iter_records(d)] == ["e1", "e3"]


@pytest.mark.parametrize("change", ["delete", "replace", "truncate"])
def test_records_file_changed_under_the_store_is_an_error(tmp_path, change):
    d = tmp_path / "run"
    s = RunStore.open(d, make_manifest({}))
    s.append(_rec(1))
    s.append(_rec(2))
    path = d / RECORDS
    if change == "delete":
        path.unlink()
    elif change == "replace":
        data = path.read_bytes()
        path.unlink()
        path.write_bytes(data)  # same bytes, another file
    else:
        path.write_bytes(path.read_bytes().split(b"\n")[0] + b"\n")
    word = {"delete": "deleted", "replace": "replaced", "truncate": "truncated"}[change]
    with pytest.raises(LabeldistError, match=f"records.jsonl was {word} while the run was writing it.*"
                                             "rerun the same command to resume"):
        s.append(_rec(3))
    assert not any(r.id == "e3" for r in iter_records(d))  # nothing written into a file nobody will read
    s.close()
    s2 = RunStore.open(d, make_manifest({}))  # the directory is still a valid run
    assert "e3" not in s2.done


def test_cut_short_creation_is_not_a_foreign_directory(tmp_path):
    d = tmp_path / "run"
    d.mkdir()
    (d / ".lock").write_text("99999999\n")  # a lock file from a dead process
    (d / "manifest.json.tmp").write_text('{"version": 2, "conf')  # killed while writing the first manifest
    s = RunStore.open(d, make_manifest({"a": 1}))
    s.append(_rec(1))
    assert read_manifest(d).config == {"a": 1} and s.manifest.resumed == 0


def test_torn_manifest_write_is_never_read(tmp_path):
    """Killed at any byte of a manifest rewrite: the directory still reads as the previous manifest."""
    d = tmp_path / "run"
    s = RunStore.open(d, make_manifest({"a": 1}))
    s.append(_rec(1))
    s.close()
    before = read_manifest(d).to_dict()
    m = Manifest.from_dict(before)
    m.complete = True
    new = json.dumps(m.to_dict(), indent=2, sort_keys=True).encode() + b"\n"
    for cut in sorted({0, 1, len(new) // 3, len(new) // 2, len(new) - 2, len(new) - 1}):
        (d / "manifest.json.tmp").write_bytes(new[:cut])  # the temp file as a kill left it
        assert read_manifest(d).to_dict() == before
        s = RunStore.open(d, make_manifest({"a": 1}))  # and a resume reads it, and goes on
        assert set(s.done) == {"e1"}
        s.close()
        before = read_manifest(d).to_dict()


def test_reopening_in_one_process_takes_the_directory_over(tmp_path):
    d = tmp_path / "run"
    s = RunStore.open(d, make_manifest({}))
    s.append(_rec(1))
    s2 = RunStore.open(d, make_manifest({}))  # e.g. a resume after a simulated crash
    with pytest.raises(LabeldistError, match="is closed"):
        s.append(_rec(2))
    s2.append(_rec(2))
    assert [r.id for r in iter_records(d)] == ["e1", "e2"]


def test_lock_refuses_a_second_process(tmp_path):
    d = tmp_path / "run"
    RunStore.open(d, make_manifest({})).close()
    code = ("import sys, time; from labeldist.runs.lock import RunLock; l = RunLock.acquire(sys.argv[1]); "
            "print('held', flush=True); time.sleep(60)")
    p = subprocess.Popen([os.sys.executable, "-c", code, str(d)], stdout=subprocess.PIPE, text=True,
                         env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    try:
        assert p.stdout.readline().strip() == "held"
        with pytest.raises(LabeldistError, match=rf"{d} is in use by another labeldist process \(pid {p.pid}\); "
                                                 rf"wait for it to finish, or stop it \(kill {p.pid}\)"):
            RunStore.open(d, make_manifest({}))
        p.kill()  # SIGKILL: the operating system drops the lock with the process
        p.wait()
        RunStore.open(d, make_manifest({})).close()
    finally:
        p.kill()
        p.wait()


# -- through the CLI, on the tiny model ------------------------------------------------------------------
def test_disk_full_mid_run(tiny_cli, data_file, reference_run, tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    fail_records_write(monkeypatch, 3, errno.ENOSPC)
    assert tiny_cli(run_argv(data_file, out)) == 2
    err = _err(capsys)
    assert f"cannot write {out / RECORDS} (No space left on device)" in err and "free disk space" in err
    heal(monkeypatch)
    lines, torn = read_lines(out)
    assert len(lines) == 2 and torn == 0
    man = read_manifest(out)
    assert man.complete is False and man.summary.n_examples == 2 and man.summary.n_new == 2
    assert tiny_cli(run_argv(data_file, out)) == 0  # room again: the same command resumes
    c = compare_runs(out, reference_run)
    assert c.same_records and c.worst_diff < 1e-6, c


def test_read_only_at_start_leaves_nothing(tiny_cli, data_file, tmp_path, monkeypatch, capsys):
    def refuse(self, run_dir):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(Path(run_dir) / "manifest.json.tmp"))

    monkeypatch.setattr(Manifest, "write", refuse)
    out = tmp_path / "deep" / "run"
    assert tiny_cli(run_argv(data_file, out)) == 2
    err = _err(capsys)
    assert "(Read-only file system); make the directory writable" in err
    assert not (tmp_path / "deep").exists()  # the directories it made are gone again


@pytest.mark.parametrize("where", ["file", "below_a_file"])
def test_out_path_through_a_file(tiny_cli, data_file, tmp_path, capsys, where):
    f = tmp_path / "f.txt"
    f.write_text("x")
    out = f if where == "file" else f / "run"
    assert tiny_cli(run_argv(data_file, out)) == 2
    assert "choose a new --out directory" in _err(capsys) and f.read_text() == "x"


@pytest.mark.parametrize("change", ["delete", "replace"])
def test_records_deleted_mid_run(tiny_cli, tiny_backend, data_file, reference_run, tmp_path, monkeypatch, capsys,
                                 change):
    out = tmp_path / "run"
    real = tiny_backend.generate
    calls = [0]

    def generate(*a, **k):
        calls[0] += 1
        if calls[0] == 3:  # two batches written; someone removes the records file
            data = (out / RECORDS).read_bytes()
            (out / RECORDS).unlink()
            if change == "replace":
                (out / RECORDS).write_bytes(data)
        return real(*a, **k)

    monkeypatch.setattr(tiny_backend, "generate", generate)
    assert tiny_cli(run_argv(data_file, out)) == 2
    word = "deleted" if change == "delete" else "replaced"
    assert f"{out / RECORDS} was {word} while the run was writing it" in _err(capsys)
    assert read_manifest(out).complete is False
    lines, torn = read_lines(out)
    assert torn == 0 and len(lines) == (0 if change == "delete" else 4)
    monkeypatch.setattr(tiny_backend, "generate", real)
    assert tiny_cli(run_argv(data_file, out)) == 0
    c = compare_runs(out, reference_run)
    assert c.same_records and c.worst_diff < 1e-6, c


# -- a real small file system, where this machine lets the tests mount one -------------------------------------
@pytest.fixture
def tmpfs(tmp_path):
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    mount = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24k", "tmpfs", str(mnt)], capture_output=True, check=False)
    if mount.returncode:
        pytest.skip("cannot mount a tmpfs here (needs root); the injected-error tests above cover the same paths")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True, check=False)


def test_real_full_disk_then_resume(tiny_cli, data_file, reference_run, tmpfs, capsys):
    out = tmpfs / "run"
    assert tiny_cli(run_argv(data_file, out)) == 2  # 24 KiB hold the lock, the manifest and a few records
    err = _err(capsys)
    assert "(No space left on device); free disk space" in err
    lines, torn = read_lines(out)
    assert torn == 0 and 0 < len(lines) < 8  # complete lines only, each a valid record
    assert all(ExampleRecord.from_dict(l).id == l["id"] for l in lines)
    subprocess.run(["mount", "-o", "remount,size=4m", str(tmpfs)], check=True)
    assert tiny_cli(run_argv(data_file, out)) == 0
    c = compare_runs(out, reference_run)
    assert c.same_records and c.worst_diff < 1e-6, c


def test_real_read_only_file_system(tiny_cli, data_file, reference_run, tmpfs, capsys):
    subprocess.run(["mount", "-o", "remount,size=4m", str(tmpfs)], check=True)
    out = tmpfs / "run"
    assert tiny_cli(run_argv(data_file, out)) == 0
    lines = (out / RECORDS).read_bytes().splitlines(keepends=True)
    (out / RECORDS).write_bytes(b"".join(lines[:3]))  # as if the run had stopped after 3 records
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)], check=True)
    assert tiny_cli(run_argv(data_file, out)) == 2  # resuming it needs writes
    err = _err(capsys)
    assert f"cannot open {out / '.lock'} for writing (Read-only file system); make the directory writable" in err
    assert tiny_cli(run_argv(data_file, tmpfs / "new")) == 2
    assert "cannot create run directory" in _err(capsys)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
