"""The journal file's safety checks: where it lives, what may be opened, and what a corrupt
file's error says.

A file with a newer schema, or one that is not a polytui journal, is refused and left untouched,
and so is one that fails ``PRAGMA quick_check`` (corrupt): the error names the newest backup
that passes the same check and how to restore it. An empty or table-less file where a journal
should be, a read-only file and a symlink are refused too.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

from polytui import datadir


class JournalError(RuntimeError):
    """The journal file cannot be used (newer schema, corrupt, not a journal)."""


def journal_path(data_dir: Path, mode: str) -> Path:
    """``paper.db`` or ``live.db``: paper and live never share a file."""
    if mode not in ("paper", "live"):
        raise ValueError(f"unknown mode {mode!r}")
    return Path(data_dir) / f"{mode}.db"


def backup_dir(path: Path) -> Path:
    """Backups live beside the journal."""
    return Path(path).parent / "backups"


def sidecars(path: Path) -> tuple[Path, Path]:
    """The WAL and shared-memory files SQLite keeps beside ``path``."""
    return path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")


def prepare(path: Path, writer: bool) -> bool:
    """Refuse symlinks and unusable files, create a missing journal 0600, tighten the modes;
    whether the file existed before. JournalError says why a file cannot be used."""
    datadir.make_private_dirs(path.parent)
    try:
        for name in (path, *sidecars(path)):
            datadir.refuse_symlink(name)
        existed = os.path.lexists(path)
        if existed:
            _check_usable(path, writer)
        else:
            os.close(datadir.open_private(path, os.O_RDWR | os.O_CREAT | os.O_EXCL))
        for name in (path, *sidecars(path)):
            datadir.tighten(name)
    except datadir.DataDirError as exc:
        raise JournalError(str(exc)) from None
    except OSError as exc:
        raise JournalError(f"{path}: {exc.strerror}") from None
    return existed


def _check_usable(path: Path, writer: bool) -> None:
    """Refuse, without letting sqlite touch it, a file that cannot be the journal: not a
    regular file, read-only, empty, or not SQLite."""
    info = os.stat(path)
    if not stat.S_ISREG(info.st_mode):
        raise JournalError(f"{path}: not a regular file")
    writable = info.st_mode & stat.S_IWUSR and os.access(path, os.R_OK | os.W_OK)
    if writer and not writable:
        raise JournalError(
            f"{path}: read-only (mode {stat.S_IMODE(info.st_mode):04o}); the journal must be "
            "written: make it writable (chmod 600) or choose another [storage] data_dir"
        )
    if info.st_size == 0:
        raise JournalError(corrupt(path, "an empty file (0 bytes)"))
    fd = datadir.open_private(path, os.O_RDONLY)
    try:
        header = os.read(fd, 16)
    finally:
        os.close(fd)
    if header != b"SQLite format 3\x00":
        raise JournalError(f"{path}: not an SQLite file (corrupt or foreign); it was not changed")


def quick_check(conn: sqlite3.Connection) -> str:
    """ "" when ``PRAGMA quick_check`` passes, else its first complaint."""
    try:
        rows = conn.execute("PRAGMA quick_check").fetchall()
    except sqlite3.DatabaseError as exc:
        return str(exc)
    first = str(rows[0][0]) if rows else "no answer"
    return "" if first == "ok" else first


def newest_good_backup(path: Path) -> Path | None:
    """The newest backup of ``path`` that opens read-only and passes ``quick_check``."""
    for candidate in sorted(backup_dir(path).glob(f"{Path(path).stem}-*.db"), reverse=True):
        try:
            conn = sqlite3.connect(f"file:{candidate}?mode=ro&immutable=1", uri=True)
        except sqlite3.Error:
            continue
        try:
            if not quick_check(conn):
                return candidate
        finally:
            conn.close()
    return None


def corrupt(path: Path, problem: str) -> str:
    """One line: what is wrong, that nothing was changed, and how to restore a good backup."""
    good = newest_good_backup(path)
    head = f"{path}: corrupt ({problem}); it was not changed and no backup was taken"
    if good is None:
        return (
            f"{head}; there is no good backup in {path.parent / 'backups'}: move {path}* "
            "away to start a new journal"
        )
    return (
        f"{head}; the newest good backup is {good}: to restore it, stop polytui, move "
        f"{path}, {path.name}-wal and {path.name}-shm aside, then `cp {good} {path}`"
    )
