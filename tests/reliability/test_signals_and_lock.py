"""SIGTERM / SIGINT finish the current write and exit cleanly; a second process on one run directory is refused.

Each scenario runs a real ``labeldist run`` child process (the tiny model, tests/reliability/tiny.py)
and resumes it to completion; the records must equal a fault-free run's.
"""

from __future__ import annotations

import signal
import time

import pytest

from labeldist.runs.store import read_manifest

from .compare import compare_runs, read_lines
from .conftest import run_argv, spawn

INTERRUPTED = "labeldist: interrupted; rerun the same command to resume"


def _wait_for(path, p, timeout=300.0):
    t0 = time.monotonic()
    while not path.exists():
        assert p.poll() is None, p.communicate()
        assert time.monotonic() - t0 < timeout, f"{path} never appeared"
        time.sleep(0.05)


def _finish(data_file, out, reference_run):
    p = spawn(run_argv(data_file, out))
    _, err = p.communicate(timeout=300)
    assert p.returncode == 0, err
    c = compare_runs(out, reference_run)
    assert c.same_records and c.worst_diff == 0.0, c


@pytest.mark.parametrize("name, code", [("TERM", 143), ("INT", 130)])
def test_signal_inside_a_record_write(data_file, reference_run, tmp_path, name, code):
    """The signal lands after half of the 3rd record's bytes: the line is completed, then the run stops."""
    out = tmp_path / "run"
    p = spawn(run_argv(data_file, out), LD_SIGNAL_IN_WRITE=f"{name}:3")
    _, err = p.communicate(timeout=300)
    assert p.returncode == code, err
    assert err.strip().splitlines()[-1] == INTERRUPTED and "Traceback" not in err
    lines, torn = read_lines(out)
    assert torn == 0 and len(lines) == 3  # the interrupted write completed; nothing after it
    man = read_manifest(out)
    assert man.complete is False and man.summary.n_examples == 3 and man.summary.n_new == 3
    _finish(data_file, out, reference_run)


def test_sigterm_during_compute(data_file, reference_run, tmp_path):
    out, ready = tmp_path / "run", tmp_path / "ready"
    p = spawn(run_argv(data_file, out), LD_SLOW="1", LD_READY=str(ready))
    _wait_for(ready, p)
    time.sleep(0.3)
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 143, err
    assert err.strip().splitlines()[-1] == INTERRUPTED
    lines, torn = read_lines(out)
    assert torn == 0 and read_manifest(out).summary.n_examples == len(lines) < 8
    _finish(data_file, out, reference_run)


def test_second_process_is_refused_then_the_first_is_killed(tiny_cli, data_file, reference_run, tmp_path, capsys):
    out, ready = tmp_path / "run", tmp_path / "ready"
    first = spawn(run_argv(data_file, out), LD_SLOW="2", LD_READY=str(ready))
    try:
        _wait_for(ready, first)
        before = (out / "records.jsonl").read_bytes()
        t0 = time.monotonic()
        assert tiny_cli(run_argv(data_file, out)) == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0, err
        assert err == (f"labeldist: error: {out} is in use by another labeldist process (pid {first.pid}); "
                       f"wait for it to finish, or stop it (kill {first.pid}) and rerun the same command to resume; "
                       "two processes never write one run directory")
        assert time.monotonic() - t0 < 60  # refused at once, not after waiting for the lock
        assert (out / "records.jsonl").read_bytes()[: len(before)] == before
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=60)
    finally:
        first.kill()
        first.communicate()
    assert tiny_cli(run_argv(data_file, out)) == 0  # the kill released the lock: the resume goes ahead
    c = compare_runs(out, reference_run)
    assert c.same_records and c.worst_diff < 1e-6, c
