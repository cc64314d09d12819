"""Open a page in headless Chromium and report what a person would see: console errors, images, tables.

Talks the Chrome DevTools Protocol over ``--remote-debugging-pipe`` (file descriptors 3 and
4, NUL-terminated JSON messages), so it needs nothing beyond the standard library and a
``chromium`` binary (Debian's ``chromium`` package; ``bash install.sh --test`` installs it).

Console errors are collected from three protocol events, so a page that throws, calls
``console.error``, or fails to load a resource (including one blocked by its
Content-Security-Policy) is caught: ``Runtime.exceptionThrown``,
``Runtime.consoleAPICalled`` with type ``error`` or ``assert``, and ``Log.entryAdded`` with
level ``error``.

Used by the browser test of ``labeldist report`` and by ``docs/report_screenshot.py``.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from labeldist.errors import LabeldistError

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

#: Flags that keep headless Chromium quiet and offline on a closed network (no sandbox: it runs as root in CI).
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-default-apps", "--mute-audio", "--hide-scrollbars")

# Evaluated in the loaded page: every <img> with its source scheme and decoded size, and the tables.
_INSPECT = """(() => {
  const imgs = Array.from(document.images).map(i => ({
    alt: i.alt, scheme: i.src.split(':')[0], complete: i.complete,
    width: i.naturalWidth, height: i.naturalHeight, src_head: i.src.slice(0, 40)}));
  const tables = Array.from(document.querySelectorAll('table')).map(t => ({
    cls: t.className, rows: t.rows.length, best: t.querySelectorAll('td.best').length}));
  return {title: document.title, imgs: imgs, tables: tables,
          h2: Array.from(document.querySelectorAll('h2')).map(h => h.textContent),
          h3: Array.from(document.querySelectorAll('h3')).map(h => h.textContent),
          boxes: Array.from(document.querySelectorAll('.box')).map(b => ({cls: b.className, text: b.textContent})),
          scripts: document.scripts.length, height: document.documentElement.scrollHeight};
})()"""


def find_chromium() -> str | None:
    """Path of a Chromium binary on PATH (or ``$LABELDIST_CHROMIUM``), else None."""
    env = os.environ.get("LABELDIST_CHROMIUM")
    if env:
        return env if Path(env).is_file() else None
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def chromium_missing_reason() -> str | None:
    """Why :func:`find_chromium` finds nothing (for a test's skip reason), or None when it finds one."""
    if find_chromium() is not None:
        return None
    env = os.environ.get("LABELDIST_CHROMIUM")
    if env:
        return f"$LABELDIST_CHROMIUM={env} is not a file"
    return (f"no Chromium on PATH (looked for {', '.join(CHROMIUM_NAMES)}); `bash install.sh --test` installs "
            "Debian's chromium package where apt-get is available")


@dataclass
class PageCheck:
    """What headless Chromium saw on one page.

    Attributes
    ----------
    url : str
    console_errors : list of str
        Uncaught exceptions, ``console.error`` calls and error log entries (failed loads).
    dom : dict
        The page's title, images (scheme, decoded width/height), tables (class, rows, best
        cells), h2/h3 headings, boxes and number of scripts (see ``_INSPECT``).
    screenshot : bytes or None
        PNG of the page, when asked for.
    """

    url: str
    console_errors: list[str] = field(default_factory=list)
    dom: dict = field(default_factory=dict)
    screenshot: bytes | None = None


class _Pipe:
    """A CDP connection over the two pipes Chromium reads (fd 3) and writes (fd 4)."""

    def __init__(self, binary: str, user_data_dir: str, width: int, height: int):
        # Our pipe ends live at fds >= 10 with close-on-exec set; in the child they are copied to 3 and 4
        # (dup2 clears close-on-exec on the copies), so nothing else of ours leaks into Chromium.
        r, w = os.pipe()
        to_child_r, self._to_child_w = self._high(r), self._high(w)
        r, w = os.pipe()
        self._from_child_r, from_child_w = self._high(r), self._high(w)

        def place_fds():  # runs in the child between fork and exec
            os.dup2(to_child_r, 3)
            os.dup2(from_child_w, 4)

        args = [binary, *CHROMIUM_FLAGS, f"--user-data-dir={user_data_dir}", f"--window-size={width},{height}",
                "--remote-debugging-pipe", "about:blank"]
        try:
            self.proc = subprocess.Popen(args, preexec_fn=place_fds, close_fds=False, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        except OSError:
            os.close(self._to_child_w)
            os.close(self._from_child_r)
            raise
        finally:
            os.close(to_child_r)
            os.close(from_child_w)
        self._buf = b""
        self._id = 0
        self.events: list[dict] = []

    @staticmethod
    def _high(fd: int) -> int:
        """``fd`` moved to a number >= 10, close-on-exec (the original is closed)."""
        new = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(fd)
        return new

    def _recv(self, deadline: float) -> dict:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer from Chromium")
            ready, _, _ = select.select([self._from_child_r], [], [], left)
            if not ready:
                continue
            chunk = os.read(self._from_child_r, 1 << 20)
            if not chunk:
                raise EOFError("Chromium closed the DevTools pipe")
            self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method: str, params: dict | None = None, session: str | None = None, timeout: float = 60) -> dict:
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._to_child_w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            r = self._recv(deadline)
            if r.get("id") == self._id:
                if "error" in r:
                    raise RuntimeError(f"{method}: {r['error']}")
                return r.get("result", {})
            self.events.append(r)

    def wait_event(self, method: str, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        for e in self.events:
            if e.get("method") == method:
                return e
        while True:
            e = self._recv(deadline)
            self.events.append(e)
            if e.get("method") == method:
                return e

    def drain(self, seconds: float) -> None:
        """Collect events for ``seconds`` more (late console messages)."""
        deadline = time.monotonic() + seconds
        try:
            while True:
                self.events.append(self._recv(deadline))
        except TimeoutError:
            pass

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=10)
        except (OSError, EOFError, TimeoutError, RuntimeError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._to_child_w, self._from_child_r):
            try:
                os.close(fd)
            except OSError:
                pass


def _console_errors(events: list[dict]) -> list[str]:
    out = []
    for e in events:
        m, p = e.get("method"), e.get("params", {})
        if m == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            desc = (d.get("exception") or {}).get("description") or d.get("text", "exception")
            out.append(f"exception: {desc} ({d.get('url', '')}:{d.get('lineNumber', '?')})")
        elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            args = " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", []))
            out.append(f"console.{p.get('type')}: {args}")
        elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            entry = p["entry"]
            out.append(f"log ({entry.get('source')}): {entry.get('text')} {entry.get('url', '')}".rstrip())
    return out


