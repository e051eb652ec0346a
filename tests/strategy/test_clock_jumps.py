"""Wall-clock steps (NTP, an operator, a VM resumed) never reopen or shorten a decision.

The approval TTL and the dedup window run on the monotonic clock; the daily-loss halt and the
day's loss budget reset only when the UTC date moves forward.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

import pytest

from polytui.clock import FakeClock
from polytui.model import IntentStatus
from polytui.portfolio import Portfolio
from polytui.strategy.pipeline import Strategy
from tests.strategy.helpers import book, market, proven, settings, trade
from tests.strategy.test_rules import view

HOUR = 3600.0


def pending(strategy: Strategy, clock: FakeClock) -> str:
    result = strategy.on_trade(trade(clock.now()), market(clock.now()), book(), view(clock))
    assert result.intent is not None, result.signal.reason
    return result.intent.id


@pytest.mark.parametrize("jump", [-HOUR, HOUR])
def test_an_expired_intent_never_becomes_approvable_again(jump: float) -> None:
    clock = FakeClock()
    strategy = Strategy(settings(), clock)
    proven(strategy)
    intent_id = pending(strategy, clock)
    clock.advance(strategy.settings.approval.ttl_s + 1)  # expired, before any tick saw it
    clock.jump(jump)
    outcome = strategy.approve(intent_id, view(clock))
    assert not outcome.ok and "expired" in outcome.message
    assert strategy.approvals.get(intent_id).status is IntentStatus.EXPIRED  # type: ignore[union-attr]


def test_a_forward_step_does_not_expire_a_fresh_intent_and_a_back_step_does_not_extend_it() -> None:
    clock = FakeClock()
    strategy = Strategy(settings(), clock)
    proven(strategy)
    intent_id = pending(strategy, clock)
    clock.jump(HOUR)
    assert strategy.expire_due(clock.now()) == []
    clock.jump(-2 * HOUR)
    clock.advance(strategy.settings.approval.ttl_s + 1)
    assert [i.id for i in strategy.expire_due(clock.now())] == [intent_id]


@pytest.mark.parametrize("jump", [-2 * HOUR, 2 * HOUR])
def test_a_wall_step_does_not_forget_a_recent_fingerprint(jump: float) -> None:
    clock = FakeClock()
    strategy = Strategy(settings(), clock)
    proven(strategy)
    first = trade(clock.now())
    strategy.on_trade(first, market(clock.now()), book(), view(clock))
    clock.jump(jump)  # the dedup window is 30 minutes of monotonic time, not of wall time
    assert not strategy.dedup.is_new(first, clock.monotonic())
    clock.advance(strategy.settings.strategy.dedup_ttl_s + 1)
    assert strategy.dedup.is_new(first, clock.monotonic())


@pytest.mark.parametrize("jump", [-HOUR, HOUR / 2])
def test_the_daily_loss_halt_never_clears_on_a_step_that_is_not_a_new_day(jump: float) -> None:
    clock = FakeClock(datetime(2026, 11, 24, 0, 30, tzinfo=UTC))
    strategy = Strategy(settings(), clock)
    proven(strategy)
    strategy.risk.snapshot(view(clock, daily_pnl_usd=D(-25)))  # over max_daily_loss_usd (20)
    assert strategy.risk.halted
    clock.jump(jump)  # back across midnight, or forward within the same day
    strategy.risk.snapshot(view(clock))
    assert strategy.risk.halted
    outcome = strategy.on_trade(trade(clock.now()), market(clock.now()), book(), view(clock))
    assert outcome.intent is None and "daily loss" in outcome.signal.reason
    clock.jump(24 * HOUR - jump)  # the next UTC day does clear it
    strategy.risk.snapshot(view(clock))
    assert not strategy.risk.halted


def test_the_days_loss_budget_does_not_reset_when_the_clock_steps_back_over_midnight() -> None:
    clock = FakeClock(datetime(2026, 11, 24, 0, 10, tzinfo=UTC))
    portfolio = Portfolio(D(1000), clock)
    assert portfolio.daily_pnl() == 0
    portfolio.cash -= D(30)  # lost 30 today
    clock.jump(-HOUR)  # 23:10 the day before
    assert portfolio.daily_pnl() == D(-30)
    clock.jump(HOUR)
    assert portfolio.daily_pnl() == D(-30)
