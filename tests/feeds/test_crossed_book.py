"""A crossed or locked book (best bid >= best ask) is neither traded on nor marked.

The CLOB never shows one, so it means a bad frame or a lost update: the feed counts it, marks the
book stale (the strategy then sees no live book and positions keep their last mark), and the
next snapshot rebuilds it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from decimal import Decimal as D

import pytest

from polytui.clock import FakeClock
from polytui.feeds.books import BookStore
from polytui.feeds.clob import ClobMarketFeed
from polytui.strategy.pipeline import Strategy
from tests.conftest import load_sample
from tests.feeds.wsserver import ReplayServer
from tests.strategy.helpers import market, proven, settings, trade
from tests.strategy.test_rules import view

BOOK = load_sample("ws_market_book.docs.json")["message"]
TOKEN = BOOK["asset_id"]
CROSSED = dict(
    BOOK, bids=[{"price": "0.90", "size": "500"}], asks=[{"price": "0.10", "size": "500"}]
)


def price_change(price: str, side: str) -> str:
    change = {"asset_id": TOKEN, "price": price, "size": "40", "side": side, "hash": "h"}
    return json.dumps(
        {
            "event_type": "price_change",
            "market": BOOK["market"],
            "timestamp": "1757908892351",
            "price_changes": [change],
        }
    )


@pytest.fixture
async def server() -> AsyncIterator[ReplayServer]:
    def replies(text: str) -> str | None:
        if text == "PING":
            return "PONG"
        message = json.loads(text)
        if "assets_ids" in message:
            return json.dumps([CROSSED])  # the first snapshot is crossed
        return None

    async with ReplayServer(reply=replies) as srv:
        yield srv


async def test_a_crossed_snapshot_or_change_marks_the_book_stale_until_rebuilt(
    server: ReplayServer,
) -> None:
    books = BookStore()
    feed = ClobMarketFeed(
        server.url, books, ping_interval_s=0.2, silence_s=5.0, backoff_initial_s=0.01
    )
    feed.subscribe([TOKEN])
    task = asyncio.create_task(feed.run())
    await server.wait_for(lambda: feed.crossed_books == 1)
    book = books.get(TOKEN)
    assert book is not None and book.stale
    assert feed.status().rejected == 1

    # Neither traded nor marked: the strategy sees no live book, the portfolio keeps its mark.
    clock = FakeClock()
    strategy = Strategy(settings(), clock)
    proven(strategy)
    now = clock.now()
    result = strategy.on_trade(
        trade(now, token=TOKEN, price="0.10"), market(now, yes=TOKEN), book, view(clock)
    )
    assert result.intent is None and result.signal.reason == "no live order book"

    await server.broadcast(json.dumps([BOOK]))  # the next snapshot rebuilds it
    await server.wait_for(lambda: not book.stale)
    assert (book.best_bid, book.best_ask) == (D("0.50"), D("0.52"))

    await server.broadcast(price_change("0.53", "BUY"))  # a bid through the ask: crossed again
    await server.wait_for(lambda: feed.crossed_books == 2)
    assert book.stale
    await server.broadcast(json.dumps([BOOK]))
    await server.wait_for(lambda: not book.stale)
    await server.broadcast(price_change("0.50", "SELL"))  # an ask at the best bid: locked
    await server.wait_for(lambda: feed.crossed_books == 3)
    assert book.stale
    await feed.stop()
    task.cancel()
