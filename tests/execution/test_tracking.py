"""The live broker's user-channel tracker alone, on the official client's own payloads.

Pure state: events in, statuses / records / fills out through the three callbacks. The whole
broker against the simulator is in test_live.py; this pins the rules of PROTOCOL.md §7 where
they live: a fill only at CONFIRMED, once per trade, none for FAILED.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal as D
from typing import Any

from polytui.clock import FakeClock
from polytui.execution.live.tracking import OrderTracker, TrackedOrder
from polytui.feeds.user import user_channel
from polytui.model import FeeSchedule, Fill, Market, Order, OrderStatus, OrderType, Outcome, Side
from polytui.settings import FeedSettings
from tests.conftest import load_sample

TOKEN = "52114319501245915516055106046884209969926127482827954674443846427813813222426"
MAKER_ID = "0xff354cd7ca7539dfa9c28d90943ab5779a4eac34b9b37a757d7b32bdfb11790b"
TAKER_ID = "0x06bc63e346ed4ceddce9efd6b3af37c8f8f440c92fe7da6b2d0f9e4ccbc50c42"


def sample(name: str) -> dict[str, Any]:
    return dict(load_sample("ws_payloads.official_rs_clob_client.json")[name])


class Tape:
    """What the tracker tells the broker."""

    def __init__(self) -> None:
        self.statuses: list[Order] = []
        self.records: list[dict[str, Any]] = []
        self.fills: list[Fill] = []
        self.tracker = OrderTracker(
            FakeClock(datetime(2026, 11, 1, tzinfo=UTC)),
            emit=lambda order, history: self.statuses.append(order),
            record=lambda kind, ref, payload: self.records.append(payload),
            late_fill=self.fills.append,
        )

    def follow(self, clob_id: str, side: Side) -> TrackedOrder:
        market = Market(
            condition_id="0xbd31",
            question="Will it?",
            slug="will-it",
            outcomes=(Outcome(0, "Yes", TOKEN), Outcome(1, "No", "2")),
            end_time=datetime(2026, 12, 1, tzinfo=UTC),
            fee_schedule=FeeSchedule(rate=D("0.07"), exponent=1),
        )
        order = Order(
            id="ord-1",
            intent_id="int-1",
            token_id=TOKEN,
            side=side,
            shares=D(10),
            limit_price=D("0.57"),
            order_type=OrderType.GTC,
            created_at=datetime(2026, 11, 1, tzinfo=UTC),
            broker="live",
        )
        tracked = TrackedOrder(order, clob_id, market, 0, 0, 0, OrderType.GTC, resting=True)
        self.tracker.track(tracked)
        return tracked


def trade(status: str) -> dict[str, Any]:
    return {**sample("user_trade"), "status": status}


def test_a_maker_fill_arrives_once_at_confirmed_and_pays_no_fee() -> None:
    tape = Tape()
    tracked = tape.follow(MAKER_ID, Side.SELL)
    for status in ("MATCHED", "MINED"):
        tape.tracker.on_event(trade(status))
        assert tape.fills == []
    tape.tracker.on_event(trade("CONFIRMED"))
    tape.tracker.on_event(trade("CONFIRMED"))  # the REST poll's echo of the same trade
    assert [f.id for f in tape.fills] == ["live-28c4d2eb-bbea-40e7-a9f0-b2fdb56b2c2e"]
    fill = tape.fills[0]
    assert (fill.shares, fill.avg_price, fill.fee_usd) == (D(10), D("0.57"), 0)
    assert (fill.order_id, fill.intent_id, fill.broker, fill.side) == (
        "ord-1",
        "int-1",
        "live",
        Side.SELL,
    )
    assert [o.status for o in tape.statuses] == [
        OrderStatus.MATCHED,
        OrderStatus.MINED,
        OrderStatus.CONFIRMED,
    ]
    assert tracked.size_matched == D(10) and tracked.is_final()


def test_a_failed_trade_leaves_no_fill_and_a_late_confirmed_changes_nothing() -> None:
    tape = Tape()
    tape.follow(TAKER_ID, Side.BUY)
    for status in ("MATCHED", "RETRYING", "FAILED", "CONFIRMED"):
        tape.tracker.on_event(trade(status))
    assert tape.fills == []
    assert [o.status for o in tape.statuses][-1] is OrderStatus.FAILED
    assert [r["status"] for r in tape.records] == ["MATCHED", "RETRYING", "FAILED"]


def test_the_taker_side_pays_the_taker_fee_at_the_makers_prices() -> None:
    tape = Tape()
    tape.follow(TAKER_ID, Side.BUY)
    tape.tracker.on_event(trade("CONFIRMED"))
    (fill,) = tape.fills
    # 10 shares × 0.07 × 0.57 × 0.43 = 0.17157
    assert (fill.shares, fill.avg_price, fill.fee_usd) == (D(10), D("0.57"), D("0.17157"))


def test_the_user_feed_hands_every_event_of_a_frame_to_the_tracker() -> None:
    tape = Tape()
    tape.follow(MAKER_ID, Side.SELL)
    feed = user_channel(FeedSettings(), auth=dict, on_event=tape.tracker.on_event)
    order_event = {**sample("user_order"), "status": "CANCELED", "type": "CANCELLATION"}
    feed.on_frame(json.dumps([trade("CONFIRMED"), order_event]))
    assert len(tape.fills) == 1
    assert tape.statuses[-1].status is OrderStatus.CANCELLED
    subscribe = json.loads(feed.subscribe_messages()[0])
    assert subscribe == {"auth": {}, "markets": [], "type": "user"}


def test_a_closed_resting_order_waits_for_the_trades_its_size_matched_announces() -> None:
    tape = Tape()
    tracked = tape.follow(MAKER_ID, Side.SELL)
    # The order update says 4 shares matched and the order is done before any trade arrived:
    # treating it as finished would report "no fill" for a fill that is on its way.
    tracked.size_matched = D(4)
    tracked.closed = True
    assert not tracked.is_final()
    tape.tracker.on_event(trade("CONFIRMED"))
    assert tracked.trades  # the sample's 10 shares cover the 4 announced
    assert tracked.is_final()
