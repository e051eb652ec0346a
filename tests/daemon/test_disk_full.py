"""A daemon whose journal cannot be written (a file-size limit of 1 byte, set from outside with
prlimit, fails every write like a full disk): new entries halt with the reason in ``status``,
the kill switch still works and is saved before it is acknowledged, the rows written meanwhile
reach the journal once the disk has room again, and a restart after the kill does not trade.
"""

from __future__ import annotations

import json
import resource
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from polytui.settings import Settings
from tests.daemon.harness import DaemonProcess


class StderrDaemon(DaemonProcess):
    """Logs JSON to stderr (a pipe, which a file-size limit does not touch), read by a thread."""

    def settings(self, **risk: Any) -> Settings:
        s = super().settings(**risk)
        s.daemon.log_file = None
        return s

    def start(self, timeout: float = 15.0) -> StderrDaemon:
        super().start(timeout)
        self.records: list[dict[str, Any]] = []
        threading.Thread(target=self._read, daemon=True).start()
        return self

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        for line in self.proc.stderr:
            try:
                self.records.append(json.loads(line))
            except ValueError:
                continue

    def limit_files(self, size: int) -> None:
        _, hard = resource.prlimit(self.pid, resource.RLIMIT_FSIZE)
        resource.prlimit(self.pid, resource.RLIMIT_FSIZE, (size, hard))

    def wait_for(self, what: Callable[[], Any], timeout: float, why: str) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = what()
            if found:
                return found
            time.sleep(0.2)
        raise AssertionError(f"{why} within {timeout} s; log: {self.records[-5:]}")


@pytest.fixture
def daemon(sim: Any, tmp_path: Path) -> Iterator[StderrDaemon]:
    proc = StderrDaemon(sim, tmp_path, policy="auto")
    try:
        yield proc
    finally:
        proc.stop()


def _full_then_kill(daemon: StderrDaemon) -> None:
    daemon.start()
    daemon.wait_for(lambda: daemon.journal_rows("signal"), 30, "no signal was journaled")
    daemon.limit_files(1)  # from now on every write to a file fails (EFBIG), like ENOSPC

    def halted() -> str:
        out = daemon.cli("status").stdout
        return out if "HALTED" in out else ""

    status = daemon.wait_for(halted, 20, "status never said HALTED")
    assert "journal write failed" in status
    assert any(r["event"] == "journal_write_failed" for r in daemon.records)
    killed = daemon.cli("kill")
    assert killed.returncode == 0, killed.stdout + killed.stderr
    assert "kill switch on" in killed.stdout and "kill-switch" in killed.stdout
    assert (daemon.data_dir / "kill-switch").exists()
    assert "KILLED" in daemon.cli("status").stdout


def test_a_kill_acknowledged_on_a_full_disk_survives_a_crash_and_the_restart_trades_not(
    daemon: StderrDaemon,
) -> None:
    _full_then_kill(daemon)
    fills = len(daemon.journal_rows("fill"))
    daemon.send(signal.SIGKILL)  # the disk never came back: nothing more was saved
    assert daemon.proc is not None
    daemon.proc.wait(10)
    daemon.start()
    assert "PAUSED" in daemon.cli("status").stdout
    time.sleep(4)  # catch-up replays the trades the killed run saw: none may be copied
    assert len(daemon.journal_rows("fill")) == fills
    assert "PAUSED" in daemon.cli("status").stdout


def test_rows_written_while_the_disk_was_full_are_saved_when_it_has_room(
    daemon: StderrDaemon,
) -> None:
    _full_then_kill(daemon)
    daemon.limit_files(resource.RLIM_INFINITY)
    daemon.wait_for(
        lambda: any(r["event"] == "journal_write_recovered" for r in daemon.records),
        10,
        "the journal never recovered",
    )
    state = daemon.wait_for(lambda: _saved_risk(daemon), 5, "no saved flags")
    assert state["killed"] is True
    assert not (daemon.data_dir / "kill-switch").exists()  # the journal holds it now
    assert daemon.journal_rows("signal")


def _saved_risk(daemon: DaemonProcess) -> dict[str, Any] | None:
    import sqlite3

    conn = sqlite3.connect(f"file:{daemon.data_dir / 'paper.db'}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT value FROM state WHERE key = 'strategy'").fetchone()
    finally:
        conn.close()
    risk = json.loads(row[0]).get("risk", {}) if row else {}
    return risk if risk.get("killed") else None
