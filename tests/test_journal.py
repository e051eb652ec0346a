"""Journal: WAL file, migrations, refusal of foreign files, crash safety, backups."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from polytui.journal import SCHEMA_VERSION, Journal, JournalError, journal_path


def test_paper_and_live_use_different_files(tmp_path: Path) -> None:
    assert journal_path(tmp_path, "paper") != journal_path(tmp_path, "live")
    with pytest.raises(ValueError):
        journal_path(tmp_path, "demo")


def test_append_and_read_back_keeps_decimal_text(tmp_path: Path) -> None:
    j = Journal.open(tmp_path / "paper.db", mode="paper")
    j.append("fill", {"shares": Decimal("12.50"), "price": Decimal("0.64")}, ref="f1")
    j.flush()
    [event] = list(j.events(kinds=["fill"]))
    assert event.ref == "f1"
    assert event.payload == {"price": "0.64", "shares": "12.50"}
    j.close()
    mode = sqlite3.connect(tmp_path / "paper.db").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_float_cannot_reach_the_journal(tmp_path: Path) -> None:
    j = Journal.open(tmp_path / "paper.db", mode="paper")
    with pytest.raises(TypeError, match="float"):
        j.append("fill", {"nested": [{"price": 0.64}]})
    with pytest.raises(TypeError, match="float"):
        j.set_state("portfolio", {"cash": 1.5})
    j.close()


def test_migrates_a_version_1_file_forward(tmp_path: Path) -> None:
    path = tmp_path / "paper.db"
    conn = sqlite3.connect(path)
    conn.executescript(
        """CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, ts TEXT NOT NULL,
           kind TEXT NOT NULL, ref TEXT NOT NULL DEFAULT '', payload TEXT NOT NULL);
           CREATE INDEX events_kind ON events (kind, id);
           CREATE INDEX events_ref ON events (ref);
           CREATE TABLE state (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated TEXT NOT NULL);
           CREATE TABLE equity (ts TEXT NOT NULL, equity TEXT NOT NULL, cash TEXT NOT NULL);
           INSERT INTO events (ts, kind, ref, payload) VALUES ('t', 'fill', 'f1', '{}');
           PRAGMA user_version = 1;"""
    )
    conn.close()
    j = Journal.open(path, mode="paper")
    # Every table a later version added is there and written through the journal.
    j.put_history_rows("0xw", "trade", [("k1", 1, {"price": "0.5"})])
    j.put_wallet_profile("0xw", {"edge": "0.01"})
    j.flush()
    assert j.history_rows("0xw", "trade") == [{"price": "0.5"}]
    assert j.wallet_profiles() == {"0xw": {"edge": "0.01"}}
    assert [e.ref for e in j.events()] == ["f1"]
    j.close()
    tables = {name for (name,) in sqlite3.connect(path).execute("SELECT name FROM sqlite_master")}
    assert {"markets", "market_tokens", "history_rows", "history_cursors"} <= tables
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_newer_schema_is_refused_and_left_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "paper.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    before = path.read_bytes()
    with pytest.raises(JournalError, match="newer polytui"):
        Journal.open(path, mode="paper")
    assert path.read_bytes() == before


def test_corrupt_file_is_refused_and_left_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "paper.db"
    path.write_bytes(b"this is not a database at all" * 100)
    before = path.read_bytes()
    with pytest.raises(JournalError, match="not an SQLite file"):
        Journal.open(path, mode="paper")
    assert path.read_bytes() == before


def test_backup_rotation_keeps_exactly_five(tmp_path: Path) -> None:
    j = Journal.open(tmp_path / "paper.db", mode="paper")
    j.append("note", {"n": 1}, durable=True)
    for _ in range(8):
        j.backup()
    copies = sorted(j.backup_dir.glob("paper-*.db"))
    assert len(copies) == 5
    restored = sqlite3.connect(copies[-1]).execute("SELECT count(*) FROM events").fetchone()[0]
    assert restored == 1
    j.close()


def test_daily_backup_once_per_utc_day(tmp_path: Path) -> None:
    j = Journal.open(tmp_path / "paper.db", mode="paper")
    day1 = datetime(2026, 11, 24, 23, 0, tzinfo=UTC)
    assert j.maybe_daily_backup(day1) is None
    assert j.maybe_daily_backup(day1 + timedelta(minutes=30)) is None
    assert j.maybe_daily_backup(day1 + timedelta(hours=2)) is not None
    j.close()


WRITER = textwrap.dedent(
    """
    import sys
    from decimal import Decimal
    from pathlib import Path
    from polytui.journal import Journal
    j = Journal.open(Path(sys.argv[1]), mode="paper")
    i = 0
    while True:
        i += 1
        j.append("fill", {"n": i, "shares": Decimal("1.5")}, ref=f"fill-{i}", durable=True)
        print(i, flush=True)
    """
)


def test_sigkill_mid_run_loses_no_committed_fill(tmp_path: Path) -> None:
    path = tmp_path / "paper.db"
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    reported: list[int] = []
    deadline = time.monotonic() + 20
    while len(reported) < 200 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line:
            reported.append(int(line))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert len(reported) >= 200
    j = Journal.open(path, mode="paper", backup=False)
    assert j.integrity_ok()
    refs = {e.ref for e in j.events(kinds=["fill"])}
    assert {f"fill-{i}" for i in reported} <= refs
    assert len(refs) == j.count("fill")
    j.close()
