"""Subscription growth: at most 200 assets a connection, and tokens dropped once irrelevant.

Against the simulator, whose market channel stalls a connection holding more than 200 assets as
the real one has (socket open, PING answered, no data), and against a replay server that records
the unsubscribe messages.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from decimal import Decimal as D
from pathlib import Path

from polytui.config import LoadedConfig, apply_overrides
from polytui.feeds.books import BookStore
from polytui.feeds.clob import ClobMarketFeed
from polytui.model import FeedState
from polytui.settings import Settings
from polytui.sim.server import SimServer
from polytui.wiring import build_engine
from tests.conftest import load_sample
from tests.feeds.wsserver import ReplayServer

FAKE = [str(10**70 + i) for i in range(300)]  # ids the channel knows nothing about


async def wait_until(check: Callable[[], bool], timeout: float) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached"
        await asyncio.sleep(0.05)


def real_tokens(sim: SimServer) -> list[str]:
    return [t for m in sim.scenario.markets for t in (m.yes_token, m.no_token)]


def feed_for(sim: SimServer, books: BookStore, **kw: object) -> ClobMarketFeed:
    options: dict[str, object] = dict(
        ping_interval_s=0.2, silence_s=2.0, backoff_initial_s=0.01, backoff_cap_s=0.05
    )
    options.update(kw)
    return ClobMarketFeed(sim.urls["clob_ws_url"], books, **options)  # type: ignore[arg-type]


def fresh(books: BookStore, tokens: list[str]) -> bool:
    return all((b := books.get(t)) is not None and not b.stale for t in tokens)


async def test_past_200_assets_a_second_connection_keeps_every_book_live() -> None:
    async with SimServer("demo", seed=7, speed=10) as sim:
        real = real_tokens(sim)
        books = BookStore()
        feed = feed_for(sim, books)  # no REST: every book must come over the sockets
        feed.subscribe(real[:7] + FAKE[:193])  # 200: the first connection is full
        feed.subscribe(real[7:] + FAKE[193:])  # 114 more: a second connection
        task = asyncio.create_task(feed.run())
        try:
            await wait_until(lambda: fresh(books, real), 10.0)
            messages = [row.messages for row in feed.statuses()]
            await wait_until(
                lambda: all(r.messages > m for r, m in zip(feed.statuses(), messages, strict=True)),
                10.0,
            )
            rows = feed.statuses()
            held = sorted(len(c.tokens) for c in sim.hub.of_kind("clob"))
        finally:
            await feed.stop()
            await asyncio.wait_for(task, 5)
    assert [r.name for r in rows] == ["clob", "clob-2"]
    assert all(r.state is FeedState.LIVE and r.connected for r in rows)
    assert held == [114, 200] and sim.max_connections["clob"] == 2


async def test_a_stalled_connection_is_reopened_by_its_own_watchdog_alone() -> None:
    async with SimServer("demo", seed=7, speed=10) as sim:
        sim.stall_connections_above(150)  # the first connection (200) stalls, the second not
        real = real_tokens(sim)
        books = BookStore()
        feed = feed_for(sim, books, silence_s=1.0)
        feed.subscribe(real[:7] + FAKE[:193])
        feed.subscribe(real[7:] + FAKE[193:])
        task = asyncio.create_task(feed.run())
        try:
            await wait_until(lambda: feed.statuses()[0].reconnects >= 2, 10.0)
            await wait_until(lambda: fresh(books, real[7:]), 5.0)
            first, second = feed.statuses()
        finally:
            await feed.stop()
            await asyncio.wait_for(task, 5)
    assert first.messages == 0  # stalled: never a data frame
    assert second.reconnects == 0 and second.messages > 0
    assert all((b := books.get(t)) is not None and b.stale for t in real[:7])


async def test_idle_and_closed_tokens_are_unsubscribed_held_ones_kept() -> None:
    book = load_sample("ws_market_book.docs.json")["message"]
    now = [0.0]

    def replies(text: str) -> str | None:
        if text == "PING":
            return "PONG"
        message = json.loads(text)
        if message.get("operation", "subscribe") == "subscribe":
            return json.dumps([dict(book, asset_id=t) for t in message["assets_ids"]])
        return None

    async with ReplayServer(reply=replies) as srv:
        feed = ClobMarketFeed(
            srv.url,
            BookStore(),
            ping_interval_s=0.2,
            idle_unsubscribe_s=600.0,
            keep=lambda: {"held"},
            closed=lambda token: token == "closed",
            monotonic=lambda: now[0],
        )
        feed.subscribe(["held", "idle", "busy", "closed"])
        task = asyncio.create_task(feed.run())
        await srv.wait_for(lambda: feed.ws.connected and len(srv.received) >= 1)
        now[0] = 500.0
        feed.subscribe(["busy"])  # traded again: wanted again
        now[0] = 700.0
        assert feed.prune() == ["closed", "idle"]
        await srv.wait_for(lambda: any("unsubscribe" in m for m in srv.received))
        await feed.stop()
        task.cancel()
    assert feed.tokens == {"held", "busy"}
    [sent] = [json.loads(m) for m in srv.received if "unsubscribe" in m]
    assert sent == {
        "operation": "unsubscribe",
        "assets_ids": ["closed", "idle"],
        "custom_feature_enabled": True,
    }


async def test_a_settled_market_is_unsubscribed_by_the_engine(tmp_path: Path) -> None:
    async with SimServer("demo", seed=7, speed=10) as sim:
        os.environ.update(sim.environment())
        s = apply_overrides(Settings(), sim.settings_overrides())
        s.storage.data_dir = tmp_path
        s.approval.policy = "auto"
        s.strategy.prior_edge, s.strategy.confidence_z = D("0.2"), D(0)  # copy unmeasured whales
        engine = build_engine(LoadedConfig(s, None))
        task = asyncio.create_task(engine.run())
        seen: set[str] = set()

        def watched() -> bool:
            seen.update(engine.clob.tokens)
            return engine.journal.count("settlement") >= 1

        try:
            await wait_until(watched, 120)
            [settled] = [e.payload for e in engine.journal.events(kinds=["settlement"])][:1]
            market = next(
                m for m in sim.scenario.markets if m.condition_id == settled["condition_id"]
            )
            gone = {market.yes_token, market.no_token}
            assert gone & seen  # its book was watched before it settled
            await wait_until(lambda: not any(c.tokens & gone for c in sim.hub.of_kind("clob")), 5.0)
            assert not engine.clob.tokens & gone
        finally:
            await engine.stop()
            await asyncio.wait_for(task, 15)
            engine.journal.close()
