"""Portfolio: fills, marks, settlement, and books that reconcile to the cent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from polytui.clock import FakeClock
from polytui.model import Fill, Market, Outcome, Side
from polytui.portfolio import Portfolio

NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)


def mkt(cid: str, yes: str, no: str, hours: float) -> Market:
    return Market(
        cid,
        f"Q {cid}",
        cid,
        (Outcome(0, "Yes", yes), Outcome(1, "No", no)),
        NOW + timedelta(hours=hours),
    )


def fill(token: str, cid: str, side: Side, shares: str, price: str, fee: str = "0") -> Fill:
    return Fill(
        "f", "o", "i", token, cid, side, D(shares), D(price), D(fee), NOW, whale_price=D("0.50")
    )


def reconciles(p: Portfolio) -> bool:
    return p.cash + p.cost_basis() == p.starting_balance + p.realized


def test_lifecycle_buy_mark_settle_reconciles_to_the_cent() -> None:
    p = Portfolio(D(100), FakeClock(NOW))
    m = mkt("0xa", "y", "n", 5)
    p.apply_fill(fill("y", "0xa", Side.BUY, "20", "0.55", "0.0693"), m)
    assert p.cash == D("88.9307")
    assert reconciles(p)
    p.mark("y", D("0.60"), D("0.61"))
    assert p.pnl().unrealized_usd == D("20") * D("0.60") - D("11.0693")
    p.settle("0xa", "y")
    assert p.cash == D("108.9307")
    assert p.realized == D("8.9307")
    assert p.wins == 1 and not p.tokens()
    assert reconciles(p)


def test_positions_sorted_by_soonest_resolution_with_24h_flag() -> None:
    p = Portfolio(D(100), FakeClock(NOW))
    p.apply_fill(fill("a", "0xa", Side.BUY, "5", "0.5"), mkt("0xa", "a", "a2", 48))
    p.apply_fill(fill("b", "0xb", Side.BUY, "5", "0.5"), mkt("0xb", "b", "b2", 2))
    positions = p.positions_by_resolution(NOW)
    assert [x.token_id for x in positions] == ["b", "a"]
    assert positions[0].resolves_within(NOW, 86400)
    assert not positions[1].resolves_within(NOW, 86400)


def test_partial_sell_realizes_proportional_basis() -> None:
    p = Portfolio(D(100), FakeClock(NOW))
    m = mkt("0xa", "y", "n", 5)
    p.apply_fill(fill("y", "0xa", Side.BUY, "30", "0.40"), m)
    p.apply_fill(fill("y", "0xa", Side.SELL, "10", "0.70", "0.01"), m)
    assert p.realized == D("10") * D("0.70") - D("0.01") - D("4")
    assert reconciles(p)


def test_state_round_trip_has_no_floats() -> None:
    p = Portfolio(D(100), FakeClock(NOW))
    p.apply_fill(fill("y", "0xa", Side.BUY, "10", "0.4"), mkt("0xa", "y", "n", 5))
    state = p.export_state()

    def walk(x: Any) -> None:
        assert not isinstance(x, float)
        if isinstance(x, dict):
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    walk(state)
    q = Portfolio(D(100), FakeClock(NOW))
    q.restore_state(state)
    assert q.cash == p.cash and q.positions_by_resolution(NOW) == p.positions_by_resolution(NOW)


prices = st.decimals(min_value=D("0.01"), max_value=D("0.99"), places=2)
sizes = st.decimals(min_value=D("0.01"), max_value=D("50"), places=2)
fees = st.decimals(min_value=D(0), max_value=D("0.5"), places=6)
step = st.tuples(st.sampled_from(["buy", "sell", "settle"]), st.integers(0, 2), prices, sizes, fees)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(step, max_size=30))
def test_any_sequence_of_fills_and_settlements_reconciles(steps: list[Any]) -> None:
    p = Portfolio(D(1000), FakeClock(NOW))
    markets = [mkt(f"0x{i}", f"y{i}", f"n{i}", 5) for i in range(3)]
    for action, i, price, size, fee in steps:
        m = markets[i]
        token = f"y{i}"
        if action == "buy":
            p.apply_fill(fill(token, m.condition_id, Side.BUY, str(size), str(price), str(fee)), m)
        elif action == "sell" and p.shares(token) > 0:
            qty = min(size, p.shares(token))
            p.apply_fill(fill(token, m.condition_id, Side.SELL, str(qty), str(price), str(fee)), m)
        elif action == "settle":
            p.settle(m.condition_id, token if price > D("0.5") else f"n{i}")
        assert reconciles(p)


def test_an_untouched_portfolio_starts_from_a_real_balance_once() -> None:
    p = Portfolio(D(100), FakeClock(datetime(2026, 11, 1, tzinfo=UTC)))
    assert p.untouched()
    p.start_from(D("523.417201"))
    assert p.cash == p.starting_balance == D("523.417201")
    assert p.daily_pnl() == 0 and reconciles(p)
    m = mkt("0xa", "y", "n", 5)
    p.apply_fill(fill("y", "0xa", Side.BUY, "10", "0.4"), m)
    assert not p.untouched()
    with pytest.raises(ValueError):
        p.start_from(D(1000))
