"""RTDS activity feed, data-api parsing and the merged, deduplicated whale stream."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from typing import Any

from polytui.feeds.activity import ActivityFeed, trade_from_rtds
from polytui.feeds.dataapi import trade_from_dataapi
from polytui.feeds.stream import WhaleStream
from polytui.model import FeedState, Market, Outcome, Side, TradeSource, WhaleTrade
from tests.conftest import load_sample
from tests.feeds.wsserver import ReplayServer

ROWS = load_sample("data_api_trades.live_capture.json")["trades_by_market"]
WALLET = ROWS[0]["proxyWallet"]
NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)


def rtds(row: dict[str, object], wallet: str | None = None) -> str:
    payload = dict(row, proxyWallet=wallet or row["proxyWallet"])
    return json.dumps(
        {
            "connection_id": "c",
            "payload": payload,
            "timestamp": 1,
            "topic": "activity",
            "type": "trades",
        }
    )


def test_rtds_payload_parses_to_whale_trade() -> None:
    trade = trade_from_rtds(ROWS[0], NOW)
    assert trade.wallet == WALLET and trade.side is Side.BUY
    assert trade.price == D("0.765") and trade.shares == D(15)
    assert trade.usd == D("11.475")
    assert trade.source is TradeSource.ACTIVITY


def test_dataapi_row_parses_with_float_numbers_exactly() -> None:
    trade = trade_from_dataapi(ROWS[0], NOW)
    assert trade.price == D("0.765")  # via str, not binary float
    assert trade.source is TradeSource.DATAAPI


async def test_activity_feed_filters_watched_wallets_case_insensitively() -> None:
    checksummed = "0x" + WALLET[2:].upper()
    frames = ["", rtds(ROWS[0], checksummed), rtds(ROWS[1], "0x" + "9" * 40), "garbage"]
    async with ReplayServer(lambda: frames, reply=lambda t: "" if t == "PING" else None) as srv:
        got: list[WhaleTrade] = []
        feed = ActivityFeed(
            srv.url,
            wallets={WALLET},
            on_trade=got.append,
            ping_interval_s=0.05,
            backoff_initial_s=0.01,
            backoff_cap_s=0.05,
        )
        task = asyncio.create_task(feed.run())
        await srv.wait_for(lambda: feed.status().rejected >= 1)
        assert [t.wallet for t in got] == [WALLET]
        subscribe = json.loads(srv.received[0])
        assert subscribe["subscriptions"] == [{"topic": "activity", "type": "trades"}]
        await srv.wait_for(lambda: "PING" in srv.received)
        await feed.stop()
        task.cancel()


def _trade(source: TradeSource, latency_s: float) -> WhaleTrade:
    return WhaleTrade(
        wallet=WALLET,
        token_id="111",
        side=Side.BUY,
        price=D("0.5"),
        shares=D(100),
        usd=D(50),
        tx_hash="0xabc",
        source=source,
        match_time=NOW,
        received_at=NOW + timedelta(seconds=latency_s),
    )


MARKET = Market("0xc", "Q?", "q", (Outcome(0, "Yes", "111"), Outcome(1, "No", "222")), None)


async def test_same_fill_from_two_sources_is_emitted_once_either_order() -> None:
    for order in (
        [TradeSource.ACTIVITY, TradeSource.CHAIN],
        [TradeSource.CHAIN, TradeSource.ACTIVITY],
    ):
        out: list[WhaleTrade] = []
        late: list[tuple[object, str, int]] = []

        async def lookup(token: str) -> Market | None:
            return MARKET

        stream = WhaleStream(
            lookup, out.append, on_latency=lambda k, s, ms, late=late: late.append((k, s, ms))
        )
        task = asyncio.create_task(stream.run())
        stream.offer(_trade(order[0], 1.9))
        stream.offer(_trade(order[1], 2.2))
        await asyncio.sleep(0.05)
        assert len(out) == 1 and out[0].source is order[0]
        assert out[0].outcome == "Yes" and out[0].condition_id == "0xc"
        assert late[0][1] == order[1].value
        task.cancel()


async def test_unknown_token_waits_for_metadata_instead_of_dropping() -> None:
    calls = 0

    async def lookup(token: str) -> Market | None:
        nonlocal calls
        calls += 1
        return MARKET if calls >= 3 else None

    out: list[WhaleTrade] = []
    stream = WhaleStream(lookup, out.append, wait_for_metadata_s=5)
    task = asyncio.create_task(stream.run())
    stream.offer(_trade(TradeSource.ACTIVITY, 2))
    for _ in range(100):
        if out:
            break
        await asyncio.sleep(0.05)
    assert len(out) == 1 and calls == 3
    task.cancel()


# --- RTDS as a best-effort source -----------------------------------------------------------

SENT_MS = int(NOW.timestamp() * 1000) - 250


def envelope(row: dict[str, object], **change: object) -> dict[str, object]:
    message: dict[str, object] = {
        "connection_id": "c",
        "payload": dict(row, timestamp=int(NOW.timestamp()) - 3),
        "timestamp": SENT_MS,
        "topic": "activity",
        "type": "trades",
    }
    message.update(change)
    return {k: v for k, v in message.items() if v is not None}


async def replay_rtds(frames: list[str], wallets: set[str]) -> tuple[ActivityFeed, list[Any]]:
    got: list[WhaleTrade] = []
    async with ReplayServer(lambda: frames, reply=lambda t: "" if t == "PING" else None) as srv:
        feed = ActivityFeed(
            srv.url,
            wallets=wallets,
            on_trade=got.append,
            ping_interval_s=0.05,
            wall_clock=lambda: NOW,
        )
        task = asyncio.create_task(feed.run())
        await srv.wait_for(lambda: feed.ws.messages >= len(frames) - frames.count(""))
        await feed.stop()
        task.cancel()
    return feed, got


async def test_rtds_array_frames_and_envelopes_without_topic_are_read() -> None:
    a, b = ROWS[0], dict(ROWS[1], proxyWallet=WALLET, transactionHash="0x" + "ab" * 32)
    frames = [
        "",
        json.dumps([envelope(a), envelope(b, topic=None, type=None)]),
        json.dumps({"status": "success", "message": "subscribed"}),  # a control answer
    ]
    feed, got = await replay_rtds(frames, {WALLET})
    assert [t.tx_hash for t in got] == [a["transactionHash"].lower(), b["transactionHash"]]
    assert feed.status().rejected == 0


async def test_rtds_latency_is_read_from_the_envelope_milliseconds() -> None:
    feed, got = await replay_rtds(["", json.dumps(envelope(ROWS[0]))], {WALLET})
    assert len(got) == 1
    # Sent 250 ms before receipt; the match (payload, whole seconds) was 3 s before.
    assert feed.status().latency_ms == 250
    assert "chain + data-api are primary" in feed.status().detail


async def test_a_topic_that_yields_nothing_backs_off_instead_of_flapping() -> None:
    from polytui.sim.server import SimServer

    async with SimServer("demo", seed=7, speed=20) as sim:
        sim.stop_rtds_trades()  # sockets open, PING answered, no trades: the topic is gone
        feed = ActivityFeed(
            sim.urls["rtds_ws_url"],
            wallets=set(sim.whale_wallets),
            on_trade=lambda t: None,
            ping_interval_s=0.05,
            silence_s=0.2,
            backoff_initial_s=0.01,
            backoff_cap_s=0.02,
            quiet_retry_max_s=0.8,
        )
        loop = asyncio.get_running_loop()
        start = loop.time()
        task = asyncio.create_task(feed.run())
        await wait_until(lambda: feed.ws.quiet_sessions >= 4, 10.0)
        elapsed = loop.time() - start
        await wait_until(lambda: feed.status().state is FeedState.DOWN, 3.0)
        status = feed.status()
        await feed.stop()
        task.cancel()
    # Flapping reconnects every silence_s (four empty connections in ~0.85 s); backing off
    # waits 0.4 s, then 0.8 s (the cap) before the third and fourth.
    assert elapsed >= 1.6
    assert "no data on 4 connections in a row; next try in 1 s" in status.detail
    assert "chain + data-api are primary" in status.detail


async def test_connections_closed_before_the_silence_window_never_count_as_quiet() -> None:
    # Every connection dropped at once (a flaky network, a restarting server) said nothing about
    # the topic, yet each counted as "no data": after two the feed waited out long backoffs
    # while the server was fine.
    async with ReplayServer() as srv:
        feed = ActivityFeed(
            srv.url,
            wallets=set(),
            on_trade=lambda t: None,
            ping_interval_s=0.05,
            silence_s=0.5,
            backoff_initial_s=0.01,
            backoff_cap_s=0.02,
            quiet_retry_max_s=30.0,
        )
        task = asyncio.create_task(feed.run())
        for _ in range(6):
            before = srv.total_connections
            await srv.wait_for(lambda b=before: srv.total_connections > b and srv.connections)
            await srv.drop_all()
        await srv.wait_for(lambda: srv.connections == 1, timeout=2.0)
        quiet = feed.ws.quiet_sessions
        await feed.stop()
        task.cancel()
    assert quiet == 0


async def wait_until(check: Callable[[], bool], timeout: float) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached"
        await asyncio.sleep(0.02)
