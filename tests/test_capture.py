"""Capture files: format, replay of documented frames, record from the simulator then replay."""

from __future__ import annotations

import asyncio
import json
import os
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from polytui.capture import CaptureError, CaptureWriter, read_capture, run_replay
from polytui.cli import app
from polytui.config import LoadedConfig, apply_overrides
from polytui.settings import Settings
from tests.conftest import load_sample

BOOK = load_sample("ws_market_book.docs.json")["message"]
TOKEN = BOOK["asset_id"]


def write_capture(path: Path, items: list[tuple[str, str]]) -> None:
    writer = CaptureWriter(path)
    for src, data in items:
        writer.tap(src, data)
    writer.close()


def test_capture_header_and_items_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    write_capture(path, [("clob", json.dumps([BOOK])), ("rtds", "")])
    lines = path.read_text().splitlines()
    assert json.loads(lines[0])["polytui_capture"] == 1
    items = list(read_capture(path))
    assert [i.src for i in items] == ["clob", "rtds"] and items[0].t > 0


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ("not json\n", "line 1"),
        ('{"polytui_capture": 1}\n{"t": 1}\n', "line 2"),
        ('{"polytui_capture": 1}\n{"t": 1, "src": "ftp", "data": ""}\n', "unknown src"),
    ],
)
def test_bad_capture_files_name_the_line(tmp_path: Path, content: str, why: str) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text(content)
    with pytest.raises(CaptureError, match=why):
        list(read_capture(path))


def test_replay_of_documented_frames_gives_hand_computed_books(tmp_path: Path) -> None:
    change = {
        "event_type": "price_change",
        "market": BOOK["market"],
        "timestamp": "1757908892351",
        "price_changes": [
            {"asset_id": TOKEN, "price": "0.50", "size": "0", "side": "BUY", "hash": "a"},
            {"asset_id": TOKEN, "price": "0.52", "size": "5", "side": "SELL", "hash": "b"},
        ],
    }
    path = tmp_path / "c.jsonl"
    write_capture(
        path, [("clob", json.dumps([BOOK])), ("clob", json.dumps(change)), ("clob", "garbage")]
    )
    result = CliRunner().invoke(app, ["replay", str(path), "--max", "--report", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output.strip().splitlines()[-1])
    assert report["frames"] == 3 and report["rejected"]["clob"] == 1
    assert report["books"][TOKEN] == {
        "best_bid": "0.49",
        "best_ask": "0.52",
        "bid_depth": "50",
        "ask_depth": "75",
        "stale": False,
    }
    assert report["whale_trades"] == [] and report["fills"] == []


async def test_record_from_the_simulator_then_replay_gives_the_same_books(tmp_path: Path) -> None:
    from polytui.capture import recording_engine
    from polytui.sim.server import SimServer

    capture = tmp_path / "sim.jsonl"
    writer = CaptureWriter(capture)
    async with SimServer("demo", seed=7, speed=3) as sim:
        os.environ.update(sim.environment())
        settings = apply_overrides(Settings(), sim.settings_overrides())
        settings.storage.data_dir = tmp_path / "live"
        settings.approval.policy = "observe"
        engine = recording_engine(LoadedConfig(settings, None), writer, role="console")
        task = asyncio.create_task(engine.run())
        for _ in range(200):
            await asyncio.sleep(0.05)
            if engine.journal.count("signal") >= 3:
                break
        await engine.stop()
        await task
        live_books = {t: engine.books.get(t).top() for t in engine.books.tokens()}
        engine.journal.close()
    writer.close()
    items = list(read_capture(capture))
    assert {i.src for i in items} >= {"clob", "rtds", "http"}
    result = await run_replay(items, speed=1, max_speed=True, data_dir=tmp_path / "replay")
    assert result.rejected["clob"] == 0
    for token, top in live_books.items():
        if top.stale:
            continue
        replayed = result.books[token]
        assert replayed["best_bid"] == str(top.best_bid) and replayed["best_ask"] == str(
            top.best_ask
        )
        assert replayed["bid_depth"] == str(top.bid_depth)
    assert result.whale_trades, "the replay saw no whale trades"
    assert result.signals >= 1


def _small_trade_capture(path: Path) -> str:
    """A capture of one $10 RTDS trade by a demo whale, with its book and Gamma answer."""
    from dataclasses import replace as dc_replace

    from polytui.backtest.world import ScenarioWorld
    from polytui.sim.scenario import build_scenario

    scenario = build_scenario("demo", 7, horizon_s=600)
    first = scenario.trades[0]
    scenario.trades[0] = dc_replace(first, shares=Decimal(10) / first.price)
    world = ScenarioWorld(scenario, 600 / 3600)
    trade = world.trades[0]
    writer = CaptureWriter(path)
    for token in world.markets_by_condition[trade.condition_id].tokens:
        writer.tap("clob", world.book_frame(token, trade.t))
    writer.tap(
        "http",
        json.dumps(world.gamma({trade.token_id}, set(), trade.t)),
        method="GET",
        url=f"https://gamma.example/markets?clob_token_ids={trade.token_id}",
        status=200,
    )
    writer.tap("rtds", world.rtds_frame(trade, trade.t + 2))
    writer.close()
    return trade.wallet


def test_replay_with_a_config_considers_its_small_watched_wallet(tmp_path: Path) -> None:
    capture = tmp_path / "small.jsonl"
    wallet = _small_trade_capture(capture)
    plain = CliRunner().invoke(app, ["replay", str(capture), "--max", "--report", "json"])
    assert plain.exit_code == 0, plain.output
    assert json.loads(plain.output.strip().splitlines()[-1])["signals"] == 0  # under $500
    config = tmp_path / "c.toml"
    config.write_text(f'[whales]\nwallets = ["{wallet}"]\naliases = {{ "{wallet}" = "small" }}\n')
    watched = CliRunner().invoke(
        app, ["replay", str(capture), "--max", "--report", "json", "--config", str(config)]
    )
    assert watched.exit_code == 0, watched.output
    report = json.loads(watched.output.strip().splitlines()[-1])
    assert report["signals"] == 1
    assert [t["wallet"] for t in report["whale_trades"]] == [wallet]


def test_a_gamma_lookup_matches_captures_recorded_with_and_without_closed_false() -> None:
    from polytui.capture import _canonical

    old = _canonical("https://gamma.example/markets?clob_token_ids=7")
    assert _canonical("https://x/markets?closed=false&clob_token_ids=7") == old
    assert _canonical("https://x/markets?closed=true&clob_token_ids=7") != old
