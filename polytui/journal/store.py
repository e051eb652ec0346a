"""``Journal``: opening a journal file, reading it back, its derived tables and its backups.

A backup is only ever taken of a file that has just passed ``PRAGMA quick_check``, so a corrupt
journal can never rotate the good generations away.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from polytui import datadir
from polytui.journal import files
from polytui.journal.files import JournalError
from polytui.journal.payloads import JournalEvent, decode_payload, encode_payload, event_of
from polytui.journal.schema import SCHEMA_VERSION, migrate
from polytui.journal.writer import BACKUP_GENERATIONS, JournalWriter, now_iso

log = logging.getLogger(__name__)


class Journal(JournalWriter):
    """Append-only event store plus small derived tables."""

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
        existed = files.prepare(path, writer)
        try:
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=True)
            conn.execute("PRAGMA busy_timeout = 5000")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            message = files.corrupt(path, f"not a readable polytui journal: {exc}")
            raise JournalError(message) from None
        try:
            journal = cls._open_checked(conn, path, mode, version, existed, backup, backups)
            if writer:
                journal._prove_writable()
            return journal
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise JournalError(files.corrupt(path, str(exc))) from None
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
            raise JournalError(files.corrupt(path, "an SQLite file without the journal's tables"))
        if existed:
            problem = files.quick_check(conn)
            if problem:
                raise JournalError(files.corrupt(path, problem))
        journal = cls(conn, path, mode, backups)
        if existed and backup:
            journal.backup(checked=True)  # quick_check just passed
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        migrate(conn, version)
        return journal

    def _prove_writable(self) -> None:
        """A read-only file or file system fails here, at start, not at the first trade."""
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.execute(
                "INSERT INTO state (key, value, updated) VALUES ('opened', ?, ?) ON CONFLICT(key) "
                "DO UPDATE SET value = excluded.value, updated = excluded.updated",
                (encode_payload({"pid": os.getpid()}), now_iso()),
            )
            self._conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise JournalError(f"{self.path}: cannot be written ({exc})") from None

    # --- reading ------------------------------------------------------------------------------

    def get_state(self, key: str) -> Any:
        """A state object saved by ``set_state``, or None."""
        row = self._conn.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return None if row is None else decode_payload(row[0])

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
            yield event_of(row)

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
            yield event_of(row)

    def count(self, kind: str | None = None) -> int:
        """Number of events (of one kind)."""
        if kind is None:
            return int(self._conn.execute("SELECT count(*) FROM events").fetchone()[0])
        return int(
            self._conn.execute("SELECT count(*) FROM events WHERE kind = ?", (kind,)).fetchone()[0]
        )

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
        return [decode_payload(payload) for (payload,) in rows]

    def history_owners(self, kind: str) -> set[str]:
        """Owners having rows of ``kind``."""
        rows = self._conn.execute("SELECT DISTINCT owner FROM history_rows WHERE kind = ?", (kind,))
        return {owner for (owner,) in rows}

    def put_history_cursor(self, owner: str, stream: str, payload: Any) -> None:
        """Save where a history fetch stands (committed with the rows of the same page)."""
        self._write(
            "INSERT OR REPLACE INTO history_cursors (owner, stream, payload, updated) "
            "VALUES (?, ?, ?, ?)",
            (owner, stream, encode_payload(payload), now_iso()),
        )

    def history_cursor(self, owner: str, stream: str) -> Any:
        """A cursor saved by ``put_history_cursor``, or None."""
        row = self._conn.execute(
            "SELECT payload FROM history_cursors WHERE owner = ? AND stream = ?", (owner, stream)
        ).fetchone()
        return None if row is None else decode_payload(row[0])

    def put_wallet_profile(self, wallet: str, payload: Any) -> None:
        """Save one wallet's profile."""
        self._write(
            "INSERT OR REPLACE INTO wallet_profiles (wallet, payload, updated) VALUES (?, ?, ?)",
            (wallet, encode_payload(payload), now_iso()),
        )

    def wallet_profiles(self) -> dict[str, Any]:
        """Every saved wallet profile."""
        rows = self._conn.execute("SELECT wallet, payload FROM wallet_profiles").fetchall()
        return {wallet: decode_payload(payload) for wallet, payload in rows}

    # --- backups ------------------------------------------------------------------------------

    @property
    def backup_dir(self) -> Path:
        """Backups live beside the journal."""
        return files.backup_dir(self.path)

    def backup(self, generations: int | None = None, *, checked: bool = False) -> Path | None:
        """Copy the journal with the SQLite backup API and keep ``generations`` copies
        (``[storage] backups``). Only a journal that passes ``quick_check`` is copied, and only
        a copy that passes it too replaces an old one; None when nothing was copied."""
        keep = self.backups if generations is None else generations
        if not self.flush():
            return None
        problem = "" if checked else files.quick_check(self._conn)
        if problem:
            log.error(
                "journal %s fails its integrity check (%s); no backup taken",
                self.path,
                problem,
                extra={"event": "backup_skipped"},
            )
            return None
        dest = self._copy()
        if dest is None:
            return None
        copies = sorted(self.backup_dir.glob(f"{self.path.stem}-*.db"))
        for old in copies[:-keep] if keep > 0 else copies:
            old.unlink(missing_ok=True)
        return dest

    def _copy(self) -> Path | None:
        """A new backup file that passes ``quick_check``, or None (nothing is left behind)."""
        datadir.make_private_dirs(self.backup_dir)
        datadir.refuse_symlink(self.backup_dir)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        dest = self.backup_dir / f"{self.path.stem}-{stamp}.db"
        os.close(datadir.open_private(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL))
        try:
            target = sqlite3.connect(dest)
            try:
                self._conn.backup(target)
                problem = files.quick_check(target)
            finally:
                target.close()
        except sqlite3.Error as exc:
            problem = str(exc)
        if problem:
            dest.unlink(missing_ok=True)
            log.error("backup %s failed (%s)", dest, problem, extra={"event": "backup_failed"})
            return None
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
