"""A fault-injecting HTTP proxy for tests: loopback only, bounded in requests and time.

It listens on 127.0.0.1 and forwards every request to an upstream server (the real llama.cpp
server of ``test_http_server.py``), except where a fault is scheduled for it:

============================  ======================================================================
kind                          what the client sees
============================  ======================================================================
``refused``                   connection closed unanswered, then nothing listens for ``down_s``
                              seconds (connection refused)
``server_down``               the same for 3 s: the server stopping and coming back within the
                              client's retries
``server_down_long``          the same for ``long_down_s`` seconds: longer than the client retries
``reset_mid_body``            status, headers and half the body, then a TCP reset
``http_500`` / ``http_503``   that status with a JSON error body
``http_429``                  429 without ``Retry-After``
``http_429_retry_after``      429 with ``Retry-After: 1``
``slow``                      the answer after ``slow_s`` seconds (set it above the client's timeout)
``truncated_json``            200 with the first half of the upstream body (an honest Content-Length)
``missing_logprobs``          200, valid JSON, ``choices[0].logprobs`` removed
``fewer_topk``                200, valid JSON, every top-logprobs list cut to 2 entries
``wrong_token_ids``           200, valid JSON, every top-logprobs id shifted by one (texts kept)
``out_of_vocab_ids``          200, valid JSON, the generated token's id beyond the vocabulary
============================  ======================================================================

Faults are scheduled by :meth:`FaultProxy.plan` (request number -> kind; only
``POST /v1/completions`` requests are counted, so start-up probes stay clean unless asked);
every handled request is logged as ``(n, path, kind)``. After ``max_requests`` requests or
``max_seconds`` seconds the proxy answers nothing more and closes.
"""

from __future__ import annotations

import http.client
import json
import socket
import struct
import threading
import time
from urllib.parse import urlsplit

TRANSPORT_KINDS = ("refused", "server_down", "server_down_long", "reset_mid_body", "http_500", "http_503",
                   "http_429", "http_429_retry_after", "slow", "truncated_json")  # a retry (or a rerun) fixes these
SHAPE_KINDS = ("missing_logprobs", "fewer_topk", "wrong_token_ids", "out_of_vocab_ids")  # valid JSON, wrong content
FAULT_KINDS = TRANSPORT_KINDS + SHAPE_KINDS
COUNTED = ("POST", "/v1/completions")


