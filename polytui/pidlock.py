"""The data-directory lock: one engine at a time owns a journal.

Every process that opens a journal for writing (the daemon, the console, the demo, a replay or
a recording on its own directory) holds an exclusive ``flock`` on ``daemon.pid`` in the data
directory for its whole life, and writes its pid and role there. The kernel drops the lock when
the process dies (even by SIGKILL), so a stale pidfile never blocks a restart, and two engines
can never write one journal (each would copy every whale trade against its own portfolio).
The pidfile is opened without following symlinks and is 0600 (see ``polytui.datadir``).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from polytui import datadir

PIDFILE = "daemon.pid"

# Lock files held by this process (a second flock from the same process would conflict with
# its own lock, so holders are remembered here).
_held: set[Path] = set()


class LockHeld(RuntimeError):
    """Another process owns the data directory."""

    def __init__(self, path: Path, pid: int | None, role: str = "") -> None:
        self.path = path
        self.pid = pid
        self.role = role or "engine"
        who = f"pid {pid}" if pid else "another process"
        super().__init__(f"a polytui {self.role} ({who}) is already using {path.parent}")

    def advice(self) -> str:
        """What the second process should do instead (one line, after the message)."""
        if self.role == "daemon":
            stop = f"kill -TERM {self.pid}" if self.pid else "stop it"
            how = f"reach it with `polytui attach`, or stop it ({stop})"
        else:
            how = "quit it first (run it as `polytui --daemon` to reach it with `polytui attach`)"
        return f"one engine per journal: {how}, or give this one another [storage] data_dir"


def _read_owner(path: Path) -> tuple[int | None, str]:
    """(pid, role) written by the lock's holder; (None, "") when unreadable."""
    try:
        fd = datadir.open_private(path, os.O_RDONLY)
    except (OSError, datadir.DataDirError):
        return None, ""
    try:
        text = os.read(fd, 128).decode("ascii", "replace")
    finally:
        os.close(fd)
    words = text.split()
    pid = int(words[0]) if words and words[0].isdigit() else None
    role = words[1] if len(words) > 1 and words[1].isalpha() else ""
    return pid, role


def _read_pid(path: Path) -> int | None:
    return _read_owner(path)[0]


class DataDirLock:
    """An exclusive lock on ``<data dir>/daemon.pid`` holding the owner's pid."""

    def __init__(self, data_dir: Path, role: str = "daemon") -> None:
        self.path = Path(data_dir) / PIDFILE
        self.role = role
        self._fd: int | None = None

    def acquire(self) -> None:
        """Check the data dir, take the lock, or raise :class:`LockHeld` naming the owner
        (:class:`~polytui.datadir.DataDirError` for an unsafe or read-only directory)."""
        datadir.prepare(self.path.parent)
        while True:
            fd = datadir.open_private(self.path, os.O_RDWR | os.O_CREAT)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise LockHeld(self.path, *_read_owner(self.path)) from None
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
        os.write(fd, f"{os.getpid()}\n{self.role}\n".encode("ascii"))
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


def hold(data_dir: Path, role: str) -> DataDirLock | None:
    """Take the data dir's lock for this process's engine; None when this process already
    holds it (the daemon takes it before it builds its engine)."""
    lock = DataDirLock(data_dir, role)
    if lock.path.resolve() in _held:
        return None
    lock.acquire()
    return lock


def owner_pid(data_dir: Path) -> int | None:
    """The pid of another live process locking ``data_dir``, else None (never blocks)."""
    path = Path(data_dir) / PIDFILE
    if not path.exists() or path.resolve() in _held:
        return None
    try:
        fd = datadir.open_private(path, os.O_RDONLY)
    except (OSError, datadir.DataDirError):
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return _read_pid(path) or -1
    finally:
        os.close(fd)
    return None
