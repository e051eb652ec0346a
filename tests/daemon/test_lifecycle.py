"""Daemons with the auto policy (they trade on their own): stop, crash, restart, bad clients."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import time
from pathlib import Path
from typing import Any

import orjson

from polytui import events as ev
from polytui.bus import Subscription
from polytui.control import RemoteEngine
from tests.daemon.harness import DaemonProcess

FINAL_ORDER_STATES = {"filled", "partial", "rejected", "cancelled", "failed"}


async def fills(sub: Subscription, count: int, timeout: float = 25) -> list[str]:
    """Ids of the next ``count`` fills published (a published fill is a committed one)."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while len(seen) < count:
        assert time.monotonic() < deadline, f"only {len(seen)} fills in {timeout} s"
        for event in await sub.wait(0.5):
            if isinstance(event, ev.FillReceived):
                seen.append(event.fill.id)
    return seen


async def test_sigterm_stops_within_bounds_and_leaves_a_clean_journal(
    sim: Any, tmp_path: Path
) -> None:
    daemon = DaemonProcess(sim, tmp_path, policy="auto").start()
    remote = RemoteEngine(daemon.socket)
    try:
        await remote.connect()
        sub = remote.subscribe()
        await fills(sub, 1)
        started = time.monotonic()
        daemon.send(signal.SIGTERM)
        assert await daemon.wait_exit(15) == 0
        stop_s = time.monotonic() - started
        assert stop_s < 10, f"graceful stop took {stop_s:.1f} s"
        # Attached clients were told, the socket and the pidfile are gone.
        deadline = time.monotonic() + 3
        while remote.connected:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        notices = [e.message for e in sub.drain() if isinstance(e, ev.Notice)]
        assert any("daemon stopping" in n for n in notices)
        assert not daemon.socket.exists()
        assert not (daemon.data_dir / "daemon.pid").exists()
        # The journal was checkpointed and closed: no WAL left, integrity holds.
        journal = daemon.data_dir / "paper.db"
        wal = journal.with_name("paper.db-wal")
        assert not wal.exists() or wal.stat().st_size == 0
        conn = sqlite3.connect(journal)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        conn.close()
        fill_refs = [ref for ref, _ in daemon.journal_rows("fill")]
        assert fill_refs and len(fill_refs) == len(set(fill_refs))
        last_status: dict[str, str] = {}
        for ref, order in daemon.journal_rows("order"):
            last_status[ref] = order["status"]
        assert set(last_status.values()) <= FINAL_ORDER_STATES, last_status
        stopped = [r for r in daemon.log_events() if r["event"] == "stopped"]
        assert stopped and stopped[-1]["fields"]["exit_code"] == 0
        # A clean stop logs no error (web3 called closing our own subscription one).
        errors = [r["message"] for r in daemon.log_events() if r["level"] == "error"]
        assert not errors, errors
        print(f"graceful stop: {stop_s:.3f} s wall, {stopped[-1]['fields']['stop_s']} s inside")
    finally:
        await remote.close()
        daemon.stop()


async def test_garbage_on_the_socket_is_answered_while_the_daemon_keeps_trading(
    sim: Any, tmp_path: Path
) -> None:
    daemon = DaemonProcess(sim, tmp_path, policy="auto").start()
    try:
        reader, writer = await asyncio.open_unix_connection(str(daemon.socket), limit=2**26)
        for line in (b"garbage\n", b"\xff" * 200_000 + b"\n", b'{"cmd": 5}\n', b"null\n"):
            writer.write(line)
        errors, fills_seen = 0, 0
        deadline = time.monotonic() + 25
        while errors < 4 or fills_seen < 1:
            assert time.monotonic() < deadline, (errors, fills_seen)
            message = orjson.loads(await asyncio.wait_for(reader.readline(), 25))
            errors += message["type"] == "error"
            fills_seen += message.get("event") == "FillReceived"
        writer.close()
        assert daemon.proc is not None and daemon.proc.poll() is None
    finally:
        daemon.stop()


async def test_sigkill_mid_run_then_restart_keeps_every_committed_fill_exactly_once(
    sim: Any, tmp_path: Path
) -> None:
    daemon = DaemonProcess(sim, tmp_path, policy="auto").start()
    remote = RemoteEngine(daemon.socket, reconnect_initial_s=0.1, reconnect_cap_s=0.5)
    try:
        await remote.connect()
        sub = remote.subscribe()
        committed = await fills(sub, 2)
        held = {p.token_id for p in remote.snapshot().positions}
        daemon.send(signal.SIGKILL)
        assert await daemon.wait_exit(5) == -signal.SIGKILL
        assert daemon.socket.exists(), "SIGKILL leaves the socket file behind"
        killed_at = time.monotonic()

        daemon.start()  # same data dir and socket: the stale lock and socket do not block it
        # The client's own notices tell when it has seen the loss and the new daemon (its
        # `connected` flag may still be up from before it read the end of the old link).
        notices: list[str] = []
        while not any(n.startswith("reconnected to the daemon") for n in notices):
            assert time.monotonic() - killed_at < 10, f"attach did not reconnect: {notices}"
            notices += [e.message for e in await sub.wait(0.2) if isinstance(e, ev.Notice)]
        reconnect_s = time.monotonic() - killed_at
        assert remote.connected
        assert any(n.startswith("lost the daemon") for n in notices)
        assert held <= {p.token_id for p in remote.snapshot().positions}
        await fills(sub, 1)  # and it trades again

        daemon.send(signal.SIGTERM)
        assert await daemon.wait_exit(15) == 0
        refs = [ref for ref, _ in daemon.journal_rows("fill")]
        assert len(refs) == len(set(refs)), "a fill was journaled twice"
        assert set(committed) <= set(refs), "a committed fill was lost"
        print(f"restart + reattach after SIGKILL: {reconnect_s:.2f} s")
    finally:
        await remote.close()
        daemon.stop()
