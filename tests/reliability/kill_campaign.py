"""Crash at any moment (issue 17, item 1): SIGKILL a real ``labeldist run`` at seeded random moments, resume, compare.

A reference run of the same command goes uninterrupted. Then the command is started again
and again on another directory and killed with SIGKILL at a moment drawn from a seeded RNG:
during start-up (before or while the directory is made, while the model loads) or in the
middle of the run (after a new batch of records appeared, a random part of one batch's time
later). After some kills the campaign also leaves what a kill in the middle of a write would
leave — a random prefix of a record line at the end of ``records.jsonl``, or of a manifest in
``manifest.json.tmp`` — since a real SIGKILL rarely lands inside those few microseconds.
After every kill the directory must read as a run (or not exist yet); finally the command runs
to completion, and its records must equal the reference's: same ids, no duplicate line, no
missing record, the same generated tokens and the same per-method probabilities.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from labeldist.errors import LabeldistError
from labeldist.runs.store import INTERNAL_FILES, RECORDS, read_manifest

from .compare import RunComparison, compare_runs, read_lines

ROOT = Path(__file__).resolve().parents[2]
KILL_TEXTS = [  # a dozen short items (short prompts keep a CPU campaign fast)
    ("k1", "I won!"), ("k2", "So mad."), ("k3", "Late again."), ("k4", "Lovely party."), ("k5", "Fine."),
    ("k6", "Show cancelled."), ("k7", "Free coffee!"), ("k8", "Nobody listens."), ("k9", "Great news today."),
    ("k10", "My keys are lost."), ("k11", "Sunny and warm."), ("k12", "Rude driver."),
]
KILL_LABELS = "joy,anger"


def kill_data(folder: Path) -> Path:
    p = Path(folder) / "kill.jsonl"
    rows = [{"id": i, "text": t, "annotations": [["joy"], ["anger"]], "split": "test"} for i, t in KILL_TEXTS]
    rows.append({"id": "d1", "text": "What a beautiful morning.", "annotations": [["joy"], ["joy"]], "split": "train"})
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return p


def kill_argv(data: Path, out: Path, *, methods: str = "generation,unary,binary", batch_size: int = 3) -> list[str]:
    """SmolLM2-135M in fp32, one demonstration, generation + unary + binary, batches of 3."""
    return ["run", "--data", str(data), "--labels", KILL_LABELS, "--model", "smollm2-135m", "--dtype", "fp32",
            "--shots", "1", "--out", str(out), "--quiet", "--batch-size", str(batch_size), "--methods", methods]


@dataclass
class Kill:
    moment: str  # "startup" (before the run opened its directory) / "mid-run", or "finished" (ended first)
    delay: float  # seconds after the process started
    records_before: int
    records_after: int
    torn_tail: int  # bytes after the last newline the kill left
    directory: str  # "absent", "empty" (only our leftovers), "run" (the manifest reads), or what is wrong
    injected: str = ""  # "torn record" / "torn manifest": what the campaign added after the kill


@dataclass
class KillCampaign:
    kills: list[Kill] = field(default_factory=list)
    final_exit: int | None = None
    final_error: str = ""
    comparison: RunComparison | None = None
    reference_seconds: float = 0.0
    seconds: float = 0.0

    @property
    def n_kills(self) -> int:
        return sum(k.moment != "finished" for k in self.kills)

    @property
    def survived(self) -> int:
        """Kills after which the directory read as a run (or did not exist yet), when the final records are right."""
        ok = self.final_exit == 0 and self.comparison is not None and self.comparison.same_records \
            and self.comparison.worst_diff == 0.0
        return sum(k.moment != "finished" and k.directory in ("absent", "empty", "run") for k in self.kills) if ok else 0


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}


def _start(argv: list[str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "labeldist.cli.main", *argv], cwd=ROOT, env=_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _lines(out: Path) -> int:
    try:
        return (out / RECORDS).read_bytes().count(b"\n")
    except OSError:
        return 0


def _state(out: Path) -> str:
    """What a kill left: "absent", "empty" (only the lock / a cut-short first manifest), "run", or what is wrong."""
    if not out.exists():
        return "absent"
    if all(p.name in INTERNAL_FILES for p in out.iterdir()):
        return "empty"
    try:
        read_manifest(out)
    except LabeldistError as e:
        return f"unreadable: {e}"
    return "run"


@dataclass
class Timing:
    """Seconds from a process's start to its manifest write (start-up), and per batch of records after it."""

    total: float
    startup: float
    per_batch: float


def _manifest_stamp(out: Path) -> int | None:
    try:
        return (out / "manifest.json").stat().st_mtime_ns
    except OSError:
        return None


