"""The data directory and its private files: the journal, its backups and the pidfile.

The directory must belong to the user running polytui, must not be writable by group or
others, and must be writable by its owner; otherwise polytui refuses to start, naming the
reason. Directories polytui creates are made 0700; one it did not create is never chmod'ed.
Files in it are created 0600 whatever the umask and are never opened through a symlink
(``O_NOFOLLOW``), so nobody can make polytui write through a link planted beside its journal.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


class DataDirError(RuntimeError):
    """The data directory (or a file in it) is not safe or not usable; the message says why."""


def make_private_dirs(directory: Path) -> None:
    """Create ``directory`` and any missing parents 0700; an existing one is left as it is."""
    missing: list[Path] = []
    probe = Path(directory)
    while not os.path.lexists(probe) and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    for path in reversed(missing):
        try:
            os.mkdir(path, PRIVATE_DIR)
        except FileExistsError:
            continue  # created meanwhile by someone else: not ours to chmod
        os.chmod(path, PRIVATE_DIR)  # the umask may have taken bits off, never added any


def prepare(directory: Path) -> Path:
    """Create the data dir if needed and check it is the user's own; raise DataDirError."""
    directory = Path(directory)
    try:
        make_private_dirs(directory)
        link = os.lstat(directory)
        info = os.stat(directory)
    except OSError as exc:
        raise DataDirError(f"cannot use the data dir {directory}: {exc.strerror}") from None
    me = os.geteuid()
    if stat.S_ISLNK(link.st_mode) and link.st_uid not in (me, 0):
        raise DataDirError(
            f"the data dir {directory} is a symlink owned by uid {link.st_uid}; "
            "point [storage] data_dir at a directory of your own"
        )
    if not stat.S_ISDIR(info.st_mode):
        raise DataDirError(f"the data dir {directory} is not a directory")
    if info.st_uid != me:
        raise DataDirError(
            f"the data dir {directory} belongs to uid {info.st_uid}, not to you (uid {me}); "
            "the journal needs a directory of your own"
        )
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o022:
        raise DataDirError(
            f"the data dir {directory} is writable by group or others (mode {mode:04o}); "
            f"run `chmod go-w {directory}` (0700 is best)"
        )
    if not mode & 0o200 or not os.access(directory, os.W_OK | os.X_OK):
        raise DataDirError(
            f"the data dir {directory} is read-only (mode {mode:04o}); the journal must be "
            "written: make it writable or choose another [storage] data_dir"
        )
    return directory


def refuse_symlink(path: Path) -> None:
    """Raise DataDirError when ``path`` is a symlink (the journal and its files never are)."""
    with contextlib.suppress(FileNotFoundError):
        if stat.S_ISLNK(os.lstat(path).st_mode):
            raise DataDirError(f"{path} is a symlink; polytui never writes through one")


def open_private(path: Path, flags: int) -> int:
    """``os.open`` without following a symlink, creating the file 0600 (umask or not)."""
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC, PRIVATE_FILE)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # the last component is a symlink
            raise DataDirError(f"{path} is a symlink; polytui never writes through one") from None
        raise
    try:
        tighten(fd)
    except BaseException:
        os.close(fd)
        raise
    return fd


def tighten(target: int | Path) -> None:
    """Make a file of ours owner-only (one an older run left 0644 under a loose umask)."""
    if isinstance(target, Path):
        try:
            info = os.lstat(target)
        except FileNotFoundError:
            return
    else:
        info = os.fstat(target)
    if info.st_uid != os.geteuid() or not stat.S_ISREG(info.st_mode):
        return
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        if isinstance(target, Path):
            os.chmod(target, mode & 0o700)
        else:
            os.fchmod(target, mode & 0o700)


KILL_MARKER = "kill-switch"


def write_marker(directory: Path, name: str = KILL_MARKER) -> bool:
    """Create an empty marker file durably (it needs no data block, so it can be written on a
    full disk when the journal cannot); True when it is on disk."""
    path = Path(directory) / name
    try:
        fd = open_private(path, os.O_WRONLY | os.O_CREAT)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except (OSError, DataDirError):
        return False
    return True


def marker_present(directory: Path, name: str = KILL_MARKER) -> bool:
    """A marker left by ``write_marker`` (a regular file, not a link)."""
    try:
        return stat.S_ISREG(os.lstat(Path(directory) / name).st_mode)
    except OSError:
        return False


def clear_marker(directory: Path, name: str = KILL_MARKER) -> None:
    """Remove a marker once what it stood for is in the journal."""
    with contextlib.suppress(OSError):
        os.unlink(Path(directory) / name)
