"""The data-api whale source reads every page of a busy wallet's fills, not only the newest 100.

Against the simulator: a world whose busy whale filled about 1,300 times in the hour before the
start (``/v2/trades``, two cursor pages of 1,000), and the ``chaos`` scenario, whose data-api has
only ``/trades`` (the client falls back to offsets and ``start``).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from polytui.feeds.dataapi import DataApiPoller
from polytui.feeds.history import HistoryClient
from polytui.feeds.http import make_client
from polytui.feeds.ratelimit import data_api_limiter
from polytui.model import Side, WhaleTrade
from polytui.sim.rest import DATAAPI_DELAY_S
from polytui.sim.server import SimServer
from polytui.sim.worlds import parse_spec
from polytui.sim.worlds.past import build_world_with_past

SPEC = {
    "name": "busy-past",
    "hours": 1,
    "history_hours": 1,
    "markets": [
        {
            "name": "fast",
            "count": 3,
            "duration_s": [600, 1200],
            "fee": "crypto_fees_v2",
            "depth": 800,
            "category": "crypto",
        }
    ],
    "whales": [{"archetype": "noise", "alias": "busy", "every_s": 2}],
}

Key = tuple[str, str, str, Side, Decimal]


def key(trade: Any) -> Key:
    return (
        trade.tx_hash.lower(),
        trade.wallet.lower(),
        trade.token_id,
        Side(trade.side),
        trade.shares,
    )


def history(client: Any, url: str) -> HistoryClient:
    return HistoryClient(client, url, limiter=data_api_limiter(10**6, 10**6, 10**6))


def listed(sim: SimServer, trades: Any, wallet: str, lo: float) -> set[Key]:
    """The wallet's fills from sim time ``lo`` that the data-api lists by now."""
    now = sim.now()
    return {
        key(t) for t in trades if t.wallet == wallet and lo <= t.t and t.t + DATAAPI_DELAY_S <= now
    }


async def test_a_busy_whales_fills_are_read_across_v2_cursor_pages() -> None:
    world = build_world_with_past(parse_spec(SPEC), seed=3)
    busy = world.wallets[0].wallet
    async with SimServer(world=world) as sim:
        since = datetime.fromtimestamp(sim.world.wall(-3000.0), tz=UTC)
        client = make_client()
        got: list[WhaleTrade] = []
        try:
            reader = history(client, sim.urls["data_api_url"])
            poller = DataApiPoller(
                reader, {busy}, interval_s=15, on_trade=got.append, accept_since=since
            )
            await poller.poll_once()
            again = await poller.poll_once()  # the next poll offers nothing twice
            # Stamps are whole seconds: a second either side of the floor is either way.
            core = {k for k in listed(sim, world.trades, busy, -2999.0)}
            wide = listed(sim, world.trades, busy, -3001.0)
        finally:
            await client.aclose()
    assert len(core) > 1000  # more than one page of 1,000 (and far more than 100)
    offered = {t.dedup_key for t in got}
    assert len(got) == len(offered) and again == 0
    assert core <= offered <= wide
    assert reader.stats.by_path["/v2/trades"] >= 2 and reader.stats.fallbacks == 0


async def test_without_v2_the_fills_since_the_last_poll_come_from_v1_offsets() -> None:
    async with SimServer("chaos", seed=7, speed=300) as sim:
        trades = sim.scenario.trades
        busy = max(sim.whale_wallets, key=lambda w: sum(t.wallet == w for t in trades))
        client = make_client()
        got: list[WhaleTrade] = []
        try:
            reader = history(client, sim.urls["data_api_url"])
            poller = DataApiPoller(reader, {busy}, interval_s=15, on_trade=got.append)
            floor = (poller.floor.timestamp() - sim.world.wall0) * sim.speed  # in sim time
            while sim.now() < 3300:  # about 180 of the whale's fills, in one poll
                await asyncio.sleep(0.1)
            # Stamps are whole seconds (300 sim seconds here): one either side is either way.
            before = listed(sim, trades, busy, floor + sim.speed)
            await poller.poll_once()
            after = listed(sim, trades, busy, floor - sim.speed)
        finally:
            await client.aclose()
    offered = {t.dedup_key for t in got}
    assert len(before) > 100
    assert before <= offered <= after and len(got) == len(offered)
    assert reader.stats.fallbacks == 1 and reader.stats.by_path["/trades"] >= 1
