"""The journal: a SQLite file (WAL) per mode holding every trading record.

``events`` is append-only (signals, decisions with reasons, intent transitions, order status
history, fills, settlements). Small derived state (strategy and portfolio snapshots, flags)
lives in ``state``; equity snapshots in ``equity``; market metadata in ``markets``. Money is
stored as decimal text and a float anywhere in a payload is refused, so binary rounding can
never reach the books. A file with a newer schema, or one that is not a polytui journal, is
refused and left untouched, and so is one that fails ``PRAGMA quick_check`` (corrupt): the error
names the newest backup that passes the same check and how to restore it. A backup is only
ever taken of a file that has just passed the check, so a corrupt journal can never rotate the
good generations away. An empty or table-less file where a journal should be, a read-only
file and a symlink are refused too.

A write that fails (disk full, I/O error) does not lose the rows: everything since the last
commit is kept in memory and replayed by the next flush (at most once a second), ``fault``
says why writes fail meanwhile, and ``flush`` answers whether the rows are durable.

One ``Journal`` owns one connection and must be used from one thread (the engine's loop).
"""

from __future__ import annotations

import contextlib
import enum
import json
import logging
import os
import sqlite3
import stat
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from polytui import datadir

log = logging.getLogger(__name__)

SCHEMA_VERSION = 3
BACKUP_GENERATIONS = 5
RETRY_EVERY_S = 1.0  # how often a failing journal is retried

# Forward migrations: MIGRATIONS[n] takes a file from version n to n + 1.
MIGRATIONS: dict[int, list[str]] = {
    0: [
        """CREATE TABLE events (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            ts TEXT NOT NULL,
            kind TEXT NOT NULL,
            ref TEXT NOT NULL DEFAULT '',
            payload TEXT NOT NULL
        )""",
        "CREATE INDEX events_kind ON events (kind, id)",
        "CREATE INDEX events_ref ON events (ref)",
        "CREATE TABLE state (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated TEXT NOT NULL)",
        "CREATE TABLE equity (ts TEXT NOT NULL, equity TEXT NOT NULL, cash TEXT NOT NULL)",
    ],
    1: [
        """CREATE TABLE markets (
            condition_id TEXT PRIMARY KEY,
            payload TEXT NOT NULL,
            fetched_at TEXT NOT NULL
        )""",
        "CREATE TABLE market_tokens (token_id TEXT PRIMARY KEY, condition_id TEXT NOT NULL)",
        "CREATE TABLE wallet_stats (wallet TEXT PRIMARY KEY, payload TEXT NOT NULL)",
    ],
    # Whale profiles: fetched history rows (owner = wallet or condition id), resumable
    # cursors, and the profiles computed from them (polytui.whales.store).
    2: [
        """CREATE TABLE history_rows (
            owner TEXT NOT NULL,
            kind TEXT NOT NULL,
            key TEXT NOT NULL,
            ts INTEGER NOT NULL,
            payload TEXT NOT NULL,
            PRIMARY KEY (owner, kind, key)
        )""",
        """CREATE TABLE history_cursors (
            owner TEXT NOT NULL,
            stream TEXT NOT NULL,
            payload TEXT NOT NULL,
            updated TEXT NOT NULL,
            PRIMARY KEY (owner, stream)
        )""",
        """CREATE TABLE wallet_profiles (
            wallet TEXT PRIMARY KEY,
            payload TEXT NOT NULL,
            updated TEXT NOT NULL
        )""",
    ],
}


class JournalError(RuntimeError):
    """The journal file cannot be used (newer schema, corrupt, not a journal)."""


@dataclass(frozen=True, slots=True)
class JournalEvent:
    """One row of the append-only event log."""

    id: int
    ts: str
    kind: str
    ref: str
    payload: dict[str, Any]


def _plain(value: Any) -> Any:
    """JSON-ready form; Decimal → text; float refused (money must never be binary)."""
    if isinstance(value, float):
        raise TypeError(f"float {value!r} cannot be journaled; use Decimal or integer micro-units")
    if isinstance(value, Decimal):
        return format(value, "f")  # plain digits: 200, never 2E+2
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return _plain(value.value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, str | int | bool):
        return value
    raise TypeError(f"cannot journal a {type(value).__name__}")


def encode_payload(payload: Any) -> str:
    """Compact JSON text for a payload, refusing floats."""
    return json.dumps(_plain(payload), separators=(",", ":"), sort_keys=True)