def run_reference(argv: list[str], out: Path, batch_size: int) -> Timing:
    """Run ``labeldist argv`` (writing ``out``) uninterrupted, timing its start-up and its batches."""
    t0 = time.monotonic()
    p = _start(argv)
    opened, seen = None, []
    while p.poll() is None:
        if opened is None and _manifest_stamp(out) is not None:
            opened = time.monotonic() - t0
        while len(seen) < _lines(out) // batch_size:
            seen.append(time.monotonic() - t0)
        time.sleep(0.01)
    _, err = p.communicate()
    total = time.monotonic() - t0
    if p.returncode != 0:
        raise RuntimeError(f"the reference run failed: {err.strip()[-500:]}")
    opened = opened if opened is not None else total / 2
    per_batch = (seen[-1] - opened) / len(seen) if seen else total / 2
    return Timing(total, opened, per_batch)


def kill_campaign(argv_for, reference: Path, workdir: Path, *, kills: int, seed: int, timing: Timing,
                  n_items: int, batch_size: int, inject_every: int = 3) -> KillCampaign:
    """Kill ``labeldist argv_for(out)`` ``kills`` times at seeded moments, resume, and compare with ``reference``.

    Moments are drawn from progress, not from a clock that the machine's load would stretch:
    a *start-up* kill lands a random part of the start-up time after the start (start-up =
    process start to the manifest write, the shortest seen so far); a *mid-run* kill waits
    for the process's manifest write and for a drawn number of batches, then lands a random
    part of one batch's time later (the last batch time seen). A finished run only gets
    start-up kills (its resume rewrites the manifest, then exits). Every ``inject_every``-th
    kill is followed by an injected torn record line or torn manifest.
    """
    rng = random.Random(seed)
    out = Path(workdir) / "killed"
    res = KillCampaign(reference_seconds=timing.total)
    ref_lines, _ = read_lines(reference)
    n_batches = -(-n_items // batch_size)
    startup, per_batch = timing.startup, timing.per_batch
    t_start = time.monotonic()
    attempts, pending = 0, False
    while res.n_kills < kills and attempts < 4 * kills:
        attempts += 1
        before = _lines(out)
        done_batches = before // batch_size
        stamp = _manifest_stamp(out)
        mid_run = before < n_items and rng.random() < 0.75
        p = _start(argv_for(out))
        t0 = time.monotonic()
        if not mid_run:
            delay = rng.uniform(0.0, 0.9 * startup)
            try:
                p.wait(timeout=delay)
            except subprocess.TimeoutExpired:
                pass
        else:
            target = rng.randrange(done_batches, n_batches) * batch_size  # kill inside the batch after this one
            fraction = rng.random()
            opened = None
            while p.poll() is None:
                if opened is None and _manifest_stamp(out) != stamp:
                    opened = time.monotonic()
                    startup = min(startup, opened - t0)
                if opened is not None and _lines(out) >= max(target, before):
                    break
                time.sleep(0.01)
            if opened is not None and _lines(out) > before:
                per_batch = (time.monotonic() - opened) / ((_lines(out) - before) / batch_size)
            delay = fraction * per_batch
            try:
                p.wait(timeout=delay)
            except subprocess.TimeoutExpired:
                pass
            delay = time.monotonic() - t0
        if p.poll() is not None:  # it finished first: not a kill
            p.communicate()
            res.kills.append(Kill("finished", round(delay, 3), before, _lines(out), 0, _state(out)))
            continue
        p.send_signal(signal.SIGKILL)
        p.communicate()
        lines, torn = read_lines(out)
        kill = Kill("mid-run" if mid_run else "startup", round(delay, 3), before, len(lines), torn, _state(out))
        res.kills.append(kill)
        pending = pending or bool(inject_every and res.n_kills % inject_every == 0)
        if pending and kill.directory == "run":  # (a kill before the directory existed passes it on)
            pending = False
            if rng.random() < 0.5 and ref_lines:
                line = json.dumps(rng.choice(ref_lines), sort_keys=True).encode()
                with open(out / RECORDS, "ab") as f:
                    f.write(line[: rng.randrange(1, len(line))])  # a kill mid-line leaves no newline
                kill.injected = "torn record"
            else:
                raw = (out / "manifest.json").read_bytes()
                (out / "manifest.json.tmp").write_bytes(raw[: rng.randrange(0, len(raw))])
                kill.injected = "torn manifest"
    p = _start(argv_for(out))
    _, err = p.communicate(timeout=3600)
    res.final_exit, res.final_error = p.returncode, err.strip()[-500:]
    res.comparison = compare_runs(out, reference)
    res.seconds = round(time.monotonic() - t_start, 1)
    return res
