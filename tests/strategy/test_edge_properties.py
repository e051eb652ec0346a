"""Properties of the net-edge strategy over random records, trades, books and settings.

* no intent is ever sized on a net edge at or below the margin;
* the Kelly stake never exceeds its cap (nor max_bet_usd, nor cash);
* a wallet with no history — alone or in a cluster of wallets with none — never trades on the
  prior alone (prior_edge ≤ 0), whatever the margin, z, weights or the taxes others paid.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal as D

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from polytui.clock import FakeClock
from polytui.model import FeeSchedule
from polytui.strategy.pipeline import Strategy
from polytui.strategy.sizing import size_trade
from tests.strategy.helpers import WHALE, WHALE2, WHALE3, book, market, trade
from tests.strategy.helpers import settings as make_settings
from tests.strategy.test_rules import view

WALLETS = [WHALE, WHALE2, WHALE3]
INTENTS_SEEN: list[int] = []
AT = datetime(2026, 1, 1, tzinfo=UTC)
PROPS = settings(
    max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)

cents = st.integers(6, 94).map(lambda c: D(c) / 100)
# One resolved market of one wallet: (wallet, price in cents, won)
history = st.lists(st.tuples(st.integers(0, 2), st.integers(5, 95), st.booleans()), max_size=60)
# Latency-tax samples other wallets (or this one) paid: (wallet, kind index, tax in cents)
taxes = st.lists(st.tuples(st.integers(0, 2), st.integers(0, 1), st.integers(-20, 20)), max_size=20)
knobs = st.fixed_dictionaries(
    {
        "min_net_edge": st.integers(0, 10).map(lambda c: D(c) / 100),
        "confidence_z": st.sampled_from([D(0), D("0.5"), D("1.645"), D(3)]),
        "prior_weight": st.integers(0, 50),
        "cluster_weight": st.sampled_from([D(0), D("0.5"), D(1)]),
        "kelly_fraction": st.sampled_from([D("0.1"), D("0.25"), D(1)]),
        "kelly_cap": st.sampled_from([D("0.01"), D("0.1"), D(1)]),
    }
)


def _strategy(knob: dict[str, D], prior_edge: D = D(0)) -> Strategy:
    s = make_settings()
    for key, value in knob.items():
        setattr(s.strategy, key, value)
    s.strategy.prior_edge = prior_edge
    s.risk.max_total_exposure_usd = D(10_000)
    s.risk.max_market_exposure_usd = D(10_000)
    s.strategy.reserve_share = D(0)
    return Strategy(s, FakeClock())


def _learn(strat: Strategy, past: list[tuple[int, int, bool]], paid: list[tuple[int, int, int]]):
    for i, (w, price, won) in enumerate(past):
        cid, token = f"0xp{i}", f"p{i}"
        strat.scorer.observe(
            replace(
                trade(AT, wallet=WALLETS[w], token=token, price=str(D(price) / 100)),
                condition_id=cid,
            )
        )
        strat.scorer.on_resolution(cid, token if won else token + "n", AT)
    for w, kind, tax in paid:
        strat.scorer.add_tax(WALLETS[w], ("will-it", "other")[kind], D(tax) / 100, D(0))


@PROPS
@given(knobs, history, taxes, cents, cents, st.booleans())
def test_no_intent_is_sized_on_net_edge_at_or_below_the_margin(
    knob: dict[str, D],
    past: list[tuple[int, int, bool]],
    paid: list[tuple[int, int, int]],
    whale_price: D,
    ask: D,
    cluster: bool,
) -> None:
    strat = _strategy(knob, prior_edge=D("0.3"))  # even on faith the margin holds
    _learn(strat, past, paid)
    clock = strat.clock
    assert isinstance(clock, FakeClock)
    m, b = market(clock.now()), book(ask=str(ask))
    wallets = WALLETS if cluster else [WHALE]
    for i, w in enumerate(wallets):
        result = strat.on_trade(
            trade(clock.now(), wallet=w, price=str(whale_price), tx=f"0x{i}"), m, b, view(clock)
        )
        numbers = result.journal_records[0][2]
        if result.intent is not None:
            INTENTS_SEEN.append(1)
            assert result.intent.net_edge > knob["min_net_edge"]
            assert numbers["edge"]["net_edge"] == result.intent.net_edge
        elif "edge" in numbers and numbers["edge"]["net_edge"] <= knob["min_net_edge"]:
            assert "≤ margin" in result.signal.reason


def test_the_margin_property_run_made_intents() -> None:
    assert len(INTENTS_SEEN) >= 10  # the property above was not vacuous


@PROPS
@given(
    st.integers(-50, 60).map(lambda c: D(c) / 100),
    cents,
    st.integers(0, 5).map(lambda c: D(c) / 100),
    st.integers(1, 100_000).map(D),
    st.sampled_from([D("0.1"), D("0.25"), D(1)]),
    st.sampled_from([D("0.001"), D("0.05"), D("0.1"), D(1)]),
    st.integers(1, 1000).map(D),
)
def test_the_kelly_stake_never_exceeds_its_cap(
    net: D, price: D, fee: D, cash: D, mult: D, cap: D, max_bet: D
) -> None:
    sized = size_trade(
        net=net,
        avg_price=price,
        fee_per_share=fee,
        cash=cash,
        margin=D("0.01"),
        kelly_mult=mult,
        kelly_cap=cap,
        max_bet_usd=max_bet,
        min_shares=D(5),
    )
    assert sized.fraction <= cap
    assert sized.usd <= min(cash * cap, max_bet, cash) + D("0.000001")
    if net <= D("0.01"):
        assert sized.shares == 0


@PROPS
@given(knobs, taxes, cents, cents, st.booleans(), st.sampled_from([D(0), D("-0.05")]))
def test_a_wallet_with_no_history_never_trades_on_the_prior_alone(
    knob: dict[str, D],
    paid: list[tuple[int, int, int]],
    whale_price: D,
    ask: D,
    cluster: bool,
    prior_edge: D,
) -> None:
    strat = _strategy(knob, prior_edge=prior_edge)
    _learn(strat, [], paid)  # others' latency taxes, even negative ones, are no history of edge
    clock = strat.clock
    assert isinstance(clock, FakeClock)
    fee_free = replace(market(clock.now()), fee_schedule=FeeSchedule(D(0), 1))
    for m in (market(clock.now()), fee_free):
        for i, w in enumerate(WALLETS if cluster else [WHALE]):
            result = strat.on_trade(
                trade(clock.now(), wallet=w, price=str(whale_price), tx=f"0x{i}{m.fee_schedule}"),
                m,
                book(ask=str(ask)),
                view(clock),
            )
            assert result.intent is None, result.signal.reason
