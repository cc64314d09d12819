"""The fault campaign against a real llama.cpp server (issue 17, item 6), shared by the test and bench/reliability.py.

For each fault kind a ``labeldist run --backend http`` goes through :class:`FaultProxy` with that
fault scheduled at one ``/v1/completions`` request. It must either finish (the client retried)
or stop with exit 2 and one error line; every record it wrote must equal the fault-free
reference run's (nothing malformed recorded); a stopped run is rerun without faults and must
then finish; the final records must equal the reference's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from tests.backends.fault_proxy import FaultProxy

from .compare import compare_runs, read_lines
from .malformed_inputs import run_cli

HTTP_LABELS = "joy,anger"
HTTP_TEXTS = ["I won the lottery!", "This is outrageous.", "The bus is late again.", "What a lovely day."]


@dataclass
class FaultOutcome:
    kind: str
    injected: bool  # the proxy applied the fault
    ended: str  # "retried" (run finished) / "stopped" (exit 2, one line) / what went wrong
    message: str  # the error line of a stopped run
    written_ok: bool  # every record written by the faulty run equals the reference's
    resumed_ok: bool  # after the (re)run: same ids, no duplicate, same generations, probabilities within tolerance
    worst_diff: float

    @property
    def held(self) -> bool:
        return self.injected and self.ended in ("retried", "stopped") and self.written_ok and self.resumed_ok


def http_data(folder: Path) -> Path:
    p = folder / "http.jsonl"
    p.write_text("".join(json.dumps({"id": f"h{i}", "text": t, "annotations": [["joy"], ["anger"]], "split": "test"})
                         + "\n" for i, t in enumerate(HTTP_TEXTS)))
    return p


def http_argv(data: Path, out: Path, url: str) -> list[str]:
    return ["run", "--data", str(data), "--labels", HTTP_LABELS, "--model", "smollm2-135m", "--backend", "http",
            "--base-url", url, "--shots", "0", "--quiet", "--batch-size", "2", "--methods", "generation,unary",
            "--concurrency", "1", "--timeout", "2", "--out", str(out)]


# llama.cpp does not answer the same prompt bit-identically every time (its prompt cache and slots
# change the arithmetic): two fault-free runs differ by ~0.004 in probability. The tolerance is the
# one tests/backends/test_http_server.py uses for label distributions (atol 0.1); generated token
# ids must be identical.
HTTP_TOLERANCE = 0.1


def fault_campaign(main: Callable, upstream: str, folder: Path, kinds, *, at: int = 8,
                   tolerance: float = HTTP_TOLERANCE) -> tuple[list[FaultOutcome], float]:
    """Run every fault kind once; returns the outcomes and the reference's worst difference to itself rerun."""
    folder.mkdir(parents=True, exist_ok=True)
    data = http_data(folder)
    proxy = FaultProxy(upstream, slow_s=3.0)  # slower than the runs' --timeout 2
    outcomes = []
    try:
        ref = folder / "reference"
        code, err = run_cli(main, http_argv(data, ref, proxy.url))
        assert code == 0, err
        again = folder / "reference-again"  # the same run again: how far two fault-free runs differ
        code, err = run_cli(main, http_argv(data, again, proxy.url))
        assert code == 0, err
        baseline = compare_runs(again, ref)
        for kind in kinds:
            out = folder / kind
            proxy.plan({at: kind})
            code, err = run_cli(main, http_argv(data, out, proxy.url))
            injected = kind in proxy.faults_done()[-1:]
            lines = [l for l in err.strip().splitlines() if not l.startswith("labeldist: warning: ")]
            message = ""
            if code == 0:
                ended = "retried"
            elif code == 2 and len(lines) == 1 and lines[0].startswith("labeldist: error: ") and "Traceback" not in err:
                ended, message = "stopped", lines[0]
            else:
                ended = f"exit {code}: {err.strip()[-300:]}"
            _, torn = read_lines(out)
            partial = compare_runs(out, ref)
            written_ok = torn == 0 and not partial.duplicates and not partial.extra and not partial.generation_mismatch \
                and not partial.method_mismatch and partial.worst_diff <= tolerance
            if code != 0:
                proxy.wait_until_up()
                proxy.plan({})
                code2, err2 = run_cli(main, http_argv(data, out, proxy.url))
                if code2 != 0:
                    ended += f"; the rerun failed: {err2.strip()[-200:]}"
            final = compare_runs(out, ref)
            outcomes.append(FaultOutcome(kind, injected, ended, message, written_ok,
                                         final.same_records and final.worst_diff <= tolerance, final.worst_diff))
    finally:
        proxy.close()
    return outcomes, baseline.worst_diff


def start_llamacpp_server():
    """The llama.cpp server of tests/backends/test_http_server.py (SmolLM2 GGUF, 127.0.0.1), outside pytest.

    Returns ``(url, server)``; keep ``server`` referenced for as long as it must run.
    """
    import socket
    import time
    import urllib.request

    import xllamacpp as xlc

    from labeldist.backends.models import MODELS, gguf_path

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    p = xlc.CommonParams()
    p.model.path = str(gguf_path(MODELS["smollm2-135m"]))
    p.hostnames = ["127.0.0.1"]
    p.port = port
    p.n_parallel = 4
    p.n_ctx = 4 * 2048
    p.cpuparams.n_threads = 1
    p.cpuparams_batch.n_threads = 1
    p.verbosity = 0
    srv = xlc.Server(p)
    url = srv.listening_address
    for _ in range(200):
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as r:
                if r.status == 200:
                    return url, srv
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"llama.cpp server at {url} did not become healthy")
