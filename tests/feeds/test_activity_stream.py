"""RTDS activity feed, data-api parsing and the merged, deduplicated whale stream."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

from polytui.feeds.activity import ActivityFeed, trade_from_rtds
from polytui.feeds.dataapi import trade_from_dataapi
from polytui.feeds.stream import WhaleStream
from polytui.model import Market, Outcome, Side, TradeSource, WhaleTrade
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
