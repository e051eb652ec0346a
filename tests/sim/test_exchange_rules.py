"""The exchange's own fee and rounding rules, checked against PROTOCOL.md §6's published numbers.

The simulator computes these itself (it must not import the broker code it is the oracle for),
so they are pinned here independently of ``polytui.execution.fees``.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal as D

import pytest

from polytui.sim.exchange.rules import ApiError, price_on_tick, taker_fee, usd_up
from polytui.sim.scenario import build_scenario

MARKET = build_scenario("demo", 7).markets[0]


@pytest.mark.parametrize(
    ("fee", "shares", "price", "expected"),
    [
        ({"rate": 0.25, "exponent": 2}, "100", "0.50", "1.5625"),
        ({"rate": 0.07, "exponent": 1}, "25", "0.64", "0.4032"),
        ({"rate": 0.07, "exponent": 1}, "3", "0.333", "0.04664"),  # 0.04664331 cut to 5 dp
        ({"rate": 0.07, "exponent": 1}, "0.1", "0.999", "0"),  # below the smallest fee 0.00001
        ({"rate": 0.25, "exponent": 1.5}, "100", "0.50", "3.125"),  # 25 × 0.25^1.5
        ({"rate": 0.25, "exponent": "1.5"}, "100", "0.10", "0.675"),  # 25 × 0.09^1.5
        (None, "100", "0.50", "0"),
        ({"rate": 0, "exponent": 1}, "100", "0.50", "0"),
        ({"exponent": 1}, "100", "0.50", "0"),  # malformed: no rate, no fee
    ],
)
def test_taker_fee_matches_the_published_checks(
    fee: dict[str, object] | None, shares: str, price: str, expected: str
) -> None:
    market = dataclasses.replace(MARKET, fee=fee)
    assert taker_fee(market, D(shares), D(price)) == D(expected)


def test_notional_rounds_up_and_prices_must_sit_on_the_tick() -> None:
    assert usd_up(D("0.0000001")) == D("0.000001")
    assert price_on_tick("0xid", D("0.57")) == D("0.57")
    with pytest.raises(ApiError, match=r"Price \(0.575\) breaks minimum tick size rule: 0.01"):
        price_on_tick("0xid", D("0.575"))
