"""The simulator speaks the real protocols, deterministically, and misbehaves on demand."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import httpx
import websockets

from polytui.feeds.activity import trade_from_rtds
from polytui.feeds.chain import decode_order_filled
from polytui.feeds.gamma import market_from_gamma
from polytui.sim.scenario import book_levels, build_scenario, dated_question
from polytui.sim.server import SimServer
from polytui.sim.wire import rtds_frame


def test_same_seed_same_scenario_other_seed_differs() -> None:
    a, b, c = build_scenario("demo", 7), build_scenario("demo", 7), build_scenario("demo", 8)
    assert [(t.t, t.wallet, t.token_id, t.price, t.shares) for t in a.trades] == [
        (t.t, t.wallet, t.token_id, t.price, t.shares) for t in b.trades
    ]
    assert [m.condition_id for m in a.markets] != [m.condition_id for m in c.markets]


def test_demo_has_early_cluster_and_quick_resolution() -> None:
    scenario = build_scenario("demo", 7)
    first = scenario.trades[:3]
    assert len({t.wallet for t in first}) == 3 and len({t.token_id for t in first}) == 1
    assert first[-1].t < 5
    assert min(m.end_s for m in scenario.markets) <= 180
    assert any(m.end_s > 86400 for m in scenario.markets)
    assert any(3600 < m.end_s < 86400 for m in scenario.markets)


def test_book_levels_arrive_worst_first() -> None:
    from decimal import Decimal

    bids, asks = book_levels(Decimal("0.5"), 1)
    assert [b[0] for b in bids] == sorted(b[0] for b in bids)  # ascending: best bid last
    assert [a[0] for a in asks] == sorted((a[0] for a in asks), reverse=True)


async def test_clob_ws_sends_book_array_and_pongs() -> None:
    async with SimServer("demo", seed=7, speed=5) as sim:
        token = sim.scenario.markets[0].yes_token
        async with websockets.connect(sim.urls["clob_ws_url"]) as ws:
            await ws.send(
                json.dumps(
                    {"assets_ids": [token], "type": "market", "custom_feature_enabled": True}
                )
            )
            books = json.loads(await ws.recv())
            assert isinstance(books, list) and books[0]["event_type"] == "book"
            assert books[0]["asset_id"] == token
            await ws.send("PING")
            frames = [await asyncio.wait_for(ws.recv(), 5) for _ in range(3)]
            assert "PONG" in frames


async def test_rtds_gamma_and_chain_agree_on_a_whale_trade() -> None:
    async with SimServer("demo", seed=7, speed=4) as sim:
        from web3 import AsyncWeb3, WebSocketProvider

        w3 = AsyncWeb3(WebSocketProvider(sim.urls["rpc_ws_url"], max_connection_retries=1))
        await w3.provider.connect()
        await w3.eth.subscribe("logs", {"address": [sim.exchange_address]})
        async with websockets.connect(sim.urls["rtds_ws_url"]) as rtds:
            await rtds.send(
                json.dumps(
                    {
                        "action": "subscribe",
                        "subscriptions": [{"topic": "activity", "type": "trades"}],
                    }
                )
            )
            assert await rtds.recv() == ""  # the documented empty first frame
            frame = json.loads(await asyncio.wait_for(rtds.recv(), 10))
        from datetime import UTC, datetime

        now = datetime.now(UTC)
        trade = trade_from_rtds(frame["payload"], now)
        iterator = w3.socket.process_subscriptions().__aiter__()
        message = await asyncio.wait_for(iterator.__anext__(), 10)
        chain_trade = decode_order_filled(
            dict(message["result"]), {sim.exchange_address.lower()}, now, now
        )
        await w3.provider.disconnect()
        assert chain_trade.dedup_key == trade.dedup_key  # same fill, two protocols
        async with httpx.AsyncClient() as client:
            reply = await client.get(
                f"{sim.urls['gamma_url']}/markets", params=[("clob_token_ids", trade.token_id)]
            )
        market = market_from_gamma(reply.json()[0])
        assert market.outcome_for(trade.token_id) is not None


async def test_demo_questions_name_the_end_on_the_demos_own_clock() -> None:
    # A demo started today asked "Will Spain win on 2026-11-24?" of a market ending today.
    async with SimServer("demo", seed=7) as sim, httpx.AsyncClient() as client:
        reply = await client.get(f"{sim.urls['gamma_url']}/markets")
        records = {r["slug"].rsplit("-", 1)[0]: r for r in reply.json()}
        rtds = rtds_frame(sim.scenario, sim.scenario.trades[0], sim.wall(1), 0)
    spain, btc = records["fifwc-esp"], records["btc-updown-15m"]
    assert spain["question"] == f"Will Spain win on {spain['endDate'][:10]}?"
    assert btc["question"] == f"Will BTC be above $98,000 at {btc['endDate'][11:16]} UTC?"
    assert all("{" not in r["question"] for r in records.values())
    titles = {m.question for m in sim.scenario.markets}
    assert rtds["payload"]["title"] in titles  # the feeds carry the same dated question


def test_dated_question_fills_only_its_own_fields() -> None:
    end = datetime(2026, 12, 1, 17, 5, 30, tzinfo=UTC).timestamp()
    assert dated_question("Spain on {end_date} at {end_time}?", end) == (
        "Spain on 2026-12-01 at 17:05?"
    )
    assert dated_question("Will event {n} happen? {x}", end) == "Will event {n} happen? {x}"


async def test_faults_drop_silence_and_garbage() -> None:
    async with SimServer("chaos", seed=3, speed=5) as sim:
        async with websockets.connect(sim.urls["rtds_ws_url"]) as ws:
            await ws.recv()
            await sim.send_garbage(2)
            junk = [await ws.recv() for _ in range(2)]
            assert junk[1] == "not json"
            sim.go_silent(0.6)
            await ws.send("PING")
            try:
                got = await asyncio.wait_for(ws.recv(), 0.4)
            except TimeoutError:
                got = None
            assert got is None  # silent with the socket open
            assert await sim.drop_all() >= 1
        assert sim.max_connections["rtds"] == 1


def test_polytui_sim_command_serves_and_writes_a_working_config(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    from polytui.config import load_settings

    binary = Path(sys.executable).parent / "polytui"
    config = tmp_path / "sim.toml"
    proc = subprocess.Popen(
        [binary, "sim", "--speed", "5", "--write-config", str(config)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    lines = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        lines.append(line)
        if "Ctrl-C" in line:
            break
    try:
        text = "".join(lines)
        assert "export POLYTUI_POLYGON_WS=ws://127.0.0.1:" in text
        settings = load_settings(config).settings
        assert settings.feeds.clob_ws_url.startswith("ws://127.0.0.1:")
        assert settings.whales.wallets
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
