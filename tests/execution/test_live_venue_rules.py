"""The CLOB's own order rules, as the simulator enforces them the way the real one does.

GTD expiries at least 3 minutes ahead (the order ends a minute early), the share minimum for
resting orders only (a marketable buy needs 1 pUSD), a FAK buy's ``original_size`` in pUSD, and
trades polled by market so a maker fill against the complementary token is seen.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import replace
from decimal import Decimal as D
from pathlib import Path

import pytest

from polytui.config import ConfigError, load_settings
from polytui.execution.live.reconcile import _same_order
from polytui.execution.live.signer import order_amounts
from polytui.model import OrderStatus, OrderType, Side
from polytui.sim.server import SimServer
from tests.execution.live_helpers import Harness


def test_a_gtd_lifetime_under_the_clobs_floor_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[live]\nexit_gtd_s = 120\n")
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert "live.exit_gtd_s" in str(info.value) and "3 minutes" in str(info.value)
    path.write_text("[live]\nexit_gtd_s = 150\n")
    assert load_settings(path).settings.live.exit_gtd_s == 150


async def test_gtd_exits_need_three_minutes_and_end_a_minute_early(
    sim: SimServer, tmp_path: Path
) -> None:
    async with Harness(sim, tmp_path, exit_order_type="GTD", confirm_timeout_s=30.0) as h:
        assert (await h.start()).ok
        market, token, ask = await h.market()
        await h.bought(market, token, ask)
        # An expiry two minutes ahead (what exit_gtd_s = 60 signed): the CLOB refuses it.
        h.broker.live.exit_gtd_s = 60
        short = await h.sell(market, token, ask)
        assert "invalid expiration" in short.reason, short.reason
        # At the configured floor it is accepted and rests until a minute before its expiry.
        h.broker.live.exit_gtd_s = 150
        exit_task = asyncio.create_task(h.sell(market, token, ask))
        resting = await h.resting_sell()
        assert resting.order_type == "GTD"
        assert 205 <= resting.expiration - time.time() <= 215
        resting.expiration = int(time.time()) + 61  # as if 150 s had passed: still on the book
        await sim.exchange.tick()
        assert resting.status == "LIVE"
        resting.expiration = int(time.time()) + 59  # within the CLOB's last minute: it ends
        await sim.exchange.tick()
        assert resting.status == "CANCELED"
        result = await exit_task
        assert result.fills == [] and h.statuses[-1].status is OrderStatus.CANCELLED
        assert any("remainder cancelled" in o.reason for o in h.statuses)


async def test_a_marketable_buy_needs_one_pusd_and_a_resting_one_the_share_minimum(
    sim: SimServer, tmp_path: Path
) -> None:
    async with Harness(sim, tmp_path) as h:
        assert (await h.start()).ok
        market, token, ask = await h.market()
        # A small copy entry: 3 shares (under the 5-share minimum) worth more than 1 pUSD.
        small = await h.buy(market, token, ask, "3")
        assert small.filled_shares == D(3), small.reason
        # The CLOB lists a FAK buy's original_size in pUSD; found by shape all the same.
        (tracked,) = h.broker.tracker.orders.values()
        row = await h.broker.clob.json("GET", "/data/order/" + tracked.clob_id)
        assert D(row["original_size"]) == D(tracked.maker_amount) / 1_000_000
        assert _same_order(row, replace(tracked, clob_id="0x" + "0" * 64))
        # Under 1 pUSD (spent in whole cents): refused before signing.
        tiny = await h.buy(market, token, ask, "1")
        assert "at least 1 pUSD" in tiny.reason
        # A resting (GTC) order still needs the market's share minimum.
        h.broker.entry_order_type = OrderType.GTC
        resting = await h.broker.execute(
            h.order(token, Side.BUY, "4.99", D("0.05")), market, sized_price=ask, whale_price=ask
        )
        assert "below the market minimum 5" in resting.reason
        assert len(h.sim_orders()) == 1


async def test_the_simulator_enforces_the_true_minimums(sim: SimServer, tmp_path: Path) -> None:
    """Signed and sent as the broker would, past its own checks: the exchange decides."""
    async with Harness(sim, tmp_path) as h:
        assert (await h.start()).ok
        _, token, ask = await h.market()
        signer = h.broker.signer
        limit = ask + D("0.02")

        async def post(shares: str, price: D, order_type: str) -> tuple[int, dict[str, object]]:
            kind = OrderType(order_type)
            maker, taker = order_amounts(Side.BUY, D(shares), price, D("0.01"), kind)
            signed = await asyncio.to_thread(signer.sign, Side.BUY, token, maker, taker, False, 0)
            signed.body["orderType"] = order_type
            response = await h.broker.clob.post_order(
                json.dumps(signed.body, separators=(",", ":")), 5
            )
            return response.status_code, response.json()

        status, body = await post("3", limit, "FAK")
        assert status == 200 and body["status"] == "matched", body
        status, body = await post("3", D("0.05"), "GTC")
        assert status == 400 and "lower than the minimum: 5" in str(body["error"])
        status, body = await post("1.5", limit, "FAK")
        assert status == 400 and "min size: $1" in str(body["error"]), body
        # A FAK buy's original_size is what it signed to spend (pUSD), not shares.
        fak = next(o for o in h.sim_orders() if o.order_type == "FAK")
        row = await h.broker.clob.json("GET", "/data/order/" + fak.id)
        assert D(row["original_size"]) == D(3) * limit


async def test_a_maker_fill_against_the_complementary_token_is_seen_by_the_poll(
    sim: SimServer, tmp_path: Path
) -> None:
    """No user channel: the trade poll alone must find a fill listed under the other token."""
    async with Harness(sim, tmp_path, confirm_timeout_s=8.0, channel=False) as h:
        assert not h.broker.feed.connected
        assert (await h.start()).ok
        market, token, ask = await h.market()
        await h.bought(market, token, ask)
        exit_task = asyncio.create_task(h.sell(market, token, ask))
        resting = await h.resting_sell()
        sim.exchange.complement_next_maker_fill()  # a taker selling No merges with our Yes
        resting.price = D("0.01")  # as if the bids had come up to it
        await sim.exchange.tick()
        rows = await h.broker.clob.paged("/data/trades", {"asset_id": token})
        assert all(
            r["taker_order_id"] != resting.id
            and not any(m["order_id"] == resting.id for m in r["maker_orders"])
            for r in rows
        )  # not listed under our token
        result = await exit_task
        assert result.filled_shares == D(10), result.reason
        assert h.statuses[-1].status is OrderStatus.FILLED
