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


def test_a_forgotten_sighting_lets_the_same_trade_through_again(clock: FakeClock) -> None:
    # A pending transaction that was never mined: its re-sent copy is a new trade.
    dedup = Dedup(1800)
    t = trade(clock.now())
    assert dedup.is_new(t, clock.monotonic())
    dedup.forget(t)
    assert dedup.is_new(trade(clock.now(), tx="0x03"), clock.monotonic())


def test_two_for_two_wallet_is_shrunk_toward_zero_edge(clock: FakeClock) -> None:
    scorer = WalletScorer(D(0), 10)
    for i in range(2):
        scorer.observe(trade(clock.now(), token=f"t{i}"))
        scorer.record(WHALE).open_buys[f"t{i}"][0] = f"0xm{i}"
        scorer.on_resolution(f"0xm{i}", f"t{i}", clock.now())
    rec = scorer.record(WHALE)
    assert (rec.wins, rec.resolved, rec.edge.units) == (2, 2, 2)
    edge = scorer.whale_edge(WHALE)
    assert edge.mean == D("0.083333")  # two buys at 0.50 that paid 1: (0.5 + 0.5) / (2 + 10)
    assert edge.lower(D("1.645")) < 0  # far from proven


def test_a_win_rate_at_a_high_price_is_no_edge(clock: FakeClock) -> None:
    """Winning 90 % while paying 0.90 earns nothing: the edge is outcome − price."""
    scorer = WalletScorer(D(0), 0)
    for i in range(50):
        scorer.observe(trade(clock.now(), token=f"t{i}", price="0.90"))
        scorer.record(WHALE).open_buys[f"t{i}"][0] = f"0xm{i}"
        scorer.on_resolution(f"0xm{i}", f"t{i}" if i % 10 else "other", clock.now())
    assert scorer.record(WHALE).wins == 45
    assert abs(scorer.whale_edge(WHALE).mean) < D("0.000001")


def test_buys_in_one_market_are_one_unit_of_evidence(clock: FakeClock) -> None:
    one, many = WalletScorer(D(0), 0), WalletScorer(D(0), 0)
    for i in range(20):
        one.observe(trade(clock.now(), tx=f"0x{i}"))
        many.observe(trade(clock.now(), token=f"t{i}"))
        many.record(WHALE).open_buys[f"t{i}"][0] = f"0xm{i}"
        many.on_resolution(f"0xm{i}", f"t{i}" if i % 2 else "x", clock.now())
    one.on_resolution("0xc1", "y1", clock.now())
    assert one.record(WHALE).edge.units == 1 and one.whale_edge(WHALE).se >= D("0.1")
    assert many.record(WHALE).edge.units == 20


def test_void_pays_half_and_scores_as_half(clock: FakeClock) -> None:
    scorer = WalletScorer(D(0), 0)
    scorer.observe(trade(clock.now(), price="0.40"))
    scorer.on_resolution("0xc1", "", clock.now(), pays=lambda token: D("0.5"))
    assert scorer.record(WHALE).resolved == 1 and scorer.record(WHALE).wins == 0
    assert scorer.whale_edge(WHALE).mean == D("0.1")


def test_kelly_is_zero_without_edge() -> None:
    assert kelly_fraction(D("0.5"), D("0.5")) == 0
    assert kelly_fraction(D("0.4"), D("0.5")) == 0
    assert kelly_fraction(D("0.6"), D("0.5")) == D("0.2")
    sized = size_trade(
        net=D("0.005"),
        avg_price=D("0.5"),
        fee_per_share=D("0.01"),
        cash=D(100),
        margin=D("0.01"),
        kelly_mult=D("0.25"),
        kelly_cap=D("0.1"),
        max_bet_usd=D(10),
        min_shares=D(5),
    )
    assert sized.shares == 0 and "≤ margin" in sized.reason


def test_kelly_stake_is_capped_by_max_bet() -> None:
    sized = size_trade(
        net=D("0.4"),
        avg_price=D("0.5"),
        fee_per_share=D(0),
        cash=D(10000),
        margin=D("0.01"),
        kelly_mult=D("0.25"),
        kelly_cap=D("0.1"),
        max_bet_usd=D(10),
        min_shares=D(5),
    )
    assert sized.shares == D(20) and sized.p == D("0.9")


def test_single_unknown_whale_is_observed_with_the_numbers(clock: FakeClock) -> None:
    strat = Strategy(settings(), clock)
    result = strat.on_trade(trade(clock.now()), market(clock.now()), book(), view(clock))
    assert result.intent is None
    assert result.signal.status is SignalStatus.OBSERVED
    assert "≤ margin" in result.signal.reason and "whale edge +0.00¢" in result.signal.reason
    kind, _ref, payload = result.journal_records[0]
    assert kind == "signal" and payload["decision"] == "observed"
    assert payload["edge"]["net_edge"] < 0


