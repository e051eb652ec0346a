"""The second-opinion hook: a pending buy shrinks or is rejected, never grows or appears."""

from __future__ import annotations

from decimal import Decimal as D

from polytui.clock import FakeClock
from polytui.model import IntentStatus, TradeIntent
from polytui.strategy.pipeline import Strategy
from tests.strategy.helpers import WHALE, book, market, proven, settings, trade
from tests.strategy.test_rules import view


def pending(clock: FakeClock) -> tuple[Strategy, TradeIntent]:
    s = settings()
    s.strategy.max_bet_usd = D(500)  # Kelly, not the cap, sizes these buys
    s.risk.max_total_exposure_usd = s.risk.max_market_exposure_usd = D(500)
    strat = Strategy(s, clock)
    proven(strat, WHALE)
    result = strat.on_trade(
        trade(clock.now(), price="0.45"), market(clock.now()), book(ask="0.45"), view(clock)
    )
    assert result.intent is not None
    return strat, result.intent


def test_a_lower_estimate_shrinks_the_buy_and_records_why(clock: FakeClock) -> None:
    strat, intent = pending(clock)
    out = strat.reconsider(intent.id, lambda p: p - D("0.05"), "advisors: p 0.40", view(clock))
    assert out.ok and out.intent is not None
    assert out.intent.status is IntentStatus.PENDING
    assert D(0) < out.intent.shares < intent.shares
    assert out.intent.usd == (out.intent.shares * intent.limit_price).quantize(D("0.000001"))
    assert out.intent.advice.startswith("advisors: p 0.40; estimate ")
    ((kind, ref, payload),) = out.journal_records
    assert kind == "advice" and ref == intent.id and payload["shares_before"] == intent.shares


def test_a_higher_estimate_never_grows_the_buy(clock: FakeClock) -> None:
    strat, intent = pending(clock)
    out = strat.reconsider(intent.id, lambda p: p + D("0.05"), "advisors: p 0.99", view(clock))
    assert out.ok and out.intent is not None and out.intent.shares == intent.shares
    assert "→" in out.intent.advice


def test_no_edge_left_rejects_the_buy(clock: FakeClock) -> None:
    strat, intent = pending(clock)
    out = strat.reconsider(intent.id, lambda p: D("0.10"), "advisors: p 0.10", view(clock))
    assert not out.ok and out.intent is not None
    assert out.intent.status is IntentStatus.REJECTED and "no edge left" in out.intent.reason
    assert [k for k, _, _ in out.journal_records] == ["advice", "decision"]


def test_a_decided_intent_is_left_alone(clock: FakeClock) -> None:
    strat, intent = pending(clock)
    strat.reject(intent.id, "operator")
    out = strat.reconsider(intent.id, lambda p: D(0), "late", view(clock))
    assert not out.ok and out.journal_records == []
    assert strat.approvals.get(intent.id).status is IntentStatus.REJECTED  # type: ignore[union-attr]


def test_an_unknown_intent_is_never_created(clock: FakeClock) -> None:
    strat = Strategy(settings(), clock)
    out = strat.reconsider("int-nope", lambda p: D(1), "advisors", view(clock))
    assert not out.ok and out.intent is None and strat.approvals.pending() == []
