"""The journal: a SQLite file (WAL) per mode holding every trading record.

``events`` is append-only (signals, decisions with reasons, intent transitions, order status
history, fills, settlements). Small derived state (strategy and portfolio snapshots, flags)
lives in ``state``; equity snapshots in ``equity``; market metadata in ``markets``. Money is
stored as decimal text and a float anywhere in a payload is refused, so binary rounding can
never reach the books. A file with a newer schema, or one that is not a polytui journal, is
refused and left untouched.

One ``Journal`` owns one connection and must be used from one thread (the engine's loop).
"""

from __future__ import annotations

import enum
import json
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 2
BACKUP_GENERATIONS = 5

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
        return str(value)
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

    def __init__(self, conn: sqlite3.Connection, path: Path, mode: str) -> None:
        self._conn = conn
        self.path = path
        self.mode = mode
        self._pending = 0
        self._last_backup_day: str | None = None

    # --- opening ------------------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path, *, mode: str, backup: bool = True) -> Journal:
        """Open (creating or migrating) the journal at ``path``."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        existed = path.exists() and path.stat().st_size > 0
        if existed:
            _check_header(path)
        try:
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=True)
            conn.execute("PRAGMA busy_timeout = 5000")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise JournalError(f"{path}: not a readable polytui journal ({exc})") from None
        if version > SCHEMA_VERSION:
            conn.close()
            raise JournalError(
                f"{path}: written by a newer polytui (schema {version}, this build knows "
                f"{SCHEMA_VERSION}); upgrade polytui — the file was not changed"
            )
        if existed and version == 0:
            tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            if tables:
                conn.close()
                raise JournalError(f"{path}: an SQLite file that is not a polytui journal")
        journal = cls(conn, path, mode)
        if existed and backup and version > 0:
            journal.backup()
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        journal._migrate(version)
        return journal

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
        self._begin()
        cursor = self._conn.execute(
            "INSERT INTO events (ts, kind, ref, payload) VALUES (?, ?, ?, ?)",
            ((ts or datetime.now(UTC)).isoformat(), kind, ref, text),
        )
        self._pending += 1
        if durable:
            self.flush()
        return int(cursor.lastrowid or 0)

    def append_many(self, items: Iterable[tuple[str, str, dict[str, Any]]]) -> None:
        """Append ``(kind, ref, payload)`` triples in the current transaction."""
        for kind, ref, payload in items:
            self.append(kind, payload, ref=ref)

    def flush(self) -> None:
        """Commit everything appended so far."""
        if self._conn.in_transaction:
            self._conn.execute("COMMIT")
        self._pending = 0

    def set_state(self, key: str, value: Any) -> None:
        """Save a small JSON state object (committed with the next flush)."""
        self._begin()
        self._conn.execute(
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
        self._begin()
        self._conn.execute(
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
        self._begin()
        self._conn.execute(
            "INSERT OR REPLACE INTO markets (condition_id, payload, fetched_at) VALUES (?, ?, ?)",
            (condition_id, encode_payload(payload), _now_iso()),
        )
        for token in token_ids:
            self._conn.execute(
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
        self._begin()
        self._conn.execute(
            "INSERT OR REPLACE INTO wallet_stats (wallet, payload) VALUES (?, ?)",
            (wallet, encode_payload(payload)),
        )

    def wallet_stats(self) -> dict[str, Any]:
        """Every wallet's saved score record."""
        rows = self._conn.execute("SELECT wallet, payload FROM wallet_stats").fetchall()
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

    def backup(self, generations: int = BACKUP_GENERATIONS) -> Path:
        """Copy the journal with the SQLite backup API; keep ``generations`` copies."""
        self.flush()
        self.backup_dir.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        dest = self.backup_dir / f"{self.path.stem}-{stamp}.db"
        target = sqlite3.connect(dest)
        try:
            self._conn.backup(target)
        finally:
            target.close()
        copies = sorted(self.backup_dir.glob(f"{self.path.stem}-*.db"))
        for old in copies[:-generations] if generations > 0 else copies:
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
        """Commit and close."""
        self.flush()
        self._conn.close()


def _check_header(path: Path) -> None:
    """Refuse files that are not SQLite without letting sqlite touch them."""
    with open(path, "rb") as handle:
        header = handle.read(16)
    if header != b"SQLite format 3\x00":
        raise JournalError(f"{path}: not an SQLite file (corrupt or foreign); it was not changed")
