"""Strategy rules with a fake clock: dedup, scoring, clusters, Kelly, risk, approvals."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import pytest

from polytui.clock import FakeClock
from polytui.model import IntentStatus, PortfolioView, SignalStatus, Verdict
from polytui.portfolio import Portfolio
from polytui.strategy.dedup import Dedup
from polytui.strategy.pipeline import Strategy
from polytui.strategy.scoring import WalletScorer
from polytui.strategy.sizing import kelly_fraction, size_trade
from tests.strategy.helpers import WHALE, WHALE2, WHALE3, book, market, proven, settings, trade


def view(clock: FakeClock, cash: str = "1000", **kw: object) -> PortfolioView:
    base: dict[str, object] = dict(
        now=clock.now(),
        cash_usd=D(cash),
        total_exposure_usd=D(0),
        exposure_by_market={},
        shares_by_token={},
        open_positions=0,
        daily_pnl_usd=D(0),
    )
    base.update(kw)
    return PortfolioView(**base)  # type: ignore[arg-type]


def test_dedup_suppresses_split_fills_within_ttl(clock: FakeClock) -> None:
    dedup = Dedup(1800)
    t = trade(clock.now())
    assert dedup.is_new(t, clock.monotonic())
    assert not dedup.is_new(trade(clock.now(), price="0.505", tx="0x02"), clock.monotonic())
    clock.advance(3600)
    assert dedup.is_new(trade(clock.now()), clock.monotonic())


def test_two_for_two_wallet_is_shrunk_toward_the_prior(clock: FakeClock) -> None:
    scorer = WalletScorer(D("0.5"), 10)
    for i in range(2):
        scorer.observe(trade(clock.now(), token=f"t{i}"))
        scorer.record(WHALE).open_buys[f"t{i}"][0] = f"0xm{i}"
        scorer.on_resolution(f"0xm{i}", f"t{i}", clock.now())
    assert scorer.record(WHALE).wins == 2
    assert scorer.win_rate(WHALE) == D(7) / D(12)  # (2 + 5) / (2 + 10), not 100 %


def test_kelly_is_zero_without_edge() -> None:
    assert kelly_fraction(D("0.5"), D("0.5")) == 0
    assert kelly_fraction(D("0.4"), D("0.5")) == 0
    assert kelly_fraction(D("0.6"), D("0.5")) == D("0.2")
    sized = size_trade(
        p=D("0.5"),
        avg_price=D("0.5"),
        fee_per_share=D("0.01"),
        cash=D(100),
        kelly_mult=D("0.25"),
        max_bet_usd=D(10),
        min_shares=D(5),
    )
    assert sized.shares == 0 and "no edge" in sized.reason


def test_kelly_stake_is_capped_by_max_bet() -> None:
    sized = size_trade(
        p=D("0.9"),
        avg_price=D("0.5"),
        fee_per_share=D(0),
        cash=D(10000),
        kelly_mult=D("0.25"),
        max_bet_usd=D(10),
        min_shares=D(5),
    )
    assert sized.shares == D(20)


def test_single_unknown_whale_is_observed_below_min_confidence(clock: FakeClock) -> None:
    s = settings()
    s.strategy.min_confidence = D("0.6")
    strat = Strategy(s, clock)
    result = strat.on_trade(trade(clock.now()), market(clock.now()), book(), view(clock))
    assert result.intent is None
    assert result.signal.status is SignalStatus.OBSERVED
    assert "below" in result.signal.reason
    kind, _ref, payload = result.journal_records[0]
    assert kind == "signal" and payload["decision"] == "observed"


def test_cluster_of_three_whales_becomes_a_pending_intent(clock: FakeClock) -> None:
    s = settings()
    s.strategy.min_confidence = D("0.6")
    strat = Strategy(s, clock)
    m, b = market(clock.now()), book(ask="0.45")
    results = [
        strat.on_trade(trade(clock.now(), wallet=w, price="0.45", tx=f"0x{i}"), m, b, view(clock))
        for i, w in enumerate([WHALE, WHALE2, WHALE3])
    ]
    last = results[-1]
    assert last.signal.cluster_size == 3
    assert last.intent is not None and last.intent.status is IntentStatus.PENDING
    assert last.intent.limit_price <= D("0.99")
    assert strat.approvals.pending() == [last.intent]


def test_risk_reduces_to_the_per_market_limit(clock: FakeClock) -> None:
    s = settings(max_market_exposure_usd=D(5))
    strat = Strategy(s, clock)
    proven(strat)
    result = strat.on_trade(
        trade(clock.now(), usd="5000"), market(clock.now()), book(), view(clock)
    )
    assert result.intent is not None
    assert result.intent.shares * (result.intent.limit_price + D("0.0175")) <= D(5)


def test_paused_guard_rejects_entries_but_allows_exits(clock: FakeClock) -> None:
    strat = Strategy(settings(), clock)
    proven(strat)
    result = strat.on_trade(
        trade(clock.now(), usd="5000"), market(clock.now()), book(), view(clock)
    )
    assert result.intent is not None
    strat.risk.paused = True
    decision = strat.risk.check(result.intent, view(clock), market(clock.now()))
    assert decision.verdict is Verdict.REJECT and decision.limit == "pause"
    from dataclasses import replace

    from polytui.model import Side

    exit_intent = replace(result.intent, side=Side.SELL, shares=D(3))
    held = view(clock, shares_by_token={"y1": D(10)})
    assert strat.risk.check(exit_intent, held, market(clock.now())).verdict is Verdict.ALLOW


def test_approval_rechecks_risk_and_refuses_expired(clock: FakeClock) -> None:
    strat = Strategy(settings(), clock)
    proven(strat)
    first = strat.on_trade(trade(clock.now(), usd="5000"), market(clock.now()), book(), view(clock))
    assert first.intent is not None
    clock.advance(31)
    outcome = strat.approve(first.intent.id, view(clock))
    assert not outcome.ok and "expired" in outcome.message
    second = strat.on_trade(
        trade(clock.now(), wallet=WHALE2, usd="5000", tx="0x9"),
        market(clock.now()),
        book(),
        view(clock),
    )
    assert second.intent is not None
    halted = view(clock, daily_pnl_usd=D(-25))
    refused = strat.approve(second.intent.id, halted)
    assert not refused.ok and "daily loss" in refused.message
    assert strat.approvals.get(second.intent.id).status is IntentStatus.REJECTED  # type: ignore[union-attr]


def test_kill_switch_rejects_every_pending_intent(clock: FakeClock) -> None:
    strat = Strategy(settings(), clock)
    proven(strat)
    for i, w in enumerate([WHALE, WHALE2]):
        strat.on_trade(
            trade(clock.now(), wallet=w, usd="5000", tx=f"0x{i}"),
            market(clock.now()),
            book(),
            view(clock),
        )
    assert len(strat.approvals.pending()) == 2
    killed = strat.kill(clock.now())
    assert len(killed.intents) == 2 and not strat.approvals.pending()
    assert strat.risk.paused and strat.risk.killed


def test_observe_policy_never_makes_an_intent(clock: FakeClock) -> None:
    s = settings()
    s.approval.per_wallet = {WHALE: "observe"}
    strat = Strategy(s, clock)
    result = strat.on_trade(
        trade(clock.now(), usd="5000"), market(clock.now()), book(), view(clock)
    )
    assert result.intent is None and "observe" in result.signal.reason


def test_state_survives_restart_and_stale_intents_come_back_expired(clock: FakeClock) -> None:
    strat = Strategy(settings(), clock)
    proven(strat)
    result = strat.on_trade(
        trade(clock.now(), usd="5000"), market(clock.now()), book(), view(clock)
    )
    assert result.intent is not None
    strat.risk.halted, strat.risk.halt_reason = True, "daily loss"
    strat.risk.halt_day = clock.now().date().isoformat()
    state = strat.export_state()
    clock.advance(60)
    fresh = Strategy(settings(), clock)
    expired = fresh.restore_state(state, clock.now())
    assert [i.id for i in expired] == [result.intent.id]
    assert fresh.risk.halted
    assert fresh.scorer.record(WHALE).trades_seen == 1


def test_daily_loss_halt_lifts_next_utc_day(clock: FakeClock) -> None:
    strat = Strategy(settings(), clock)
    strat.risk.snapshot(view(clock, daily_pnl_usd=D(-30)))
    assert strat.risk.halted
    clock.advance(86400)
    strat.risk.snapshot(view(clock))
    assert not strat.risk.halted


def test_portfolio_view_feeds_the_guard(clock: FakeClock) -> None:
    p = Portfolio(D(100), clock)
    v = p.view(clock.now(), feeds_stale=True)
    strat = Strategy(settings(), clock)
    proven(strat)
    result = strat.on_trade(trade(clock.now(), usd="5000"), market(clock.now()), book(), v)
    assert result.intent is None and "stale" in result.signal.reason
    _ = timedelta


@pytest.mark.parametrize(
    ("mode", "live_cap", "cap"),
    [("paper", "0.01", "0.05"), ("live", "0.01", "0.01"), ("live", None, "0.05")],
)
def test_limit_price_takes_the_slippage_cap_of_the_mode_it_trades_in(
    clock: FakeClock, mode: str, live_cap: str | None, cap: str
) -> None:
    s = settings()
    s.mode = mode
    s.paper.slippage_cap = D("0.05")
    s.live.slippage_cap = None if live_cap is None else D(live_cap)
    strat = Strategy(s, clock)
    proven(strat)
    result = strat.on_trade(
        trade(clock.now(), usd="5000"), market(clock.now()), book(ask="0.50"), view(clock)
    )
    assert result.intent is not None
    assert result.intent.sized_price == D("0.50")
    assert result.intent.limit_price == D("0.50") + D(cap)
