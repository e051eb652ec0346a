"""Liquidity a fill consumed is gone from the book once, for the next order in the same block step.

The official ``py-clob-client-v2`` against the loopback exchange, on a classic scenario and on a
world; the sim clock runs so slowly that both orders land in one block step (2 sim s).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from py_clob_client_v2.client import ClobClient
from py_clob_client_v2.clob_types import OrderArgsV2, OrderType

from polytui.sim.server import SimServer
from polytui.sim.worlds import build_world, builtin_spec
from tests.conftest import load_sample

KEY = load_sample("test_vectors.official.json")["private_key"]
SLOW = 0.0005  # sim seconds per wall second: one block step lasts over an hour of wall time


@pytest.fixture(params=["classic", "world"])
async def sim(request: pytest.FixtureRequest) -> AsyncIterator[SimServer]:
    world = None
    if request.param == "world":
        world = build_world(builtin_spec("demo"), seed=7, hours=0.5)
    async with SimServer("demo", seed=7, speed=SLOW, world=world) as server:
        server.exchange.default_balance = Decimal(100_000)
        yield server


def _best_ask(sim: SimServer, token: str) -> tuple[Decimal, Decimal]:
    book = sim.rest_book(token)
    assert book is not None and book["asks"]
    best = book["asks"][-1]  # worst first
    return Decimal(best["price"]), Decimal(best["size"])


async def test_a_second_order_in_the_step_sees_the_first_fill_subtracted_once(
    sim: SimServer,
) -> None:
    host = sim.urls["clob_rest_url"]
    creds = await asyncio.to_thread(ClobClient(host, 137, key=KEY).create_or_derive_api_key)
    client = ClobClient(host, 137, key=KEY, creds=creds)
    token = next(m.yes_token for m in sim.scenario.markets if _best_ask(sim, m.yes_token)[1] >= 40)
    price, size = _best_ask(sim, token)
    first = int(size * Decimal("0.6"))
    second = int(size) - first - 1  # what is left at the best price, less a share

    async def buy(shares: int, order_type: str) -> dict[str, object]:
        args = OrderArgsV2(token_id=token, price=float(price), size=shares, side="BUY")
        order = await asyncio.to_thread(client.create_order, args)
        reply: dict[str, object] = await asyncio.to_thread(client.post_order, order, order_type)
        return reply

    one = await buy(first, OrderType.FAK)
    assert one["status"] == "matched" and Decimal(str(one["takingAmount"])) == first
    left = _best_ask(sim, token)
    assert left == (price, size - first), "the book shows the first fill taken once"
    # Limited at the best price, a fill-or-kill of what is left there must fill in full.
    two = await buy(second, OrderType.FOK)
    assert two["status"] == "matched" and Decimal(str(two["takingAmount"])) == second
    assert _best_ask(sim, token) == (price, size - first - second)


def test_a_worlds_book_walk_takes_consumed_liquidity_out_once() -> None:
    from polytui.sim.worlds.book import ImpactBook

    one, two = ImpactBook(600, 60, seed=3), ImpactBook(600, 60, seed=3)
    whole = one.walk("ask", 0.42, 10.0, 5000.0)
    first = two.walk("ask", 0.42, 10.0, 1700.0)
    second = two.walk("ask", 0.42, 10.0, 3300.0)
    # Two walks at one instant cost what one walk of both sizes costs, level for level.
    assert abs(first.vwap * 1700 + second.vwap * 3300 - whole.vwap * 5000) < 1e-6
    assert second.worst == whole.worst
    assert one.ladder("ask", 0.42, 10.0) == two.ladder("ask", 0.42, 10.0)
