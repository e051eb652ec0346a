"""The data-directory lock: one process at a time owns a journal.

The daemon holds an exclusive ``flock`` on ``daemon.pid`` in the data directory for its whole
life and writes its pid there. The kernel drops the lock when the process dies (even by
SIGKILL), so a stale pidfile never blocks a restart, and two daemons can never write one journal.
The console checks the same lock before opening a journal a daemon is already using.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

PIDFILE = "daemon.pid"

# Lock files held by this process (a second flock from the same process would conflict with
# its own lock, so holders are remembered here).
_held: set[Path] = set()


class LockHeld(RuntimeError):
    """Another process owns the data directory."""

    def __init__(self, path: Path, pid: int | None) -> None:
        self.path = path
        self.pid = pid
        who = f"pid {pid}" if pid else "another process"
        super().__init__(f"a polytui daemon ({who}) is already using {path.parent}")


def _read_pid(path: Path) -> int | None:
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None


class DataDirLock:
    """An exclusive lock on ``<data dir>/daemon.pid`` holding the owner's pid."""

    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / PIDFILE
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise :class:`LockHeld` naming the owner."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise LockHeld(self.path, _read_pid(self.path)) from None
            # The previous owner unlinks the file on release: a lock on an unlinked inode
            # protects nothing, so make sure the path still names the file we locked.
            try:
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        os.fsync(fd)
        self._fd = fd
        _held.add(self.path.resolve())

    def release(self) -> None:
        """Remove the pidfile and drop the lock (safe to call twice)."""
        if self._fd is None:
            return
        _held.discard(self.path.resolve())
        # Unlink while still holding the lock, so no one can lock the file we are removing.
        with contextlib.suppress(OSError):
            self.path.unlink()
        os.close(self._fd)
        self._fd = None


def owner_pid(data_dir: Path) -> int | None:
    """The pid of another live process locking ``data_dir``, else None (never blocks)."""
    path = Path(data_dir) / PIDFILE
    if not path.exists() or path.resolve() in _held:
        return None
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return _read_pid(path) or -1
    finally:
        os.close(fd)
    return None
