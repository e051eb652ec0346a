"""A real daemon under hostile input: reloads that apply whole or not at all, idle connections
that must not lock the operator out, and a reader that hangs up."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
import tomli_w

from polytui.config import settings_to_dict
from polytui.control.protocol import (
    COMMAND_IDLE_S,
    EXIT_BUSY,
    MAX_CLIENTS,
    MAX_COMMAND_CLIENTS,
)
from tests.daemon.harness import CLI, DaemonProcess


@pytest.fixture(scope="module")
def daemon(sim: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaemonProcess]:
    process = DaemonProcess(sim, tmp_path_factory.mktemp("safety"), policy="manual", ttl_s=8)
    process.start()
    yield process
    process.stop()


def running(daemon: DaemonProcess) -> dict[str, Any]:
    """Every limit and policy ``status --json`` reports (asked with a good copy of the config:
    the daemon's own file is the bad one)."""
    good = daemon.work / "cli.toml"
    if not good.exists():
        shutil.copy(daemon.config, good)
    for _ in range(3):  # a loaded machine can keep the hello past the client's 5 s: busy
        out = subprocess.run(
            [*CLI, "status", "--json", "--config", str(good)],
            env=daemon.env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        if out.returncode != EXIT_BUSY:
            break
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    return {"limits": doc["risk"]["limits"], "settings": doc["settings"]}


def errors_since(daemon: DaemonProcess, count: int) -> list[dict[str, Any]]:
    return [r for r in daemon.log_events()[count:] if r["level"] in ("error", "critical")]


# Each value passed `config check` before and then crashed the daemon, failed every trade, or
# was applied in part by a reload that said it kept the running settings.
INVALID = [
    ("approval", "ttl_s", float("inf")),
    ("approval", "ttl_s", 1e12),
    ("strategy", "cluster_window_s", float("inf")),
    ("strategy", "max_bet_usd", "1e400"),
    ("paper", "starting_balance_usd", "1e30"),
    ("paper", "fallback_fee_exponent", -5),
    ("paper", "take_profit", "-1"),
    ("feeds", "clob_silence_s", -1.0),
    ("feeds", "rtds_ping_s", 0.0),
    ("feeds", "catch_up_s", float("inf")),
]


async def test_a_reload_with_any_invalid_key_changes_no_limit_and_no_policy(
    daemon: DaemonProcess,
) -> None:
    before = running(daemon)
    assert before["settings"]["approval"]["policy"] == "manual"
    for number, (section, key, value) in enumerate(INVALID, start=1):
        bad = settings_to_dict(daemon.settings())
        # What a reload would change if it applied part of the file...
        bad["risk"].update(max_total_exposure_usd="99999", max_market_exposure_usd="99999")
        bad["approval"]["policy"] = "auto"
        bad["strategy"]["min_net_edge"] = "0.5"
        # ...and the one key the engine cannot run with.
        bad[section][key] = value
        daemon.config.write_text(tomli_w.dumps(bad))
        daemon.send(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while sum(r["event"] == "reload_failed" for r in daemon.log_events()) < number:
            assert time.monotonic() < deadline, f"{section}.{key} = {value!r} was not refused"
            await asyncio.sleep(0.1)
        failed = [r for r in daemon.log_events() if r["event"] == "reload_failed"][-1]
        assert f"{section}.{key}" in failed["message"]
        assert running(daemon) == before, f"{section}.{key} = {value!r}"
    assert daemon.proc is not None and daemon.proc.poll() is None
    daemon.write_config()
    daemon.send(signal.SIGHUP)
    await daemon.wait_log(lambda r: r["event"] == "reloaded", 10)


async def test_idle_connections_never_lock_the_operator_out_of_status_and_kill(
    daemon: DaemonProcess,
) -> None:
    logged = len(daemon.log_events())
    idle: list[socket.socket] = []
    try:
        # Connections that never send a byte (and never read): every stream slot, every
        # command slot and then some.
        for _ in range(MAX_CLIENTS + MAX_COMMAND_CLIENTS + 20):
            conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            conn.connect(str(daemon.socket))
            idle.append(conn)
        await asyncio.sleep(0.5)
        busy = daemon.cli("status")
        if busy.returncode != 0:  # the command slots are still held: busy, not "no daemon"
            assert busy.returncode == EXIT_BUSY, busy.stderr
            assert "busy" in busy.stderr and "no daemon" not in busy.stderr
        await asyncio.sleep(COMMAND_IDLE_S + 1)  # the idle command connections are closed
        status = daemon.cli("status")
        assert status.returncode == 0, status.stderr
        assert daemon.cli("pause").returncode == 0
        assert daemon.cli("resume").returncode == 0
    finally:
        for conn in idle:
            conn.close()
    assert errors_since(daemon, logged) == []


def test_status_into_a_closed_pipe_exits_quietly_and_the_daemon_logs_no_error(
    daemon: DaemonProcess,
) -> None:
    logged = len(daemon.log_events())
    for args in (["status"], ["status", "--json"], ["pause"], ["resume"]):
        read_end, write_end = os.pipe()
        os.close(read_end)  # `| head -1` that has already gone
        try:
            done = subprocess.run(
                [*CLI, *args, "--config", str(daemon.config)],
                env=daemon.env,
                stdout=write_end,
                stderr=subprocess.PIPE,
                text=True,
                timeout=30,
            )
        finally:
            os.close(write_end)
        assert done.returncode == 0, done.stderr
        assert done.stderr == ""
    time.sleep(0.5)
    assert errors_since(daemon, logged) == []
