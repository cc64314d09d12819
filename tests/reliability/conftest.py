"""Fixtures for the reliability tests: a small annotated file, the tiny-model CLI, a fault-free reference run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LABELS = "joy,anger"
ROWS = [
    ("t1", "I won the lottery!", [["joy"], ["joy"]]),
    ("t2", "This is outrageous.", [["anger"], ["anger"], []]),
    ("t3", "The bus is late again.", [["anger"], []]),
    ("t4", "What a lovely surprise party.", [["joy"], ["joy", "anger"]]),
    ("t5", "Fine.", [[], ["anger"]]),
    ("t6", "They cancelled the show an hour before.", [["anger"], ["anger"]]),
    ("t7", "A stranger paid for my coffee.", [["joy"], ["joy"]]),
    ("t8", "Why does nobody listen?", [["anger"], []]),
]


@pytest.fixture(scope="session")
def data_file(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("reliability-data") / "emo.jsonl"
    p.write_text("".join(json.dumps({"id": i, "text": t, "annotations": a, "split": "test"}) + "\n"
                         for i, t, a in ROWS))
    return p


def run_argv(data: Path, out: Path, *extra: str) -> list[str]:
    """`labeldist run` on the tiny model: zero-shot, generation + unary, batches of 2 (4 batches)."""
    return ["run", "--data", str(data), "--labels", LABELS, "--shots", "0", "--out", str(out), "--quiet",
            "--batch-size", "2", "--methods", "generation,unary", *extra]


@pytest.fixture
def tiny_cli(tiny_backend, monkeypatch):
    """``main(argv)`` with every backend the tiny random Llama (no model package loaded)."""
    from labeldist import api

    monkeypatch.setattr(api, "load_backend", lambda *a, **k: tiny_backend)
    from labeldist.cli.main import main

    return main


@pytest.fixture(scope="session")
def reference_run(tmp_path_factory, data_file) -> Path:
    """A fault-free run of :func:`run_argv` by a child process (as the faulty runs are)."""
    out = tmp_path_factory.mktemp("reliability-ref") / "ref"
    p = spawn(run_argv(data_file, out))
    _, err = p.communicate(timeout=300)
    assert p.returncode == 0, err
    return out


def spawn(argv: list[str], **env: str) -> subprocess.Popen:
    """``labeldist argv`` on the tiny model in a child process (see tests/reliability/tiny.py)."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1", **env}
    return subprocess.Popen([sys.executable, "-m", "tests.reliability.tiny", *argv], cwd=ROOT, env=full_env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
