"""The journal's write path: one connection, one open transaction, nothing lost on a failure.

A write that fails (disk full, I/O error) does not lose the rows: everything since the last
commit is kept in memory and replayed by the next flush (at most once a second), ``fault``
says why writes fail meanwhile, and ``flush`` answers whether the rows are durable.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from polytui.journal.payloads import encode_payload

log = logging.getLogger(__name__)

BACKUP_GENERATIONS = 5
RETRY_EVERY_S = 1.0  # how often a failing journal is retried


def now_iso() -> str:
    """The wall clock in UTC, as the journal's ``updated`` columns hold it."""
    return datetime.now(UTC).isoformat()


class JournalWriter:
    """The connection and its transaction; every write goes through ``_write``."""

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
            (key, encode_payload(value), now_iso()),
        )

    def record_equity(self, now: datetime, equity_usd: Decimal, cash_usd: Decimal) -> None:
        """One equity snapshot (the engine takes one a minute)."""
        self._write(
            "INSERT INTO equity (ts, equity, cash) VALUES (?, ?, ?)",
            (now.isoformat(), str(equity_usd), str(cash_usd)),
        )
