"""One run at a time: an exclusive lock file that names its holder and survives crashes.

The lock is an advisory ``flock`` on a small file next to the history store. The kernel drops
the ``flock`` when the holding process dies, however it dies (``kill -9`` included), so a crash
can never leave the next night locked out. The file itself also records who holds it (PID,
host, start time, command line): a second run that finds the lock taken refuses with that
information, and a run that finds the file left behind by a dead process (a *stale* lock)
logs a warning naming the dead process and takes over.

Examples
--------
>>> import tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "history.duckdb.lock")
>>> with RunLock(path) as lock:
...     lock.holder()["pid"] == os.getpid()
True
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Self

log = logging.getLogger(__name__)

__all__ = ["LockHeld", "RunLock", "pid_alive"]


class LockHeld(RuntimeError):
    """Another run holds the lock; the message says which process and since when."""


def pid_alive(pid: int) -> bool:
    """Whether a process with this PID exists on this machine."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RunLock:
    """Exclusive, non-blocking lock on ``path``; use as a context manager.

    Parameters
    ----------
    path : the lock file (created if missing).
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._fd: int | None = None
        self.stale: dict | None = None

    def acquire(self) -> Self:
        """Take the lock or raise :class:`LockHeld`; never waits."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(5):
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read(fd)
                os.close(fd)
                raise LockHeld(_held_message(self.path, holder)) from None
            # The file may have been unlinked by its previous holder between our open and
            # flock; then we locked an orphan inode and must retry on the new file.
            try:
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if not same:
                os.close(fd)
                continue
            previous = _read(fd)
            if previous:
                self.stale = previous
                alive = previous.get("host") == socket.gethostname() and pid_alive(
                    int(previous.get("pid", -1))
                )
                log.warning(
                    "stale lock %s from pid %s on %s (started %s) %s; taking it over",
                    self.path,
                    previous.get("pid"),
                    previous.get("host"),
                    previous.get("started"),
                    "whose process no longer holds it" if alive else "that is no longer running",
                )
            info = {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "started": datetime.now(UTC).replace(microsecond=0).isoformat(),
                "command": " ".join(sys.argv)[:500],
            }
            os.ftruncate(fd, 0)
            os.pwrite(fd, (json.dumps(info) + "\n").encode(), 0)
            os.fsync(fd)
            self._fd = fd
            return self
        raise LockHeld(f"could not take the lock {self.path}: it keeps being replaced")

    def holder(self) -> dict:
        """The JSON the lock file holds (``{}`` when empty or unreadable)."""
        try:
            return json.loads(self.path.read_text(encoding="utf-8") or "{}")
        except (OSError, ValueError):
            return {}

    def release(self) -> None:
        if self._fd is None:
            return
        # Unlink while still holding the lock, so nobody takes over a file about to vanish.
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> Self:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def _read(fd: int) -> dict:
    try:
        size = os.fstat(fd).st_size
        raw = os.pread(fd, min(size, 65536), 0).decode("utf-8", errors="replace").strip()
        return json.loads(raw) if raw else {}
    except (OSError, ValueError):
        return {"pid": "?", "note": "unreadable lock file"}


def _held_message(path: Path, holder: dict) -> str:
    pid = holder.get("pid", "?")
    host = holder.get("host", "?")
    since = holder.get("started", "?")
    return (
        f"another run is in progress (pid {pid} on {host}, started {since}); not starting. "
        f"Lock file: {path}. If no such process is running, the lock is released automatically "
        "when it exits; do not delete the file while it runs."
    )
