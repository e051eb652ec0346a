"""The warm-up against the simulator: the markets the watched wallets hold get their metadata
cached and their books live; past the cap the least recently relevant go, and their books with
them unless the engine still needs them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest

from polytui.feeds.books import BookStore
from polytui.feeds.clob import ClobMarketFeed
from polytui.feeds.gamma import MarketDirectory
from polytui.feeds.history import HistoryClient
from polytui.feeds.warm import MarketWarmer
from polytui.model import FeedState, Side, TradeSource, WhaleTrade
from polytui.sim.handmade import handmade_scenario
from polytui.sim.server import SimServer


@dataclass
class Parts:
    sim: SimServer
    markets: MarketDirectory
    clob: ClobMarketFeed
    books: BookStore
    history: HistoryClient


@pytest.fixture
async def parts() -> AsyncIterator[Parts]:
    async with SimServer(handmade_scenario(markets=6, whales=2, held=3)) as sim:
        urls = sim.urls
        async with httpx.AsyncClient(timeout=5) as client:
            books = BookStore()
            clob = ClobMarketFeed(urls["clob_ws_url"], books, backoff_initial_s=0.05)
            task = asyncio.create_task(clob.run())
            yield Parts(
                sim,
                MarketDirectory(client, urls["gamma_url"]),
                clob,
                books,
                HistoryClient(client, urls["data_api_url"], attempts=1),
            )
            await clob.stop()
            task.cancel()


async def wait_until(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not reached")
        await asyncio.sleep(0.02)


def warmer(parts: Parts, **kw: object) -> MarketWarmer:
    wallets = {w.wallet for w in parts.sim.scenario.whales}
    return MarketWarmer(parts.history, wallets, parts.markets, parts.clob, **kw)  # type: ignore[arg-type]


def live(parts: Parts, token: str) -> bool:
    book = parts.books.get(token)
    return book is not None and not book.stale


async def test_the_markets_the_wallets_hold_get_metadata_and_live_books(parts: Parts) -> None:
    warm = warmer(parts)
    assert warm.status().state is FeedState.CONNECTING
    assert await warm.refresh() == 3
    held, others = parts.sim.scenario.markets[:3], parts.sim.scenario.markets[3:]
    tokens = [t for m in held for t in (m.yes_token, m.no_token)]
    for market in held:
        for token in (market.yes_token, market.no_token):
            found = parts.markets.fresh(token)
            assert found is not None and found.condition_id == market.condition_id
    await wait_until(lambda: all(live(parts, token) for token in tokens))
    for market in others:
        assert parts.markets.fresh(market.yes_token) is None
        assert market.yes_token not in parts.clob.tokens
    assert warm.status().state is FeedState.LIVE
    assert warm.status().detail.startswith("3 markets warm")
    requests = parts.sim.http_requests
    await warm.refresh()  # still fresh: the data-api is asked again, Gamma is not
    assert parts.sim.http_requests - requests == 2 * len(warm.wallets)


async def test_past_the_cap_the_least_recent_go_and_unneeded_books_with_them(parts: Parts) -> None:
    scenario = parts.sim.scenario
    held = scenario.markets[:3]
    kept = {m.yes_token for m in held}  # the engine holds every YES side
    warm = warmer(parts, max_markets=3, keep=lambda: kept)
    await warm.refresh()
    assert all(m.no_token in parts.clob.tokens for m in held)
    for market in scenario.markets[3:5]:  # two whale trades seen live in markets not held
        warm.note(_trade(scenario.whales[0].wallet, market.yes_token, market.condition_id))
    assert warm.evicted == 2 and len(warm.relevant) == 3
    assert {scenario.markets[3].condition_id, scenario.markets[4].condition_id} <= set(
        warm.relevant
    )
    gone = [m for m in held if m.condition_id not in warm.relevant]
    assert len(gone) == 2
    for market in gone:
        assert market.no_token not in parts.clob.tokens  # not needed: unsubscribed
        assert market.yes_token in parts.clob.tokens  # held by the engine: kept


async def test_an_unreachable_data_api_is_a_degraded_row_not_a_crash(parts: Parts) -> None:
    async with httpx.AsyncClient(timeout=1) as client:
        history = HistoryClient(client, "http://127.0.0.1:9/data", attempts=1)
        wallets = {w.wallet for w in parts.sim.scenario.whales}
        warm = MarketWarmer(history, wallets, parts.markets, parts.clob)
        assert await warm.refresh() == 0
    status = warm.status()
    assert status.state is FeedState.DEGRADED and warm.errors == len(wallets)
    assert warm.ready.is_set()


def _trade(wallet: str, token: str, condition: str) -> WhaleTrade:
    now = datetime.now(UTC)
    return WhaleTrade(
        source=TradeSource.ACTIVITY,
        wallet=wallet,
        side=Side.BUY,
        token_id=token,
        price=Decimal("0.5"),
        shares=Decimal(100),
        usd=Decimal(50),
        match_time=now,
        received_at=now,
        tx_hash="0x" + "11" * 32,
        condition_id=condition,
    )
