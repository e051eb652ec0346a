"""A real daemon (manual approvals) on the simulator, reached by one-shot commands, a
RemoteEngine, the attached console, raw socket clients and signals."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import stat
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from polytui import events as ev
from polytui.bus import Subscription
from polytui.config import load_settings
from polytui.control import RemoteEngine
from polytui.model import Fill, IntentStatus, TradeIntent
from polytui.tui.app import PolytuiApp
from polytui.tui.modals import ApprovalDialog
from polytui.wiring import EngineBuildError, build_engine
from tests.daemon.harness import CLI, DaemonProcess

# A fresh intent leaves this much of its TTL for the test to approve it.
FRESH_S = 3.0


@pytest.fixture(scope="module")
def daemon(sim: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaemonProcess]:
    process = DaemonProcess(sim, tmp_path_factory.mktemp("manual"), policy="manual", ttl_s=8)
    process.start()
    yield process
    process.stop()


@pytest.fixture
async def remote(daemon: DaemonProcess) -> AsyncIterator[RemoteEngine]:
    client = RemoteEngine(daemon.socket)
    await client.connect()
    assert client.connected
    yield client
    await client.close()


def seconds_left(intent: TradeIntent) -> float:
    return (intent.expires_at - datetime.now(UTC)).total_seconds()


async def fresh_intent(remote: RemoteEngine, sub: Subscription, timeout: float = 30) -> TradeIntent:
    """A pending intent with enough of its TTL left: from the snapshot, or the next one."""
    for intent in remote.snapshot().intents:
        if seconds_left(intent) > FRESH_S:
            return intent
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for event in await sub.wait(0.5):
            if (
                isinstance(event, ev.IntentUpdated)
                and event.intent.status is IntentStatus.PENDING
                and seconds_left(event.intent) > FRESH_S
            ):
                return event.intent
    raise TimeoutError("the simulator's whales produced no pending trade")


async def fill_of(sub: Subscription, intent_id: str, timeout: float = 15) -> Fill:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for event in await sub.wait(0.5):
            if isinstance(event, ev.FillReceived) and event.fill.intent_id == intent_id:
                return event.fill
    raise TimeoutError(f"no fill for {intent_id}")


# --- one-shot commands ------------------------------------------------------------------------


def test_status_json_reflects_the_running_daemon(daemon: DaemonProcess) -> None:
    out = daemon.cli("status", "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["daemon"]["pid"] == daemon.pid
    assert doc["daemon"]["protocol"] == 1
    assert doc["daemon"]["data_dir"] == str(daemon.data_dir)
    assert doc["state"]["mode"] == "paper" and doc["state"]["paused"] is False
    assert {"clob", "activity", "chain", "dataapi"} <= {f["name"] for f in doc["feeds"]}
    total = next(lim for lim in doc["risk"]["limits"] if lim["name"] == "total exposure")
    assert Decimal(total["limit"]) == Decimal(400)
    assert isinstance(doc["pnl"]["cash_usd"], str)


def test_status_into_a_reader_that_leaves_early_is_not_a_lost_daemon(
    daemon: DaemonProcess,
) -> None:
    # `polytui status --json | head -c 10`: the reader is gone when the answer is written.
    for _ in range(3):
        read_end, write_end = os.pipe()
        os.close(read_end)
        out = subprocess.run(
            [*CLI, "status", "--json", "--config", str(daemon.config)],
            env=daemon.env, stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=30,
        )  # fmt: skip
        os.close(write_end)
        assert "lost the daemon" not in out.stderr, out.stderr
        assert "Traceback" not in out.stderr, out.stderr
        assert out.returncode == 0, out.stderr


def test_pause_and_resume_one_shots_change_what_status_reports(daemon: DaemonProcess) -> None:
    paused = daemon.cli("pause")
    assert paused.returncode == 0 and "paused" in paused.stdout
    text = daemon.cli("status")
    assert text.returncode == 0 and "PAUSED" in text.stdout and str(daemon.pid) in text.stdout
    assert json.loads(daemon.cli("status", "--json").stdout)["state"]["paused"] is True
    resumed = daemon.cli("resume")
    assert resumed.returncode == 0 and "resumed" in resumed.stdout
    assert json.loads(daemon.cli("status", "--json").stdout)["state"]["paused"] is False


def test_a_refused_one_shot_exits_1_with_the_reason(daemon: DaemonProcess) -> None:
    out = daemon.cli("approve", "int-doesnotexist")
    assert out.returncode == 1
    assert "int-doesnotexist" in out.stderr and "Traceback" not in out.stderr


def test_one_shots_and_attach_without_a_daemon_exit_3(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_RUNTIME_DIR": str(tmp_path)}
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\ndata_dir = "{tmp_path / "data"}"\n')
    for args in (["status"], ["status", "--json"], ["pause"], ["kill"], ["attach"]):
        out = subprocess.run(
            [*CLI, *args, "--config", str(config)],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert out.returncode == 3, (args, out.stderr)
        assert "no daemon is running" in out.stderr and "Traceback" not in out.stderr


def test_socket_is_0600_in_a_0700_directory(daemon: DaemonProcess) -> None:
    mode = daemon.socket.stat().st_mode
    assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600
    assert stat.S_IMODE(daemon.socket.parent.stat().st_mode) == 0o700


# --- attach -----------------------------------------------------------------------------------


async def test_remote_engine_approves_a_trade_that_fills_and_reattach_sees_it(
    daemon: DaemonProcess, remote: RemoteEngine
) -> None:
    sub = remote.subscribe()
    intent = await fresh_intent(remote, sub)
    result = await remote.command("approve", intent_id=intent.id)
    assert result.ok, result.message
    fill = await fill_of(sub, intent.id)
    deadline = time.monotonic() + 5
    while fill.token_id not in {p.token_id for p in remote.snapshot().positions}:
        assert time.monotonic() < deadline, "the position never reached the mirror"
        await sub.wait(0.2)
    detached = remote.snapshot()
    await remote.close()

    again = RemoteEngine(daemon.socket)
    await again.connect()
    try:
        reattached = again.snapshot()
        assert {p.token_id: p.shares for p in reattached.positions} == {
            p.token_id: p.shares for p in detached.positions
        }
        assert reattached.pnl.cash_usd == detached.pnl.cash_usd
        assert reattached.state == detached.state
    finally:
        await again.close()
    assert [r for r, _ in daemon.journal_rows("fill")].count(fill.id) == 1


async def test_attached_console_approves_with_a_key_and_quitting_leaves_the_daemon(
    daemon: DaemonProcess,
) -> None:
    remote = RemoteEngine(daemon.socket)
    app = PolytuiApp(remote, run_engine=remote.run, connect=remote.connect)
    async with app.run_test(size=(160, 48)) as pilot:
        assert remote.connected
        assert app.state.feeds, "the console drew the daemon's snapshot"
        intent_id = ""
        deadline = time.monotonic() + 30
        while not intent_id:
            assert time.monotonic() < deadline, "no pending trade reached the console"
            await pilot.pause(0.2)
            fresh = [i for i in app.state.intents.values() if seconds_left(i) > FRESH_S]
            intent_id = fresh[0].id if fresh else ""
        app.open_detail("approvals", intent_id)
        await pilot.pause()
        assert isinstance(app.screen, ApprovalDialog)
        # The approval key is ignored for 0.3 s after any new prompt, and at ten times the
        # speed new trades arrive in bursts: press again, as an operator would, until it counts.
        for _ in range(10):
            await asyncio.sleep(0.35)
            await pilot.press("y")
            if not isinstance(app.screen, ApprovalDialog):
                break
        assert not isinstance(app.screen, ApprovalDialog)
        deadline = time.monotonic() + 15
        final = {IntentStatus.FILLED, IntentStatus.FAILED, IntentStatus.REJECTED}
        while getattr(app.state.decided.get(intent_id), "status", None) not in final:
            toasts = [n.message for n in app._notifications]
            seen = app.state.decided.get(intent_id) or app.state.intents.get(intent_id)
            state = (getattr(seen, "status", None), getattr(seen, "reason", None))
            assert time.monotonic() < deadline, (
                f"{intent_id} was not decided: {state}; toasts: {toasts}"
            )
            await pilot.pause(0.2)
        decided = app.state.decided[intent_id]
        assert decided.status is IntentStatus.FILLED, decided.reason
        await pilot.press("q")
        await pilot.pause(0.2)
    assert not remote.connected
    assert daemon.proc is not None and daemon.proc.poll() is None
    assert daemon.cli("status").returncode == 0


# --- bad clients ------------------------------------------------------------------------------


async def test_garbage_and_oversized_lines_get_errors_and_the_stream_goes_on(
    daemon: DaemonProcess,
) -> None:
    reader, writer = await asyncio.open_unix_connection(str(daemon.socket), limit=2**26)

    async def answer() -> dict[str, Any]:
        while True:
            message = orjson.loads(await asyncio.wait_for(reader.readline(), 10))
            if message["type"] in ("result", "error"):
                return dict(message)

    writer.write(b"\x00\xff garbage\n")
    assert (await answer())["message"].startswith("bad JSON")
    writer.write(b"{" * (1024 * 1024) + b"\n")
    assert "longer than" in (await answer())["message"]
    writer.write(b'{"id": 9, "cmd": "self_destruct"}\n')
    unknown = await answer()
    assert unknown["id"] == 9 and "unknown command" in unknown["message"]
    writer.write(b'{"id": 10, "cmd": "reject", "args": {"intent_id": "int-00000000"}}\n')
    refused = await answer()
    assert refused["type"] == "result" and refused["ok"] is False
    # The engine keeps publishing to this very connection, and other clients are served.
    feeds_updates = 0
    deadline = time.monotonic() + 5
    while feeds_updates < 2:
        assert time.monotonic() < deadline
        message = orjson.loads(await asyncio.wait_for(reader.readline(), 5))
        feeds_updates += message.get("event") == "FeedStatusChanged"
    assert daemon.cli("status").returncode == 0
    writer.close()


# --- signals and the lock -----------------------------------------------------------------------


async def test_sighup_changes_a_risk_limit_without_dropping_feeds(
    daemon: DaemonProcess, remote: RemoteEngine
) -> None:
    sub = remote.subscribe()
    connections = {f.name: f.connections for f in remote.snapshot().feeds}

    def total_limit() -> Decimal:
        limits = remote.snapshot().risk.limits
        return next(lim.limit for lim in limits if lim.name == "total exposure")

    daemon.write_config(max_total_exposure_usd=Decimal(321))
    daemon.send(signal.SIGHUP)
    deadline = time.monotonic() + 5
    while total_limit() != Decimal(321):
        assert time.monotonic() < deadline, "the new limit never reached the client"
        await sub.wait(0.2)
    record = await daemon.wait_log(lambda r: r["event"] == "reloaded", 5)
    assert "risk.max_total_exposure_usd" in record["fields"]["changed"]
    assert {f.name: f.connections for f in remote.snapshot().feeds} == connections

    good = daemon.config.read_text()
    daemon.config.write_text(good.replace("[risk]", "[risk]\nmax_total_exposure_usd = = 5"))
    daemon.send(signal.SIGHUP)
    failed = await daemon.wait_log(lambda r: r["event"] == "reload_failed", 5)
    assert "not valid TOML" in failed["message"]
    await asyncio.sleep(0.3)
    assert total_limit() == Decimal(321) and remote.connected
    assert daemon.proc is not None and daemon.proc.poll() is None
    daemon.write_config()
    daemon.send(signal.SIGHUP)
    while total_limit() != Decimal(400):
        await sub.wait(0.2)


def test_a_second_daemon_on_the_same_data_dir_refuses_to_start(daemon: DaemonProcess) -> None:
    second = daemon.spawn()
    _, err = second.communicate(timeout=20)
    assert second.returncode == 1
    message = err.decode()
    assert f"pid {daemon.pid}" in message and "already using" in message
    assert "Traceback" not in message
    assert daemon.proc is not None and daemon.proc.poll() is None
    probe = socket.socket(socket.AF_UNIX)
    probe.connect(str(daemon.socket))  # the first daemon's socket is untouched
    probe.close()


def test_a_console_on_the_daemons_data_dir_is_refused(daemon: DaemonProcess) -> None:
    with pytest.raises(EngineBuildError, match=f"pid {daemon.pid}.*polytui attach"):
        build_engine(load_settings(daemon.config))


async def test_unanswered_approvals_expire_by_ttl_and_the_log_says_so(
    daemon: DaemonProcess,
) -> None:
    record = await daemon.wait_log(lambda r: r["event"] == "intent_expired", 45)
    assert record["level"] == "info" and record["component"] == "engine.events"
    assert record["fields"]["status"] == "expired" and "clients_attached" in record["fields"]
    assert {"timestamp", "level", "component", "event", "message", "fields"} <= set(record)
    approved_by_nobody = [
        r
        for r in daemon.log_events()
        if r["event"] == "intent_approved" and r["fields"]["id"] == record["fields"]["id"]
    ]
    assert approved_by_nobody == []


async def test_an_attached_console_says_so_and_logs_what_other_clients_did(
    daemon: DaemonProcess,
) -> None:
    from textual.widgets import RichLog

    from tests.tui.screen_text import screen_text

    def log_lines() -> list[str]:
        return [strip.text.rstrip() for strip in app.query_one("#log-lines", RichLog).lines]

    async def until(check: Any, what: str) -> None:
        deadline = time.monotonic() + 15
        while not check():
            assert time.monotonic() < deadline, f"{what}; log: {log_lines()}"
            await pilot.pause(0.2)

    remote = RemoteEngine(daemon.socket)
    app = PolytuiApp(remote, run_engine=remote.run, connect=remote.connect)
    async with app.run_test(size=(160, 48)) as pilot:
        try:
            assert f"ATTACHED pid {daemon.pid}" in screen_text(app).splitlines()[0]
            # A one-shot from a shell: the console hears who paused, not only that it is paused.
            paused = await asyncio.to_thread(daemon.cli, "pause")
            assert paused.returncode == 0, paused.stderr
            await until(lambda: any("sent pause" in x for x in log_lines()), "no pause line")
            line = next(x for x in log_lines() if "sent pause" in x)
            assert re.search(
                r"control: another client \((\S+, )?pid \d+\) sent pause: paused: no new entries",
                line,
            ), line
            assert any("sent pause" in n.message for n in app._notifications)
            # The console's own command is its own answer, never echoed as another client's.
            await until(lambda: app.paused, "the console never showed the pause")
            await pilot.press("p")
            await until(lambda: not app.paused, "resume from the console did not land")
            await pilot.pause(1.0)
            assert not any("sent resume" in x for x in log_lines()), log_lines()
        finally:
            if app.paused:
                await asyncio.to_thread(daemon.cli, "resume")
            await pilot.press("q")
            await pilot.pause(0.2)
