"""The live broker against the simulator speaking the real CLOB V2 dialect.

REST statuses are prefixed (``TRADE_STATUS_CONFIRMED``, ``ORDER_STATUS_LIVE``), an order may answer
``unmatched`` and still rest, a ``delayed`` order may end up resting, and a gateway 5xx may come
after the CLOB took the order. Each test drives the real broker and the real simulator.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal as D
from pathlib import Path

from polytui.execution.live.clob_rest import definite_refusal
from polytui.model import OrderStatus, OrderType, Side
from polytui.sim.server import SimServer
from tests.execution.live_helpers import Harness


async def test_rest_trade_statuses_are_read_while_the_user_channel_is_down(
    sim: SimServer, tmp_path: Path
) -> None:
    """No user channel: the fill is known only from ``/data/trades``, in its prefixed form."""
    async with Harness(sim, tmp_path, channel=False) as h:
        assert not h.broker.feed.connected
        assert (await h.start()).ok
        market, token, ask = await h.market()
        report = await h.buy(market, token, ask)
        assert report.filled_shares == D(10), report.reason
        assert h.statuses[-1].status is OrderStatus.FILLED
        trades = [
            e.payload["status"]
            for e in h.journal.events(kinds=["clob"])
            if e.payload["event"] == "trade"
        ]
        assert trades[-1] == "CONFIRMED"  # journaled in the plain form


async def test_a_resting_order_found_after_a_timeout_is_followed_and_cancelled(
    sim: SimServer, tmp_path: Path
) -> None:
    """``ORDER_STATUS_LIVE`` with ``size_matched`` "0": it rests, it is not "unmatched"."""
    async with Harness(sim, tmp_path, post_timeout_s=0.3, confirm_timeout_s=2.0) as h:
        assert (await h.start()).ok
        market, token, ask = await h.market()
        sim.exchange.delay_next_response(1.0)
        order = h.order(token, Side.BUY, "10", D("0.02"))
        h.broker.entry_order_type = OrderType.GTC
        report = await h.broker.execute(order, market, sized_price=ask, whale_price=ask)
        assert report.fills == []
        assert any("remainder cancelled" in o.reason for o in h.statuses), h.statuses
        (placed,) = h.sim_orders()
        assert placed.status == "CANCELED"  # not left resting on the book


async def test_a_5xx_after_the_order_was_taken_is_reconciled_not_refused(
    sim: SimServer, tmp_path: Path
) -> None:
    async with Harness(sim, tmp_path) as h:
        assert (await h.start()).ok
        market, token, ask = await h.market()
        sim.exchange.fail_next_response(502, "Bad Gateway")
        report = await h.buy(market, token, ask)
        assert len(h.sim_orders()) == 1  # taken once, never resent
        assert report.filled_shares == D(10), report.reason
        unknown = [o.reason for o in h.statuses if o.status is OrderStatus.UNKNOWN]
        assert unknown and "HTTP 502" in unknown[0] and "reconciling" in unknown[0]
        assert h.statuses[-1].status is OrderStatus.FILLED


def test_only_4xx_and_the_documented_500_are_definite_refusals() -> None:
    assert definite_refusal(400, "not enough balance / allowance")
    assert definite_refusal(500, "order timed out")
    assert not definite_refusal(425, "engine restarting")
    assert not definite_refusal(500, "could not insert order")
    assert not definite_refusal(502, "Bad Gateway")
    assert not definite_refusal(503, "trading is currently disabled")


async def test_an_unmatched_exit_rests_is_guarded_and_cancelled_at_its_timeout(
    sim: SimServer, tmp_path: Path
) -> None:
    async with Harness(sim, tmp_path, confirm_timeout_s=2.0) as h:
        assert (await h.start()).ok
        market, token, ask = await h.market()
        await h.bought(market, token, ask)
        sim.exchange.unmatch_next()
        first = asyncio.create_task(h.sell(market, token, ask))
        await asyncio.sleep(0.8)
        # While it rests, a second exit for the same shares is refused before signing.
        second = await h.sell(market, token, ask, D("0.98"))
        assert "already resting" in second.reason
        result = await first
        assert result.fills == []
        sells = [o for o in h.sim_orders() if o.side == "SELL"]
        assert len(sells) == 1 and sells[0].status == "CANCELED"
        assert any("remainder cancelled" in o.reason for o in h.statuses)


async def test_a_delayed_exit_that_ends_up_resting_is_cancelled_at_its_timeout(
    sim: SimServer, tmp_path: Path
) -> None:
    async with Harness(sim, tmp_path, confirm_timeout_s=2.0) as h:
        assert (await h.start()).ok
        market, token, ask = await h.market()
        await h.bought(market, token, ask)
        sim.exchange.delay_next_match(0.3, rest=True)
        result = await h.sell(market, token, ask)
        assert result.fills == []
        assert any("delayed" in o.reason for o in h.statuses if o.status is OrderStatus.POSTED)
        sells = [o for o in h.sim_orders() if o.side == "SELL"]
        assert len(sells) == 1 and sells[0].status == "CANCELED"