def journal_path(data_dir: Path, mode: str) -> Path:
    """``paper.db`` or ``live.db``: paper and live never share a file."""
    if mode not in ("paper", "live"):
        raise ValueError(f"unknown mode {mode!r}")
    return Path(data_dir) / f"{mode}.db"


def _now_iso() -> str:
    return datetime.now(UTC).isoformat()


class Journal:
    """Append-only event store plus small derived tables."""

    def __init__(
        self, conn: sqlite3.Connection, path: Path, mode: str, backups: int = BACKUP_GENERATIONS
    ) -> None:
        self._conn = conn
        self.path = path
        self.mode = mode
        self.backups = backups
        self._pending = 0
        self._last_backup_day: str | None = None
        # Statements since the last commit, replayed when a failed commit is retried.
        self._ops: list[tuple[str, tuple[Any, ...]]] = []
        self.fault = ""  # why writes fail ("" while they work)
        self._retry_at = 0.0
        self.commits = 0  # transactions made durable, for the flood benchmark and its test
        self.lock: Any = None  # the data dir's lock, released on close

    # --- opening ------------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: Path,
        *,
        mode: str,
        backup: bool = True,
        backups: int = BACKUP_GENERATIONS,
        writer: bool = True,
    ) -> Journal:
        """Open (creating or migrating) the journal at ``path``; JournalError says why not.
        A ``writer`` (an engine) proves at once that the file can be written; a reader
        (``polytui report``) does not write to it."""
        path = Path(path)
        datadir.make_private_dirs(path.parent)
        try:
            for name in (path, *_sidecars(path)):
                datadir.refuse_symlink(name)
            existed = os.path.lexists(path)
            if existed:
                _check_usable(path, writer)
            else:
                os.close(datadir.open_private(path, os.O_RDWR | os.O_CREAT | os.O_EXCL))
            for name in (path, *_sidecars(path)):
                datadir.tighten(name)
        except datadir.DataDirError as exc:
            raise JournalError(str(exc)) from None
        except OSError as exc:
            raise JournalError(f"{path}: {exc.strerror}") from None
        try:
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=True)
            conn.execute("PRAGMA busy_timeout = 5000")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise JournalError(_corrupt(path, f"not a readable polytui journal: {exc}")) from None
        try:
            journal = cls._open_checked(conn, path, mode, version, existed, backup, backups)
            if writer:
                journal._prove_writable()
            return journal
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise JournalError(_corrupt(path, str(exc))) from None
        except BaseException:
            conn.close()
            raise

    @classmethod
    def _open_checked(
        cls,
        conn: sqlite3.Connection,
        path: Path,
        mode: str,
        version: int,
        existed: bool,
        backup: bool,
        backups: int,
    ) -> Journal:
        if version > SCHEMA_VERSION:
            raise JournalError(
                f"{path}: written by a newer polytui (schema {version}, this build knows "
                f"{SCHEMA_VERSION}); upgrade polytui — the file was not changed"
            )
        if existed and version == 0:
            tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            if tables:
                raise JournalError(f"{path}: an SQLite file that is not a polytui journal")
            raise JournalError(_corrupt(path, "an SQLite file without the journal's tables"))
        if existed:
            problem = _quick_check(conn)
            if problem:
                raise JournalError(_corrupt(path, problem))
        journal = cls(conn, path, mode, backups)
        if existed and backup:
            journal.backup(checked=True)  # quick_check just passed
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        journal._migrate(version)
        return journal

    def _prove_writable(self) -> None:
        """A read-only file or file system fails here, at start, not at the first trade."""
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.execute(
                "INSERT INTO state (key, value, updated) VALUES ('opened', ?, ?) ON CONFLICT(key) "
                "DO UPDATE SET value = excluded.value, updated = excluded.updated",
                (encode_payload({"pid": os.getpid()}), _now_iso()),
            )
            self._conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise JournalError(f"{self.path}: cannot be written ({exc})") from None

    def _migrate(self, version: int) -> None:
        while version < SCHEMA_VERSION:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in MIGRATIONS[version]:
                    self._conn.execute(statement)
                version += 1
                self._conn.execute(f"PRAGMA user_version = {version}")
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    # --- writing ------------------------------------------------------------------------------

    def _begin(self) -> None:
        if not self._conn.in_transaction:
            self._conn.execute("BEGIN")

    def _write(self, sql: str, params: tuple[Any, ...]) -> int:
        """Run one statement in the open transaction (kept for a retry); its rowid, or 0 while
        writes fail (then it waits in memory for the next successful flush)."""
        self._ops.append((sql, params))
        if self.fault:
            return 0
        try:
            self._begin()
            cursor = self._conn.execute(sql, params)
        except sqlite3.OperationalError as exc:
            self._failed(exc)
            return 0
        return int(cursor.lastrowid or 0)

    def _failed(self, exc: Exception) -> None:
        if self._conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("ROLLBACK")
        first = not self.fault
        self.fault = f"journal write failed: {exc}"
        self._retry_at = time.monotonic() + RETRY_EVERY_S
        if first:
            log.error(
                "%s (%s); %d row(s) kept in memory, retrying every %.0f s",
                self.fault,
                self.path,
                len(self._ops),
                RETRY_EVERY_S,
                extra={"event": "journal_write_failed", "fields": {"journal": str(self.path)}},
            )

    def _retry(self, force: bool) -> bool:
        if not force and time.monotonic() < self._retry_at:
            return False
        try:
            self._conn.execute("BEGIN")
            for sql, params in self._ops:
                self._conn.execute(sql, params)
            self._conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            self._failed(exc)
            return False
        self.commits += 1
        log.warning(
            "journal writes work again: %d row(s) saved (%s)",
            len(self._ops),
            self.path,
            extra={"event": "journal_write_recovered", "fields": {"rows": len(self._ops)}},
        )
        self.fault = ""
        self._ops.clear()
        self._pending = 0
        return True

    def append(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        ref: str = "",
        ts: datetime | None = None,
        durable: bool = False,
    ) -> int:
        """Append one event; ``durable`` commits (fsync) before returning."""
        text = encode_payload(payload)
        rowid = self._write(
            "INSERT INTO events (ts, kind, ref, payload) VALUES (?, ?, ?, ?)",
            ((ts or datetime.now(UTC)).isoformat(), kind, ref, text),
        )
        self._pending += 1
        if durable:
            self.flush()
        return rowid

    def append_many(self, items: Iterable[tuple[str, str, dict[str, Any]]]) -> None:
        """Append ``(kind, ref, payload)`` triples in the current transaction."""
        for kind, ref, payload in items:
            self.append(kind, payload, ref=ref)

    def scratch(self) -> None:
        """A throwaway journal (a backtest's): commits skip the fsync. Never for a real one."""
        self._conn.execute("PRAGMA synchronous = OFF")

    def flush(self, *, force: bool = False) -> bool:
        """Commit everything appended so far; True when it is all durable. While writes fail,
        a flush retries them at most once a second (``force``: now)."""
        if self.fault:
            return self._retry(force)
        if self._conn.in_transaction:
            try:
                self._conn.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                self._failed(exc)
                return False
            self.commits += 1
        self._ops.clear()
        self._pending = 0
        return True

    def set_state(self, key: str, value: Any) -> None:
        """Save a small JSON state object (committed with the next flush)."""
        self._write(
            "INSERT INTO state (key, value, updated) VALUES (?, ?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated = excluded.updated",
            (key, encode_payload(value), _now_iso()),
        )

    def get_state(self, key: str) -> Any:
        """A state object saved by ``set_state``, or None."""
        row = self._conn.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def record_equity(self, now: datetime, equity_usd: Decimal, cash_usd: Decimal) -> None:
        """One equity snapshot (the engine takes one a minute)."""
        self._write(
            "INSERT INTO equity (ts, equity, cash) VALUES (?, ?, ?)",
            (now.isoformat(), str(equity_usd), str(cash_usd)),
        )

    def equity_history(self, limit: int = 500) -> list[tuple[str, Decimal]]:
        """The newest ``limit`` equity snapshots, oldest first."""
        rows = self._conn.execute(
            "SELECT ts, equity FROM equity ORDER BY rowid DESC LIMIT ?", (limit,)
        ).fetchall()
        return [(ts, Decimal(eq)) for ts, eq in reversed(rows)]

    def put_market_json(self, condition_id: str, token_ids: Iterable[str], payload: Any) -> None:
        """Cache a market's metadata, indexed by its token ids."""
        self._write(
            "INSERT OR REPLACE INTO markets (condition_id, payload, fetched_at) VALUES (?, ?, ?)",
            (condition_id, encode_payload(payload), _now_iso()),
        )
        for token in token_ids:
            self._write(
                "INSERT OR REPLACE INTO market_tokens (token_id, condition_id) VALUES (?, ?)",
                (token, condition_id),
            )

    def get_market_json_by_token(self, token_id: str) -> tuple[Any, str] | None:
        """(payload, fetched_at ISO) of the cached market trading ``token_id``."""
        row = self._conn.execute(
            "SELECT m.payload, m.fetched_at FROM market_tokens t "
            "JOIN markets m ON m.condition_id = t.condition_id WHERE t.token_id = ?",
            (token_id,),
        ).fetchone()
        return None if row is None else (json.loads(row[0]), row[1])

    def put_wallet_stats(self, wallet: str, payload: Any) -> None:
        """Save one wallet's score record."""
        self._write(
            "INSERT OR REPLACE INTO wallet_stats (wallet, payload) VALUES (?, ?)",
            (wallet, encode_payload(payload)),
        )

    def wallet_stats(self) -> dict[str, Any]:
        """Every wallet's saved score record."""
        rows = self._conn.execute("SELECT wallet, payload FROM wallet_stats").fetchall()
        return {wallet: json.loads(payload) for wallet, payload in rows}

    # --- whale history (polytui.whales.store) -------------------------------------------------

    def put_history_rows(
        self,
        owner: str,
        kind: str,
        rows: Iterable[tuple[str, int, Any]],
        *,
        replace: bool = False,
    ) -> int:
        """Save ``(key, ts_ms, payload)`` rows; a known key is kept unless ``replace``.

        Returns how many rows were new (or replaced)."""
        verb = "INSERT OR REPLACE" if replace else "INSERT OR IGNORE"
        sql = f"{verb} INTO history_rows (owner, kind, key, ts, payload) VALUES (?, ?, ?, ?, ?)"
        before = self._conn.total_changes
        for key, ts, payload in rows:
            self._write(sql, (owner, kind, key, ts, encode_payload(payload)))
        return self._conn.total_changes - before

    def history_rows(self, owner: str, kind: str) -> list[Any]:
        """Saved rows of one owner and kind, oldest first."""
        rows = self._conn.execute(
            "SELECT payload FROM history_rows WHERE owner = ? AND kind = ? ORDER BY ts, key",
            (owner, kind),
        )
        return [json.loads(payload) for (payload,) in rows]

    def history_owners(self, kind: str) -> set[str]:
        """Owners having rows of ``kind``."""
        rows = self._conn.execute("SELECT DISTINCT owner FROM history_rows WHERE kind = ?", (kind,))
        return {owner for (owner,) in rows}

    def put_history_cursor(self, owner: str, stream: str, payload: Any) -> None:
        """Save where a history fetch stands (committed with the rows of the same page)."""
        self._write(
            "INSERT OR REPLACE INTO history_cursors (owner, stream, payload, updated) "
            "VALUES (?, ?, ?, ?)",
            (owner, stream, encode_payload(payload), _now_iso()),
        )

    def history_cursor(self, owner: str, stream: str) -> Any:
        """A cursor saved by ``put_history_cursor``, or None."""
        row = self._conn.execute(
            "SELECT payload FROM history_cursors WHERE owner = ? AND stream = ?", (owner, stream)
        ).fetchone()
        return None if row is None else json.loads(row[0])

    def put_wallet_profile(self, wallet: str, payload: Any) -> None:
        """Save one wallet's profile."""
        self._write(
            "INSERT OR REPLACE INTO wallet_profiles (wallet, payload, updated) VALUES (?, ?, ?)",
            (wallet, encode_payload(payload), _now_iso()),
        )

    def wallet_profiles(self) -> dict[str, Any]:
        """Every saved wallet profile."""
        rows = self._conn.execute("SELECT wallet, payload FROM wallet_profiles").fetchall()
        return {wallet: json.loads(payload) for wallet, payload in rows}

    # --- reading ------------------------------------------------------------------------------

    def events(
        self,
        kinds: Iterable[str] | None = None,
        since_id: int = 0,
        ref: str | None = None,
    ) -> Iterator[JournalEvent]:
        """Events in append order, optionally filtered."""
        sql = "SELECT id, ts, kind, ref, payload FROM events WHERE id > ?"
        params: list[Any] = [since_id]
        if kinds is not None:
            kinds = list(kinds)
            sql += f" AND kind IN ({','.join('?' * len(kinds))})"
            params.extend(kinds)
        if ref is not None:
            sql += " AND ref = ?"
            params.append(ref)
        sql += " ORDER BY id"
        for row in self._conn.execute(sql, params):
            yield JournalEvent(row[0], row[1], row[2], row[3], json.loads(row[4]))

    def recent(self, kind: str, since: datetime) -> Iterator[JournalEvent]:
        """Events of one kind written at or after ``since``, newest first (stops at the first
        older one, so a long journal is not scanned)."""
        floor = since.astimezone(UTC).isoformat()
        rows = self._conn.execute(
            "SELECT id, ts, kind, ref, payload FROM events WHERE kind = ? ORDER BY id DESC",
            (kind,),
        )
        for row in rows:
            if row[1] < floor:
                return
            yield JournalEvent(row[0], row[1], row[2], row[3], json.loads(row[4]))

    def count(self, kind: str | None = None) -> int:
        """Number of events (of one kind)."""
        if kind is None:
            return int(self._conn.execute("SELECT count(*) FROM events").fetchone()[0])
        return int(
            self._conn.execute("SELECT count(*) FROM events WHERE kind = ?", (kind,)).fetchone()[0]
        )

    # --- backups ------------------------------------------------------------------------------

    @property
    def backup_dir(self) -> Path:
        """Backups live beside the journal."""
        return self.path.parent / "backups"

    def backup(self, generations: int | None = None, *, checked: bool = False) -> Path | None:
        """Copy the journal with the SQLite backup API and keep ``generations`` copies
        (``[storage] backups``). Only a journal that passes ``quick_check`` is copied, and only
        a copy that passes it too replaces an old one; None when nothing was copied."""
        keep = self.backups if generations is None else generations
        if not self.flush():
            return None
        problem = "" if checked else _quick_check(self._conn)
        if problem:
            log.error(
                "journal %s fails its integrity check (%s); no backup taken",
                self.path,
                problem,
                extra={"event": "backup_skipped"},
            )
            return None
        datadir.make_private_dirs(self.backup_dir)
        datadir.refuse_symlink(self.backup_dir)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        dest = self.backup_dir / f"{self.path.stem}-{stamp}.db"
        os.close(datadir.open_private(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL))
        try:
            target = sqlite3.connect(dest)
            try:
                self._conn.backup(target)
                problem = _quick_check(target)
            finally:
                target.close()
        except sqlite3.Error as exc:
            problem = str(exc)
        if problem:
            dest.unlink(missing_ok=True)
            log.error("backup %s failed (%s)", dest, problem, extra={"event": "backup_failed"})
            return None
        copies = sorted(self.backup_dir.glob(f"{self.path.stem}-*.db"))
        for old in copies[:-keep] if keep > 0 else copies:
            old.unlink(missing_ok=True)
        return dest

    def maybe_daily_backup(self, now: datetime) -> Path | None:
        """Take a backup once per UTC day."""
        day = now.astimezone(UTC).date().isoformat()
        if self._last_backup_day is None:
            self._last_backup_day = day
            return None
        if day == self._last_backup_day:
            return None
        self._last_backup_day = day
        return self.backup()

    def integrity_ok(self) -> bool:
        """``PRAGMA integrity_check`` passes."""
        return bool(self._conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok")

    def close(self) -> None:
        """Commit, close, and let go of the data dir (a last failing flush is logged)."""
        try:
            if not self.flush(force=True):
                log.error(
                    "closing the journal with %d unsaved row(s): %s",
                    len(self._ops),
                    self.fault,
                    extra={"event": "journal_unsaved"},
                )
            self._conn.close()
        finally:
            if self.lock is not None:
                self.lock.release()
                self.lock = None


def _sidecars(path: Path) -> tuple[Path, Path]:
    return path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")


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
        raise JournalError(_corrupt(path, "an empty file (0 bytes)"))
    fd = datadir.open_private(path, os.O_RDONLY)
    try:
        header = os.read(fd, 16)
    finally:
        os.close(fd)
    if header != b"SQLite format 3\x00":
        raise JournalError(f"{path}: not an SQLite file (corrupt or foreign); it was not changed")


def _quick_check(conn: sqlite3.Connection) -> str:
    """ "" when ``PRAGMA quick_check`` passes, else its first complaint."""
    try:
        rows = conn.execute("PRAGMA quick_check").fetchall()
    except sqlite3.DatabaseError as exc:
        return str(exc)
    first = str(rows[0][0]) if rows else "no answer"
    return "" if first == "ok" else first


def newest_good_backup(path: Path) -> Path | None:
    """The newest backup of ``path`` that opens read-only and passes ``quick_check``."""
    folder = Path(path).parent / "backups"
    for candidate in sorted(folder.glob(f"{Path(path).stem}-*.db"), reverse=True):
        try:
            conn = sqlite3.connect(f"file:{candidate}?mode=ro&immutable=1", uri=True)
        except sqlite3.Error:
            continue
        try:
            if not _quick_check(conn):
                return candidate
        finally:
            conn.close()
    return None


def _corrupt(path: Path, problem: str) -> str:
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