def test_a_herd_of_unknown_whales_adds_nothing(clock: FakeClock) -> None:
    strat = Strategy(settings(), clock)
    m, b = market(clock.now()), book(ask="0.45")
    results = [
        strat.on_trade(trade(clock.now(), wallet=w, price="0.45", tx=f"0x{i}"), m, b, view(clock))
        for i, w in enumerate([WHALE, WHALE2, WHALE3])
    ]
    last = results[-1]
    assert last.signal.cluster_size == 3
    assert last.intent is None
    assert last.journal_records[0][2]["edge"]["cluster_boost"] == 0


def test_informed_members_boost_a_cluster(clock: FakeClock) -> None:
    s = settings()
    strat = Strategy(s, clock)
    proven(strat, WHALE, WHALE2, markets=40, wins=26)  # edge +0.15, still uncertain
    m, b = market(clock.now()), book(ask="0.45")
    alone = strat.on_trade(trade(clock.now(), price="0.45", tx="0x0"), m, b, view(clock))
    boost_alone = alone.journal_records[0][2]["edge"]["cluster_boost"]
    clock.advance(1)
    strat.on_trade(trade(clock.now(), wallet=WHALE3, price="0.45", tx="0x1"), m, b, view(clock))
    together = strat.on_trade(
        trade(clock.now(), wallet=WHALE2, price="0.45", tx="0x2"), m, b, view(clock)
    )
    numbers = together.journal_records[0][2]
    assert boost_alone == 0 and together.signal.cluster_size == 3
    # WHALE's proven edge lifts WHALE2's copy; the unknown WHALE3 adds nothing.
    lower = strat.scorer.whale_edge(WHALE).lower(s.strategy.confidence_z)
    assert numbers["edge"]["cluster_boost"] == (s.strategy.cluster_weight * lower).quantize(
        D("0.0001")
    )


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
    assert fresh.scorer.record(WHALE).trades_seen == 61  # 60 of its record + this one


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
    # None: [live] slippage_cap left at its default, which the paper cap no longer replaces.
    [("paper", "0.01", "0.05"), ("live", "0.01", "0.01"), ("live", None, "0.02")],
)
def test_limit_price_takes_the_slippage_cap_of_the_mode_it_trades_in(
    clock: FakeClock, mode: str, live_cap: str | None, cap: str
) -> None:
    s = settings()
    s.mode = mode
    s.paper.slippage_cap = D("0.05")
    if live_cap is not None:
        s.live.slippage_cap = D(live_cap)
    strat = Strategy(s, clock)
    proven(strat)
    result = strat.on_trade(
        trade(clock.now(), usd="5000"), market(clock.now()), book(ask="0.50"), view(clock)
    )
    assert result.intent is not None
    assert result.intent.sized_price == D("0.50")
    assert result.intent.limit_price == D("0.50") + D(cap)


def test_the_latency_tax_is_sampled_on_the_injected_clock(clock: FakeClock) -> None:
    s = settings()
    s.paper.latency_ms = 500
    strat = Strategy(s, clock)
    strat.on_trade(
        trade(clock.now(), price="0.45"), market(clock.now()), book(ask="0.50"), view(clock)
    )
    moved = book(ask="0.53")
    assert strat.probe_taxes(lambda token: moved) == 0  # our copy would not be there yet
    clock.advance(0.5)
    assert strat.probe_taxes(lambda token: moved) == 1
    tax = strat.scorer.tax(WHALE, "will-it")
    assert tax.n == 1 and tax.mean > 0  # 0.53 − 0.45, shrunk toward zero
    assert strat.scorer.kinds["will-it"].total == D("0.08")


def test_a_copy_refused_for_room_names_the_limit_and_what_holds_it(clock: FakeClock) -> None:
    s = settings(max_total_exposure_usd=D(50))
    s.strategy.reserve_share, s.strategy.strong_edge_per_usd = D("0.5"), D(10)
    strat = Strategy(s, clock)
    proven(strat)
    strat.capital.note_entry("held", D("0.031"), "Will the weak one win?")
    full = view(clock, total_exposure_usd=D(40), shares_by_token={"held": D(10)}, open_positions=1)
    result = strat.on_trade(trade(clock.now()), market(clock.now()), book(), full)
    numbers = result.journal_records[0][2]
    assert result.intent is None and numbers["refused_for_room"] == "reserve"
    assert "max_total_exposure_usd" in result.signal.reason
    assert "weakest net edge 0.031/$ ('Will the weak one win?')" in result.signal.reason
    s.strategy.reserve_share = D(0)
    capped = view(
        clock, total_exposure_usd=D(50), shares_by_token={"held": D(10)}, open_positions=1
    )
    again = strat.on_trade(
        trade(clock.now(), tx="0x9", usd="3000"), market(clock.now()), book(), capped
    )
    assert again.journal_records[0][2]["refused_for_room"] == "max_total_exposure_usd"
    assert "no room under max_total_exposure_usd" in again.signal.reason
    assert "taken by 1 open positions" in again.signal.reason
