"""CLOB market channel against a real loopback WebSocket server replaying documented frames."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from polytui.feeds.books import BookStore
from polytui.feeds.clob import ClobMarketFeed
from polytui.model import Side
from tests.conftest import FULL, load_sample
from tests.feeds.wsserver import ReplayServer

BOOK = load_sample("ws_market_book.docs.json")["message"]
TOKEN = BOOK["asset_id"]
OFFICIAL = load_sample("ws_payloads.official_rs_clob_client.json")


def fast_feed(url: str, books: BookStore, **kw: object) -> ClobMarketFeed:
    defaults: dict[str, object] = dict(
        ping_interval_s=0.2, silence_s=5.0, backoff_initial_s=0.01, backoff_cap_s=0.05
    )
    defaults.update(kw)
    return ClobMarketFeed(url, books, **defaults)  # type: ignore[arg-type]


@pytest.fixture
async def server() -> AsyncIterator[ReplayServer]:
    def replies(text: str) -> str | None:
        if text == "PING":
            return "PONG"
        message = json.loads(text)
        if "assets_ids" in message and message.get("operation", "subscribe") == "subscribe":
            return json.dumps([dict(BOOK, asset_id=t) for t in message["assets_ids"]])
        return None

    async with ReplayServer(reply=replies) as srv:
        yield srv


async def run_feed(feed: ClobMarketFeed) -> asyncio.Task[None]:
    return asyncio.create_task(feed.run())


async def test_snapshot_from_docs_gives_hand_computed_book(server: ReplayServer) -> None:
    books = BookStore()
    feed = fast_feed(server.url, books)
    feed.subscribe([TOKEN])
    task = await run_feed(feed)
    await server.wait_for(lambda: TOKEN in books and not books.get(TOKEN).stale)  # type: ignore[union-attr]
    book = books.get(TOKEN)
    assert book is not None
    # Docs levels are worst-first: best bid .50 (last bid), best ask .52 (last ask).
    assert (book.best_bid, book.best_ask) == (D("0.50"), D("0.52"))
    assert book.depth(Side.BUY) == D(65) and book.depth(Side.SELL) == D(95)
    sent = json.loads(server.received[0])
    assert sent == {"assets_ids": [TOKEN], "type": "market", "custom_feature_enabled": True}
    await feed.stop()
    task.cancel()


async def test_price_change_new_and_legacy_schemas_apply(server: ReplayServer) -> None:
    books = BookStore()
    feed = fast_feed(server.url, books)
    feed.subscribe([TOKEN])
    task = await run_feed(feed)
    await server.wait_for(lambda: not books.get(TOKEN).stale)  # type: ignore[union-attr]
    new = {
        "event_type": "price_change",
        "market": BOOK["market"],
        "timestamp": "1757908892351",
        "price_changes": [
            {"asset_id": TOKEN, "price": "0.50", "size": "0", "side": "BUY", "hash": "ab"},
            {"asset_id": TOKEN, "price": "0.51", "size": "12", "side": "SELL", "hash": "cd"},
        ],
    }
    legacy = {
        "event_type": "price_change",
        "asset_id": TOKEN,
        "market": BOOK["market"],
        "timestamp": "1757908892351",
        "hash": "x",
        "changes": [{"price": ".48", "side": "BUY", "size": "100"}],
    }
    await server.broadcast(json.dumps(new))
    await server.broadcast(json.dumps([legacy]))
    book = books.get(TOKEN)
    assert book is not None
    await server.wait_for(lambda: book.size_at(Side.BUY, D("0.48")) == 100)
    assert book.best_bid == D("0.49")  # .50 removed by size "0"
    assert book.best_ask == D("0.51")  # new better ask
    await feed.stop()
    task.cancel()


async def test_official_payloads_are_accepted_or_counted(server: ReplayServer) -> None:
    books = BookStore()
    feed = fast_feed(server.url, books)
    frames = [v for k, v in OFFICIAL.items() if not k.startswith("_")]
    tokens = {
        f.get("asset_id")
        for v in frames
        for f in (v if isinstance(v, list) else [v])
        if isinstance(f, dict) and isinstance(f.get("asset_id"), str)
    }
    feed.subscribe([t for t in tokens if t])
    rejected = []
    for name, frame in ((k, v) for k, v in OFFICIAL.items() if not k.startswith("_")):
        before = feed.status().rejected
        feed.handle_frame(json.dumps(frame))
        if feed.status().rejected > before:
            rejected.append(name)
    assert feed.events == len(frames)
    # The price change is for the sample's placeholder asset, which has had no snapshot; the
    # trade and order frames belong to the user channel, unknown on the market channel.
    assert rejected == ["price_change", "user_trade", "user_order"]
    assert feed.status().rejected == 3
    book = books.get(OFFICIAL["book"]["asset_id"])
    assert book is not None and not book.stale and book.tick_size == D("0.001")


async def test_reconnect_resubscribes_and_rebuilds_stale_books(server: ReplayServer) -> None:
    books = BookStore()
    feed = fast_feed(server.url, books)
    feed.subscribe([TOKEN])
    task = await run_feed(feed)
    book_ready = lambda: not books.get(TOKEN).stale  # type: ignore[union-attr]  # noqa: E731
    await server.wait_for(book_ready)
    await server.drop_all()
    await server.wait_for(lambda: server.total_connections >= 2)
    await server.wait_for(book_ready)
    assert feed.status().reconnects >= 1
    assert sum(1 for m in server.received if "assets_ids" in m) >= 2
    await feed.stop()
    task.cancel()


async def test_silence_watchdog_reconnects_within_its_limit(server: ReplayServer) -> None:
    books = BookStore()
    feed = fast_feed(server.url, books, silence_s=0.4)
    feed.subscribe([TOKEN])
    task = await run_feed(feed)
    await server.wait_for(lambda: server.total_connections == 1 and not books.get(TOKEN).stale)  # type: ignore[union-attr]
    server.silent = True  # socket stays open; PONGs stop too, and no data arrives
    started = asyncio.get_running_loop().time()
    await server.wait_for(lambda: server.total_connections >= 2, timeout=3)
    assert asyncio.get_running_loop().time() - started < 0.4 + 1.0
    await feed.stop()
    task.cancel()


async def test_pongs_alone_do_not_count_as_data(server: ReplayServer) -> None:
    books = BookStore()
    feed = fast_feed(server.url, books, silence_s=0.5, ping_interval_s=0.05)
    feed.subscribe([TOKEN])
    task = await run_feed(feed)
    await server.wait_for(lambda: server.total_connections >= 2, timeout=3)
    await feed.stop()
    task.cancel()


async def test_many_forced_drops_never_two_connections_at_once(server: ReplayServer) -> None:
    books = BookStore()
    feed = fast_feed(server.url, books)
    feed.subscribe([TOKEN])
    task = await run_feed(feed)
    drops = 200 if FULL else 50
    for i in range(drops):
        await server.wait_for(lambda i=i: server.total_connections > i and server.connections == 1)
        await server.drop_all()
    await server.wait_for(lambda: server.total_connections > drops)
    assert server.max_connections == 1
    assert feed.ws.max_connections_seen == 1
    await feed.stop()
    task.cancel()


async def test_dynamic_subscribe_without_reconnect(server: ReplayServer) -> None:
    books = BookStore()
    feed = fast_feed(server.url, books)
    feed.subscribe([TOKEN])
    task = await run_feed(feed)
    await server.wait_for(lambda: not books.get(TOKEN).stale)  # type: ignore[union-attr]
    feed.subscribe(["999"])
    await server.wait_for(lambda: "999" in books and not books.get("999").stale)  # type: ignore[union-attr]
    assert server.total_connections == 1
    last = json.loads(server.received[-1] if server.received[-1] != "PING" else server.received[-2])
    assert last["operation"] == "subscribe" and last["assets_ids"] == ["999"]
    await feed.stop()
    task.cancel()


@pytest.mark.parametrize(
    "frame",
    [
        "not json",
        "[1, 2",
        '{"event_type": "book", "asset_id": "%s", "bids": 7, "asks": []}' % TOKEN,
        '{"event_type": "book", "asset_id": "%s", "bids": [{"price": "NaN", "size": "1"}], "asks": []}'
        % TOKEN,
        '{"event_type": "book", "asset_id": "%s", "bids": [{"price": "-0.1", "size": "1"}], "asks": []}'
        % TOKEN,
        '{"event_type": "price_change", "market": "m", "price_changes": [{"asset_id": "nobook", "price": "0.5", "size": "1", "side": "BUY"}]}',
        '{"event_type": "mystery"}',
        '{"event_type": "book", "asset_id": "unsubscribed", "bids": [], "asks": []}',
        "42",
    ],
)
def test_malformed_frames_are_counted_not_fatal(frame: str) -> None:
    books = BookStore()
    feed = fast_feed("ws://127.0.0.1:9", books)
    feed.tokens.add(TOKEN)
    feed.handle_frame(frame)
    assert feed.status().rejected == 1


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda kids: (
        st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=12), kids, max_size=5)
    ),
    max_leaves=20,
)
events = st.fixed_dictionaries(
    {
        "event_type": st.sampled_from(
            [
                "book",
                "price_change",
                "last_trade_price",
                "tick_size_change",
                "best_bid_ask",
                "market_resolved",
                "x",
            ]
        )
    },
    optional={
        "asset_id": st.sampled_from([TOKEN, "other"]),
        "bids": json_values,
        "asks": json_values,
        "price_changes": json_values,
        "changes": json_values,
        "price": json_values,
        "size": json_values,
        "new_tick_size": json_values,
    },
)


@pytest.mark.reliability
@settings(max_examples=2_000 if FULL else 120, deadline=None, derandomize=True)
@given(st.one_of(events, st.lists(events, max_size=3), json_values))
def test_generated_frames_never_crash_the_handler(frame: object) -> None:
    books = BookStore()
    feed = fast_feed("ws://127.0.0.1:9", books)
    feed.tokens.add(TOKEN)
    feed.handle_frame(json.dumps(frame))
    feed.handle_frame(json.dumps(frame)[:-1])


@pytest.mark.parametrize(
    "change",
    [
        {"price": ["0.5"], "size": "1", "side": "BUY"},  # unhashable price
        {"price": "0.5", "size": {"n": 1}, "side": "SELL"},  # unhashable size
        {"price": "0.5", "size": "1", "side": "HOLD"},
        {"price": "1.5", "size": "1", "side": "BUY"},
        {"price": "0.5", "size": "-3", "side": "BUY"},
    ],
)
def test_bad_levels_in_price_change_are_counted_and_leave_the_book_usable(
    change: dict[str, object],
) -> None:
    books = BookStore()
    feed = fast_feed("ws://127.0.0.1:9", books)
    feed.tokens.add(TOKEN)
    book_frame = {"event_type": "book", "asset_id": TOKEN, "bids": [], "asks": []}
    book_frame["bids"] = [{"price": "0.40", "size": "10"}]
    feed.handle_frame(json.dumps(book_frame))
    bad = {"event_type": "price_change", "price_changes": [dict(change, asset_id=TOKEN)]}
    feed.handle_frame(json.dumps(bad))
    assert feed.status().rejected == 1
    good = {
        "event_type": "price_change",
        "price_changes": [{"asset_id": TOKEN, "price": "0.45", "size": "5", "side": "BUY"}],
    }
    feed.handle_frame(json.dumps(good))
    book = books.get(TOKEN)
    assert book is not None and book.best_bid == D("0.45")
    assert not book.stale, "nothing of the bad frame was applied, so the book is still true"
    assert feed.status().rejected == 1


def test_a_bad_change_after_good_ones_leaves_the_book_untrusted_until_rebuilt() -> None:
    books = BookStore()
    feed = fast_feed("ws://127.0.0.1:9", books)
    feed.tokens.add(TOKEN)
    snapshot = {"event_type": "book", "asset_id": TOKEN, "bids": [], "asks": []}
    snapshot["bids"] = [{"price": "0.40", "size": "10"}]
    feed.handle_frame(json.dumps(snapshot))
    good = {"asset_id": TOKEN, "price": "0.45", "size": "5", "side": "BUY"}
    bad = {"asset_id": TOKEN, "price": "0.46", "size": "5", "side": "HOLD"}
    feed.handle_frame(json.dumps({"event_type": "price_change", "price_changes": [good, bad]}))
    book = books.get(TOKEN)
    assert book is not None
    assert feed.status().rejected == 1
    assert book.best_bid == D("0.45"), "the good change was applied before the bad one"
    assert book.stale, "half a frame applied: the book must not be trusted"
    feed.handle_frame(json.dumps(snapshot))
    assert not book.stale and book.best_bid == D("0.40")


LAST_TRADE = load_sample("ws_market_last_trade_price.docs.json")["message"]


async def test_last_trade_with_an_empty_size_keeps_its_price(server: ReplayServer) -> None:
    # The wire sends "" for an absent value; the frame is a trade at a price with no size.
    books = BookStore()
    seen: list[tuple[str, D, D]] = []
    feed = fast_feed(
        server.url, books, on_trade_price=lambda t, p, s, side, at: seen.append((t, p, s))
    )
    token = LAST_TRADE["asset_id"]
    feed.subscribe([token])
    task = await run_feed(feed)
    await server.wait_for(lambda: not books.get(token).stale)  # type: ignore[union-attr]
    await server.broadcast(json.dumps(dict(LAST_TRADE, size="")))
    await server.broadcast(json.dumps([LAST_TRADE]))
    await server.wait_for(lambda: len(seen) == 2)
    assert seen == [(token, D("0.456"), D(0)), (token, D("0.456"), D("219.217767"))]
    assert books.get(token).last_trade_price == D("0.456")  # type: ignore[union-attr]
    assert feed.status().rejected == 0
    await feed.stop()
    task.cancel()


@pytest.mark.parametrize("stamp", ["1" + "0" * 20, "1" + "0" * 400, str(2**63)])
async def test_an_absurd_timestamp_neither_ends_the_connection_nor_loses_the_book(
    server: ReplayServer, stamp: str
) -> None:
    # Epoch-ms far outside what a datetime holds (OverflowError, OSError, ValueError inside
    # the conversion) is not a time: the levels still apply, the socket stays up.
    books = BookStore()
    feed = fast_feed(server.url, books)
    feed.subscribe([TOKEN])
    task = await run_feed(feed)
    await server.wait_for(lambda: TOKEN in books and not books.get(TOKEN).stale)  # type: ignore[union-attr]
    snapshot = dict(BOOK, timestamp=stamp, bids=[{"price": "0.30", "size": "7"}])
    change = {
        "event_type": "price_change",
        "market": BOOK["market"],
        "timestamp": stamp,
        "price_changes": [
            {"asset_id": TOKEN, "price": "0.31", "size": "4", "side": "BUY", "hash": "ab"}
        ],
    }
    for _ in range(3):  # the first frames are all sampled for latency, so each converts
        await server.broadcast(json.dumps(snapshot))
        await server.broadcast(json.dumps(change))
    await server.broadcast(json.dumps(dict(LAST_TRADE, asset_id=TOKEN, timestamp=stamp)))
    book = books.get(TOKEN)
    assert book is not None
    await server.wait_for(lambda: book.last_trade_price == D(LAST_TRADE["price"]))
    assert book.best_bid == D("0.31") and not book.stale
    assert server.total_connections == 1, "a bad stamp must not cost the connection"
    assert feed.status().rejected == 0
    await feed.stop()
    task.cancel()