def check_page(path: str | Path, *, screenshot: bool = False, width: int = 1280, height: int = 900,
               full_page: bool = False, clip_height: int | None = None, settle: float = 0.5,
               binary: str | None = None) -> PageCheck:
    """Load ``path`` (a local HTML file) in headless Chromium and return what it saw.

    Parameters
    ----------
    path : path
    screenshot : bool
        Also capture a PNG: the viewport, the whole page (``full_page``) or its top
        ``clip_height`` CSS pixels.
    width, height : int
        Viewport size in CSS pixels.
    settle : float
        Seconds to keep listening for console messages after the load event.
    binary : str, optional
        Chromium to use (default: :func:`find_chromium`).

    Raises
    ------
    LabeldistError
        No Chromium found, or the page did not load.
    """
    binary = binary or find_chromium()
    if binary is None:
        raise LabeldistError("no Chromium found on PATH", "install Debian's chromium package (bash install.sh --test)")
    url = Path(path).resolve().as_uri()
    with tempfile.TemporaryDirectory(prefix="labeldist-chromium-") as profile:
        pipe = _Pipe(binary, profile, width, height)
        try:
            target = pipe.send("Target.createTarget", {"url": "about:blank"})
            session = pipe.send("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True})["sessionId"]
            for m in ("Page.enable", "Runtime.enable", "Log.enable"):
                pipe.send(m, session=session)
            pipe.send("Emulation.setDeviceMetricsOverride",
                      {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}, session=session)
            nav = pipe.send("Page.navigate", {"url": url}, session=session)
            if nav.get("errorText"):
                raise LabeldistError(f"Chromium could not load {url}: {nav['errorText']}", "check the file")
            pipe.wait_event("Page.loadEventFired")
            pipe.drain(settle)
            res = pipe.send("Runtime.evaluate", {"expression": _INSPECT, "returnByValue": True}, session=session)
            check = PageCheck(url, _console_errors(pipe.events), res.get("result", {}).get("value") or {})
            if screenshot:
                params: dict = {"format": "png"}
                if full_page or clip_height:
                    h = check.dom.get("height", height)
                    h = min(h, clip_height) if clip_height else h
                    params.update(captureBeyondViewport=True,
                                  clip={"x": 0, "y": 0, "width": width, "height": h, "scale": 1})
                shot = pipe.send("Page.captureScreenshot", params, session=session)
                check.screenshot = base64.b64decode(shot["data"])
            return check
        finally:
            pipe.close()
