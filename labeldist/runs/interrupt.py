"""SIGINT / SIGTERM during a run: stop between writes, never inside one.

While :func:`signals_raise` is active (the CLI wraps every verb in it, :func:`labeldist.api.run`
wraps the run), SIGINT and SIGTERM raise :class:`Interrupted` in the main thread, a
``KeyboardInterrupt`` that remembers its signal, so the CLI exits with ``128 + signum``
(130 for SIGINT, 143 for SIGTERM). Inside a :func:`deferred` block (a record append, a
manifest write) a signal is only noted; it is raised when the block ends, so a signal
never leaves half a line in ``records.jsonl``. SIGKILL cannot be caught: the store's
torn-line recovery covers it.

Signal handlers can only be installed from the main thread; elsewhere both context
managers do nothing (a signal then behaves as Python's default).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Iterator

__all__ = ["Interrupted", "deferred", "signals_raise"]

SIGNALS = (signal.SIGINT, signal.SIGTERM)

_depth = 0  # nesting depth of deferred() blocks (main thread only)
_pending: list[int] = []  # signals that arrived inside a deferred() block


class Interrupted(KeyboardInterrupt):
    """Raised for SIGINT or SIGTERM; ``exit_code`` is the shell's ``128 + signum``."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = int(signum)
        self.exit_code = 128 + self.signum


def _handler(signum, frame) -> None:
    if _depth > 0:
        _pending.append(signum)
        return
    raise Interrupted(signum)


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def signals_raise() -> Iterator[None]:
    """SIGINT and SIGTERM raise :class:`Interrupted` (outside :func:`deferred` blocks) until exit."""
    if not _main_thread():
        yield
        return
    previous = {s: signal.getsignal(s) for s in SIGNALS}
    for s in SIGNALS:
        signal.signal(s, _handler)
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h if h is not None else signal.SIG_DFL)


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """A block a signal does not cut: one arriving inside it is raised when the block ends."""
    global _depth
    if not _main_thread():
        yield
        return
    _depth += 1
    try:
        yield
    except BaseException:
        _depth -= 1
        if _depth == 0:
            _pending.clear()  # the block failed anyway; its own error wins
        raise
    _depth -= 1
    if _depth == 0 and _pending:
        signum = _pending[0]
        _pending.clear()
        raise Interrupted(signum)
