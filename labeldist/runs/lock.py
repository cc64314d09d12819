"""One writer per run directory: an exclusive ``flock`` on ``RUN_DIR/.lock``.

The lock is held from the moment a run opens its directory until it ends; the operating
system releases it when the process exits, however it exits (SIGKILL included), so a
stale ``.lock`` file never blocks a resume. The holder writes its pid into the file, so a
second process can name it in its one-line error. ``flock`` locks belong to the open file,
so two opens in one process also exclude each other.

Limits: ``flock`` is advisory (a process that does not ask is not stopped) and on some
network file systems it only locks against processes on the same machine. Where ``fcntl``
does not exist (Windows) no lock is taken.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from labeldist.errors import LabeldistError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

__all__ = ["LOCK_FILE", "RunLock"]

LOCK_FILE = ".lock"


class RunLock:
    """An acquired lock on a run directory; :meth:`release` (or process exit) frees it."""

    def __init__(self, run_dir: Path, fd: int | None):
        self.run_dir, self._fd = run_dir, fd

    @classmethod
    def acquire(cls, run_dir: str | Path) -> "RunLock":
        """Lock ``run_dir`` (which must exist) or raise a one-line error naming the holder's pid."""
        run_dir = Path(run_dir)
        if fcntl is None:  # pragma: no cover
            return cls(run_dir, None)
        path = run_dir / LOCK_FILE
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise LabeldistError(f"cannot open {path} for writing ({e.strerror})",
                                 "make the directory writable (or choose another --out), then rerun the same command") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            holder = _read_pid(fd)
            os.close(fd)
            if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise LabeldistError(f"cannot lock {path} ({e.strerror})",
                                     "use a run directory on a local file system") from None
            who = f"pid {holder}" if holder else "another process"
            kill = f" (kill {holder})" if holder else ""
            raise LabeldistError(
                f"{run_dir} is in use by another labeldist process ({who})",
                f"wait for it to finish, or stop it{kill} and rerun the same command to resume; "
                "two processes never write one run directory",
            ) from None
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        except OSError:
            pass  # the pid is only for the message; the lock itself is held
        return cls(run_dir, fd)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the file releases the flock
            self._fd = None

    @property
    def held(self) -> bool:
        return self._fd is not None


def _read_pid(fd: int) -> int | None:
    try:
        raw = os.pread(fd, 32, 0)
        return int(raw.split()[0]) if raw.split() else None
    except (OSError, ValueError):
        return None
