"""Old and future whale trades are not copied.

A trade stamped beyond a small skew in the future is bad input: the RTDS feed counts and drops
it. An old one (a replayed frame, a stale poll) reaches the strategy, which observes it with the
reason and never sizes it; trades caught up after a restart are bounded by the catch-up window.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest

from polytui.clock import FakeClock
from polytui.feeds.activity import MAX_FUTURE_SKEW_S, ActivityFeed
from polytui.model import SignalStatus, WhaleTrade
from polytui.strategy.pipeline import Strategy
from tests.feeds.wsserver import ReplayServer
from tests.strategy.helpers import WHALE, book, market, proven, settings, trade
from tests.strategy.test_rules import view

NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)


def frame(ts: float, tx: str) -> str:
    payload = {
        "proxyWallet": WHALE,
        "asset": "y1",
        "side": "BUY",
        "price": 0.5,
        "size": 100,
        "timestamp": ts,
        "conditionId": "0xc1",
        "outcome": "Yes",
        "title": "Will it?",
        "transactionHash": tx,
    }
    return json.dumps({"payload": payload, "timestamp": 1, "topic": "activity", "type": "trades"})


async def test_rtds_drops_and_counts_trades_stamped_in_the_future() -> None:
    now = NOW.timestamp()
    frames = [
        frame(32503680000, "0x3000"),  # the year 3000
        frame(now + MAX_FUTURE_SKEW_S + 5, "0xahead"),
        frame(now + 2, "0xskew"),  # within the skew: a clock a little behind the exchange's
        frame(now - 30, "0xfresh"),
        frame(1, "0x1970"),  # old, not bad input: the strategy decides (below)
    ]
    async with ReplayServer(lambda: frames, reply=lambda t: "" if t == "PING" else None) as srv:
        got: list[WhaleTrade] = []
        feed = ActivityFeed(
            srv.url,
            wallets={WHALE},
            on_trade=got.append,
            ping_interval_s=0.05,
            backoff_initial_s=0.01,
            backoff_cap_s=0.05,
            wall_clock=lambda: NOW,
        )
        task = asyncio.create_task(feed.run())
        await srv.wait_for(lambda: len(got) + feed.status().rejected >= len(frames))
        await feed.stop()
        task.cancel()
    assert [t.tx_hash for t in got] == ["0xskew", "0xfresh", "0x1970"]
    assert feed.status().rejected == 2


@pytest.mark.parametrize(
    "age", [timedelta(days=365), NOW - datetime(1970, 1, 1, tzinfo=UTC), timedelta(seconds=121)]
)
def test_an_old_trade_is_observed_with_the_reason_and_never_sized(age: timedelta) -> None:
    clock = FakeClock(NOW)
    strategy = Strategy(settings(), clock)
    proven(strategy)
    result = strategy.on_trade(trade(NOW - age), market(NOW), book(), view(clock))
    assert result.intent is None and result.signal.status is SignalStatus.OBSERVED
    assert "old" in result.signal.reason and "120 s" in result.signal.reason
    assert strategy.approvals.pending() == []
    [(_, _, numbers)] = result.journal_records
    assert numbers["age_s"] == int(age.total_seconds())


def test_a_fresh_trade_is_sized_and_a_caught_up_one_keeps_the_catch_up_window() -> None:
    clock = FakeClock(NOW)
    strategy = Strategy(settings(), clock)
    proven(strategy)
    fresh = strategy.on_trade(trade(NOW - timedelta(seconds=60)), market(NOW), book(), view(clock))
    assert fresh.intent is not None, fresh.signal.reason
    # Missed while down, 9 minutes ago: inside a 10-minute catch-up window it is sized...
    old = trade(NOW - timedelta(minutes=9), token="y2", tx="0x02")
    caught = strategy.on_trade(
        old, market(NOW, cid="0xc2", yes="y2"), book("y2"), view(clock), max_age_s=600
    )
    assert caught.intent is not None, caught.signal.reason
    # ...and one older than the window is not.
    older = trade(NOW - timedelta(minutes=11), token="y3", tx="0x03")
    late = strategy.on_trade(
        older, market(NOW, cid="0xc3", yes="y3"), book("y3"), view(clock), max_age_s=600
    )
    assert late.intent is None and "600 s" in late.signal.reason