class FaultProxy:
    def __init__(self, upstream: str, *, max_requests: int = 5000, max_seconds: float = 900.0, down_s: float = 0.6,
                 slow_s: float = 3.0, long_down_s: float = 12.0):
        u = urlsplit(upstream)
        self.upstream = (u.hostname, u.port)
        self.max_requests, self.deadline = max_requests, time.monotonic() + max_seconds
        self.down_s, self.slow_s, self.long_down_s = down_s, slow_s, long_down_s
        self._plan: dict[int, str] = {}
        self._lock = threading.Lock()
        self.counted = 0  # POST /v1/completions requests seen
        self.handled = 0  # all requests
        self.log: list[tuple[int, str, str]] = []  # (counted number or 0, path, fault kind or "ok")
        self._stop = threading.Event()
        self._listener = self._listen(0)
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._serve, daemon=True, name="fault-proxy")
        self._thread.start()

    # -- control -------------------------------------------------------------------------------
    def plan(self, faults: dict[int, str]) -> None:
        """Schedule faults: the n-th ``POST /v1/completions`` (1-based, from now) gets ``faults[n]``."""
        unknown = set(faults.values()) - set(FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {unknown}")
        with self._lock:
            self._plan = {self.counted + n: k for n, k in faults.items()}

    def faults_done(self) -> list[str]:
        return [k for _, _, k in self.log if k != "ok"]

    def wait_until_up(self, timeout: float = 60.0) -> None:
        """Block until an outage is over (the listener is back)."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            with self._lock:
                if self._listener is not None:
                    return
            time.sleep(0.05)
        raise TimeoutError("the fault proxy did not come back")

    def close(self) -> None:
        self._stop.set()
        with self._lock:
            if self._listener is not None:
                self._listener.close()
                self._listener = None
        self._thread.join(timeout=10)

    # -- serving ---------------------------------------------------------------------------------
    def _listen(self, port: int) -> socket.socket:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        s.listen(64)
        s.settimeout(0.1)
        return s

    def _serve(self) -> None:
        while not self._stop.is_set() and time.monotonic() < self.deadline and self.handled < self.max_requests:
            with self._lock:
                listener = self._listener
            if listener is None:  # down: nothing listens, connections are refused
                time.sleep(0.02)
                continue
            try:
                conn, _ = listener.accept()
            except (socket.timeout, OSError):
                continue
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()
        with self._lock:
            if self._listener is not None:
                self._listener.close()
                self._listener = None

    def _go_down(self, seconds: float) -> None:
        with self._lock:
            if self._listener is not None:
                self._listener.close()
                self._listener = None

        def back():
            time.sleep(seconds)
            with self._lock:
                if not self._stop.is_set() and self._listener is None:
                    self._listener = self._listen(self.port)

        threading.Thread(target=back, daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(30)
            method, path, headers, body = _read_request(conn)
            with self._lock:
                self.handled += 1
                n = 0
                if (method, path) == COUNTED:
                    self.counted += 1
                    n = self.counted
                kind = self._plan.pop(n, "ok") if n else "ok"
                self.log.append((n, path, kind))
            if kind in ("refused", "server_down", "server_down_long"):
                self._go_down({"refused": self.down_s, "server_down": 3.0, "server_down_long": self.long_down_s}[kind])
                _reset(conn)
                return
            if kind.startswith("http_"):
                status = int(kind.split("_")[1])
                extra = {"Retry-After": "1"} if kind == "http_429_retry_after" else {}
                _respond(conn, status, json.dumps({"error": {"message": f"injected {status}"}}).encode(), extra)
                return
            if kind == "slow":
                time.sleep(self.slow_s)
            status, raw = self._forward(method, path, headers, body)
            if kind == "reset_mid_body":
                head = _head(status, {"Content-Type": "application/json", "Content-Length": str(len(raw))})
                conn.sendall(head + raw[: len(raw) // 2])
                _reset(conn)
                return
            if kind == "truncated_json":
                raw = raw[: len(raw) // 2]
            elif kind in SHAPE_KINDS:
                raw = _reshape(raw, kind)
            _respond(conn, status, raw, {})
        except OSError:
            pass  # the client went away (e.g. it timed out on a slow answer)
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def _forward(self, method: str, path: str, headers: dict, body: bytes) -> tuple[int, bytes]:
        c = http.client.HTTPConnection(*self.upstream, timeout=120)
        try:
            fwd = {k: v for k, v in headers.items() if k.lower() in ("content-type", "accept", "authorization")}
            c.request(method, path, body=body or None, headers=fwd)
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()


def _read_request(conn: socket.socket) -> tuple[str, str, dict, bytes]:
    f = conn.makefile("rb")
    line = f.readline(65536).decode("latin-1").strip()
    method, path, _ = line.split(" ", 2)
    headers = {}
    while True:
        h = f.readline(65536).decode("latin-1")
        if h in ("\r\n", "\n", ""):
            break
        k, _, v = h.partition(":")
        headers[k.strip()] = v.strip()
    n = int(headers.get("Content-Length", 0) or 0)
    body = f.read(n) if n else b""
    return method, path, headers, body


def _head(status: int, headers: dict) -> bytes:
    reason = http.client.responses.get(status, "")
    lines = [f"HTTP/1.1 {status} {reason}", *(f"{k}: {v}" for k, v in headers.items()), "Connection: close", "", ""]
    return "\r\n".join(lines).encode("latin-1")


def _respond(conn: socket.socket, status: int, raw: bytes, extra: dict) -> None:
    conn.sendall(_head(status, {"Content-Type": "application/json", "Content-Length": str(len(raw)), **extra}) + raw)


def _reset(conn: socket.socket) -> None:
    """Close with a TCP RST (SO_LINGER 0) instead of an orderly FIN."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


def _reshape(raw: bytes, kind: str) -> bytes:
    """Valid JSON of the wrong shape, made from the upstream's real answer."""
    try:
        body = json.loads(raw)
        ch = body["choices"][0]
    except (ValueError, KeyError, IndexError, TypeError):
        return raw
    lp = ch.get("logprobs") or {}
    content = lp.get("content") if isinstance(lp, dict) else None
    if kind == "missing_logprobs":
        ch.pop("logprobs", None)
    elif kind == "fewer_topk" and content:
        for e in content:
            e["top_logprobs"] = e.get("top_logprobs", [])[:2]
    elif kind == "wrong_token_ids" and content:
        for e in content:
            for t in e.get("top_logprobs", []):
                if isinstance(t.get("id"), int):
                    t["id"] += 1
    elif kind == "out_of_vocab_ids" and content:
        content[0]["id"] = 10**9
    return json.dumps(body).encode()
