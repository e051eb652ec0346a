"""The journal's tables and their forward migrations.

A file's ``PRAGMA user_version`` is the number of migrations applied to it; ``migrate`` takes it
to ``SCHEMA_VERSION`` one version per transaction, so a crash mid-way leaves a file of a known
version.
"""

from __future__ import annotations

import sqlite3

SCHEMA_VERSION = 3

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
    # markets, market_tokens and wallet_stats are no longer written or read; they stay in the
    # schema so that files of every version migrate the same way.
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


def migrate(conn: sqlite3.Connection, version: int) -> None:
    """Apply every migration from ``version`` on, each in its own transaction."""
    while version < SCHEMA_VERSION:
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in MIGRATIONS[version]:
                conn.execute(statement)
            version += 1
            conn.execute(f"PRAGMA user_version = {version}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
