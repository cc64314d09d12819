"""The reliability campaign of issue 17: crashes, malformed inputs, a misbehaving server, disk faults — one table.

* **Kills**: a real ``labeldist run`` (SmolLM2-135M fp32, 12 items, generation + unary + binary,
  ``--batch-size 3``) is SIGKILLed at ``--kills`` seeded random moments and resumed each time;
  its final records are compared with an uninterrupted run's (tests/reliability/kill_campaign.py).
* **Malformed inputs**: distinct generated cases through ``labeldist run`` (malformed files,
  bad flag values and combinations) and through ``labeldist.api.run`` (bad arguments), each
  expected to give exit 2 / a LabeldistError with one ``problem; fix`` line, no traceback and
  no run directory (tests/reliability/malformed_inputs.py).
* **Server faults**: every fault kind of tests/backends/fault_proxy.py injected once between
  ``labeldist run --backend http`` and a real llama.cpp server (tests/reliability/http_faults.py).
* **Disk and signals**: a full disk mid-line, SIGTERM and SIGINT inside a record write, a
  second process on the same directory (tiny random model, tests/reliability/tiny.py).

Usage: ``PYTHONPATH=. .venv/bin/python bench/reliability.py`` (the full campaign: 20 kills,
240 malformed inputs; about 20-40 minutes on 2 busy cores), ``--quick`` for the reduced one
(5 kills, 60 inputs). Writes ``bench/results-reliability.json`` (``--json PATH``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def kills_section(tmp: Path, kills: int, seed: int) -> dict:
    from tests.reliability.kill_campaign import KILL_TEXTS, kill_argv, kill_campaign, kill_data, run_reference

    data = kill_data(tmp)
    ref = tmp / "reference"
    timing = run_reference(kill_argv(data, ref), ref, batch_size=3)
    res = kill_campaign(lambda out: kill_argv(data, out), ref, tmp, kills=kills, seed=seed, timing=timing,
                        n_items=len(KILL_TEXTS), batch_size=3)
    c = res.comparison
    return {
        "kills": res.n_kills, "survived": res.survived, "final_exit": res.final_exit, "final_error": res.final_error,
        "records_expected": len(KILL_TEXTS), "records_final": c.lines, "lost": len(c.missing),
        "duplicates": len(c.duplicates), "extra": len(c.extra), "generation_mismatch": len(c.generation_mismatch),
        "worst_probability_diff": c.worst_diff, "torn_tail_after_final": c.torn_tail,
        "moments": [asdict(k) for k in res.kills], "reference_seconds": round(timing.total, 1),
        "campaign_seconds": res.seconds,
    }


def malformed_section(tmp: Path, n_each: int) -> dict:
    from labeldist import api
    from labeldist.cli.main import main
    from tests.reliability.malformed_inputs import SOURCES, campaign
    from tests.reliability.tiny import tiny_backend

    backend = tiny_backend()
    real = api.load_backend
    api.load_backend = lambda *a, **k: backend  # a case that slipped through would run on the tiny model
    try:
        res = campaign(main, backend, tmp, n_file=n_each, n_flag=n_each, n_api=n_each)
    finally:
        api.load_backend = real
    return {"tried": {s: res.tried[s] for s in SOURCES}, "total": res.total,
            "fell_short": [asdict(o) for o in res.fell_short]}


def faults_section(tmp: Path) -> dict:
    from labeldist.cli.main import main
    from tests.backends.fault_proxy import FAULT_KINDS
    from tests.reliability.http_faults import HTTP_TOLERANCE, fault_campaign, start_llamacpp_server

    url, server = start_llamacpp_server()
    outcomes, baseline = fault_campaign(main, url, tmp, FAULT_KINDS)
    del server
    return {"tolerance": HTTP_TOLERANCE, "fault_free_rerun_diff": baseline,
            "outcomes": [{**asdict(o), "held": o.held} for o in outcomes]}


def disk_section(tmp: Path) -> list[dict]:
    from labeldist.runs.store import read_manifest
    from tests.reliability.compare import compare_runs, read_lines

    data = tmp / "emo.jsonl"
    data.write_text("".join(json.dumps({"id": f"t{i}", "text": t, "annotations": [["joy"], ["anger"]], "split": "test"})
                            + "\n" for i, t in enumerate(["I won!", "So mad.", "Late bus.", "Nice day.", "Fine.",
                                                          "Show cancelled."])))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}

    def argv(out):
        return ["run", "--data", str(data), "--labels", "joy,anger", "--shots", "0", "--out", str(out), "--quiet",
                "--batch-size", "2", "--methods", "generation,unary"]

    def child(out, **faults):
        return subprocess.Popen([sys.executable, "-m", "tests.reliability.tiny", *argv(out)], cwd=ROOT,
                                env={**env, **faults}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    ref = tmp / "ref"
    p = child(ref)
    p.communicate()
    rows = []
    for name, faults, want in [("disk full mid-line (ENOSPC)", {"LD_FAIL_WRITE": "ENOSPC:3"}, 2),
                               ("read-only mid-run (EROFS)", {"LD_FAIL_WRITE": "EROFS:3"}, 2),
                               ("SIGTERM inside a record write", {"LD_SIGNAL_IN_WRITE": "TERM:3"}, 143),
                               ("SIGINT inside a record write", {"LD_SIGNAL_IN_WRITE": "INT:3"}, 130)]:
        out = tmp / name.split()[0].lower()
        shutil.rmtree(out, ignore_errors=True)
        p = child(out, **faults)
        _, err = p.communicate()
        lines, torn = read_lines(out)
        man = read_manifest(out)
        p2 = child(out)
        p2.communicate()
        c = compare_runs(out, ref)
        rows.append({"scenario": name, "exit": p.returncode, "expected_exit": want,
                     "error_line": err.strip().splitlines()[-1] if err.strip() else "",
                     "one_line": len([l for l in err.strip().splitlines() if l.startswith("labeldist")]) == 1,
                     "records_kept": len(lines), "torn_tail": torn, "manifest_counts_them": man.summary.n_examples == len(lines),
                     "resume_exit": p2.returncode, "final_same": c.same_records and c.worst_diff < 1e-6})
    out, ready = tmp / "locked", tmp / "ready"
    # The first holds the lock far longer than the second needs to start (it is killed right after), so a
    # slow start of the second on a busy machine cannot find the first already finished.
    first = child(out, LD_SLOW="600", LD_READY=str(ready))
    while not ready.exists() and first.poll() is None:
        time.sleep(0.05)
    second = child(out)
    _, err = second.communicate()
    first.send_signal(signal.SIGKILL)
    first.communicate()
    third = child(out)
    third.communicate()
    c = compare_runs(out, ref)
    rows.append({"scenario": "second process on the same directory", "exit": second.returncode, "expected_exit": 2,
                 "error_line": err.strip().splitlines()[-1] if err.strip() else "",
                 "one_line": len([l for l in err.strip().splitlines() if l.startswith("labeldist")]) == 1,
                 "records_kept": None, "torn_tail": 0, "manifest_counts_them": True,
                 "resume_exit": third.returncode, "final_same": c.same_records and c.worst_diff < 1e-6})
    return rows


def table(r: dict) -> str:
    out = []
    k = r.get("kills")
    if k:
        out += ["## Crash at any moment (SIGKILL, SmolLM2-135M fp32, 12 items, generation + unary + binary, batch 3)", "",
                "| kills | survived | records lost | duplicates | extra | generations differing | worst probability diff |",
                "|---|---|---|---|---|---|---|",
                (f"| {k['kills']} | {k['survived']} | {k['lost']} | {k['duplicates']} | {k['extra']} | "
                 f"{k['generation_mismatch']} | {k['worst_probability_diff']:.3g} |"), "",
                "| # | moment | delay s | records before -> after | torn bytes left | directory | injected |",
                "|---|---|---|---|---|---|---|"]
        for i, m in enumerate(k["moments"], 1):
            out.append(f"| {i} | {m['moment']} | {m['delay']:.2f} | {m['records_before']} -> {m['records_after']} | "
                       f"{m['torn_tail']} | {m['directory']} | {m['injected'] or '-'} |")
        out.append("")
    m = r.get("malformed")
    if m:
        out += ["## Malformed inputs (generated with hypothesis)", "", "| source | distinct cases | fell short |",
                "|---|---|---|"]
        for s, n in m["tried"].items():
            out.append(f"| {s} | {n} | {sum(o['source'] == s for o in m['fell_short'])} |")
        out += [f"| total | {m['total']} | {len(m['fell_short'])} |", ""]
        for o in m["fell_short"]:
            out.append(f"- {o['source']}: `{o['case']}`: {o['why']}")
    f = r.get("faults")
    if f:
        out += [(f"## Server faults (llama.cpp, SmolLM2 Q4_1; tolerance {f['tolerance']}, two fault-free runs differ "
                 f"by {f['fault_free_rerun_diff']:.2g})"), "",
                "| fault | injected | ended | error line | written records valid | final = fault-free | worst diff |",
                "|---|---|---|---|---|---|---|"]
        for o in f["outcomes"]:
            msg = o["message"].replace("labeldist: error: ", "")[:90].replace("|", "/")
            out.append(f"| {o['kind']} | {o['injected']} | {o['ended'][:40]} | {msg or '-'} | {o['written_ok']} | "
                       f"{o['resumed_ok']} | {o['worst_diff']:.2g} |")
        out.append("")
    d = r.get("disk")
    if d:
        out += ["## Disk, signals, lock (tiny model, child processes)", "",
                "| scenario | exit (expected) | one line | records kept | torn bytes | resume exit | final = fault-free |",
                "|---|---|---|---|---|---|---|"]
        for row in d:
            out.append(f"| {row['scenario']} | {row['exit']} ({row['expected_exit']}) | {row['one_line']} | "
                       f"{row['records_kept'] if row['records_kept'] is not None else '-'} | {row['torn_tail']} | "
                       f"{row['resume_exit']} | {row['final_same']} |")
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="reduced campaign: 5 kills, 60 malformed inputs")
    ap.add_argument("--kills", type=int, default=None)
    ap.add_argument("--malformed-each", type=int, default=None, help="distinct cases per source (file, flag, api)")
    ap.add_argument("--seed", type=int, default=20260)
    ap.add_argument("--only", default="kills,malformed,faults,disk", help="comma list of sections")
    ap.add_argument("--json", default=str(ROOT / "bench" / "results-reliability.json"))
    args = ap.parse_args()
    kills = args.kills if args.kills is not None else (5 if args.quick else 20)
    each = args.malformed_each if args.malformed_each is not None else (20 if args.quick else 80)
    only = set(args.only.split(","))
    results: dict = {"config": {"kills": kills, "malformed_each": each, "seed": args.seed}}
    t0 = time.time()
    with tempfile.TemporaryDirectory(prefix="labeldist-reliability-") as tmp:
        tmp = Path(tmp)
        for name, fn in [("malformed", lambda d: malformed_section(d, each)), ("disk", disk_section),
                         ("faults", faults_section), ("kills", lambda d: kills_section(d, kills, args.seed))]:
            if name in only:
                t = time.time()
                (tmp / name).mkdir()
                results[name] = fn(tmp / name)
                print(f"[{name}: {time.time() - t:.0f} s]", file=sys.stderr, flush=True)
    results["seconds"] = round(time.time() - t0, 1)
    Path(args.json).write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
