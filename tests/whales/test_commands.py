"""``polytui whales …`` as a trader runs it: real processes, a loopback data-api, real files."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from polytui.config import load_settings
from tests.conftest import REPO
from tests.daemon.conftest import sim  # noqa: F401 - the fixture the daemon test needs
from tests.daemon.harness import DaemonProcess
from tests.feeds.history_server import serve_history
from tests.whales.test_refresh import WHALE, make_world

CLI = [sys.executable, "-c", "from polytui.cli import main; main()"]
ROW_FIELDS = {
    "wallet",
    "alias",
    "resolved",
    "edge",
    "edge_se",
    "copy_edge",
    "copy_edge_se",
    "copyable",
    "reason",
    "realized_pnl_usd",
    "last_trade",
}
OTHER = "0x" + "ab" * 20


def write_config(tmp_path: Path, url: str = "http://127.0.0.1:9", **whales: Any) -> Path:
    path = tmp_path / "config.toml"
    text = (REPO / "config.toml.example").read_text()
    text = text.replace('data_api_url = ""', f'data_api_url = "{url}"')  # [history]'s
    text = text.replace("min_resolved = 20", "min_resolved = 10")
    text = text.replace('# data_dir = "/var/lib/polytui"', f'data_dir = "{tmp_path / "data"}"')
    text = text.replace('gamma_url = "https://gamma-api.polymarket.com"', f'gamma_url = "{url}"')
    path.write_text(text)
    return path


async def run(*args: str, timeout: float = 60) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        *CLI,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"},
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_add_and_remove_keep_every_comment_of_the_config(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    original = config.read_text()
    comments = [line for line in original.splitlines() if line.lstrip().startswith("#")]
    code, out, _ = await run(
        "whales",
        "add",
        WHALE.upper().replace("0X", "0x"),
        "--alias",
        "tony",
        "--policy",
        "observe",
        "--config",
        str(config),
    )
    assert code == 0 and "now watching" in out
    edited = config.read_text()
    assert [line for line in edited.splitlines() if line.lstrip().startswith("#")] == comments
    settings = load_settings(config).settings
    assert settings.whales.wallets == [WHALE]
    assert settings.whales.aliases == {WHALE: "tony"}
    assert settings.approval.per_wallet == {WHALE: "observe"}
    code, out, _ = await run("whales", "list", "--json", "--config", str(config))
    assert json.loads(out)["wallets"] == [{"wallet": WHALE, "alias": "tony", "policy": "observe"}]
    code, out, _ = await run("whales", "remove", WHALE, "--config", str(config))
    assert code == 0
    assert config.read_text() == original  # back to the byte


async def test_a_bad_address_or_policy_changes_nothing(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    before = config.read_text()
    for args in (["0x1234"], [WHALE, "--policy", "yolo"]):
        code, _, err = await run("whales", "add", *args, "--config", str(config))
        assert code == 2 and "Traceback" not in err
        assert err.startswith("polytui whales add: ")
    assert config.read_text() == before


async def test_rank_show_and_discover_against_the_data_api(tmp_path: Path) -> None:
    world = make_world()
    world.leaderboard = [{"rank": "1", "proxyWallet": OTHER, "userName": "o", "vol": 5, "pnl": 9}]
    async with serve_history(world) as server:
        config = write_config(tmp_path, server.url)
        await run("whales", "add", WHALE, "--alias", "tony", "--config", str(config))
        code, out, err = await run("whales", "rank", "--json", "--config", str(config))
        assert code == 0, err
        rows = json.loads(out)["wallets"]
        assert len(rows) == 1 and set(rows[0]) >= ROW_FIELDS
        row = rows[0]
        assert row["wallet"] == WHALE and row["alias"] == "tony" and row["resolved"] == 40
        assert row["copy_edge"] is not None and isinstance(row["copyable"], bool)
        assert row["realized_pnl_usd"] == "18.000000"
        requests = server.count()
        code, out, _ = await run(
            "whales", "rank", "--json", "--no-refresh", "--config", str(config)
        )
        assert json.loads(out)["wallets"] == rows and server.count() == requests
        code, out, err = await run("whales", "show", WHALE, "--no-refresh", "--config", str(config))
        assert code == 0 and "price-adjusted edge" in out and "copy edge by delay" in out
        assert "Traceback" not in err
        code, out, err = await run("whales", "rank", "--no-refresh", "--config", str(config))
        assert code == 0 and "tony" in out and "copy ¢/sh" in out
        code, out, err = await run("whales", "discover", "--json", "--config", str(config))
        assert code == 0, err
        candidates = json.loads(out)["candidates"]
        assert [c["wallet"] for c in candidates] == [OTHER]
        assert "leaderboard" in candidates[0]["sources"] and set(candidates[0]) >= ROW_FIELDS


async def test_rank_of_an_unreachable_data_api_says_so_in_one_line(tmp_path: Path) -> None:
    config = write_config(tmp_path)  # port 9: nothing listens
    code, out, err = await run(
        "whales", "rank", WHALE, "--json", "--config", str(config), timeout=120
    )
    assert code == 1 and "Traceback" not in err
    assert json.loads(out)["errors"][0].startswith(f"{WHALE}: data-api /v2/trades")


@pytest.mark.timeout(90)
async def test_add_reloads_a_running_daemon(sim: Any, tmp_path: Path) -> None:  # noqa: F811
    daemon = DaemonProcess(sim, tmp_path).start()
    try:
        result = await asyncio.to_thread(daemon.cli, "whales", "add", OTHER)
        assert result.returncode == 0, result.stderr
        assert f"sent SIGHUP to the daemon (pid {daemon.pid})" in result.stdout
        record = await daemon.wait_log(lambda r: r["event"] == "reloaded", 10)
        assert "whales.wallets" in record["fields"]["changed"]
    finally:
        daemon.stop()


def test_only_a_daemon_is_sent_sighup_never_a_console_holding_the_lock() -> None:
    from polytui.whales.watchlist import _is_daemon

    assert not _is_daemon(os.getpid())  # this test process is no daemon
    assert not _is_daemon(2**22 + 12345)  # no such process
