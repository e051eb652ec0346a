"""The fee live orders are sized with: the CLOB's ``/clob-markets`` ``fd`` over Gamma's copy.

Parsers run on the documented record shape; the directory runs against the simulator, whose
Gamma can show an older schedule than the one its CLOB charges (as after the 2026-07-10 sports
rate change), and whose ``/fee-rate`` answers the legacy bps field as the real one does.
"""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest

from polytui.execution.fees import taker_fee
from polytui.feeds.clob_fees import ClobFeeError, ClobFeeSource, reconcile, schedule_from_clob
from polytui.feeds.gamma import MarketDirectory, market_from_gamma
from polytui.feeds.http import make_client
from polytui.model import FeeSchedule
from polytui.sim.exchange import rules
from polytui.sim.server import SimServer
from tests.conftest import load_sample

SHAPE = load_sample("clob_rest_shapes.official_rs_clob_client.json")[
    "GET /clob-markets/{condition_id} (CLOB V2 compact market info; "
    "Polymarket/clob-client-v2 src/types/clob.ts MarketDetails)"
]
GAMMA = load_sample("gamma_market_sports_negrisk_fees.live_capture_trimmed.json")["market"]


def clob_record(**fd: Any) -> dict[str, Any]:
    return dict(SHAPE, fd=fd)


def test_clob_fd_gives_rate_exponent_and_taker_only() -> None:
    schedule = schedule_from_clob(clob_record(r=0.07, e=1, to=True))
    assert schedule == FeeSchedule(rate=D("0.07"), exponent=1, taker_only=True)
    assert schedule_from_clob(clob_record(r="0.25", e="2")) == FeeSchedule(
        D("0.25"),
        2,
        taker_only=False,  # "to" is left out when false
    )


def test_clob_record_without_fd_or_rate_charges_nothing() -> None:
    assert schedule_from_clob({k: v for k, v in SHAPE.items() if k != "fd"}) is None
    assert schedule_from_clob(dict(SHAPE, fd=None)) is None
    assert schedule_from_clob(clob_record(r=None, e=None)) is None
    assert schedule_from_clob(clob_record(r=0, e=1)) is None


@pytest.mark.parametrize("fd", ["0.07", {"r": "lots"}, {"r": 2}, {"r": 0.07, "e": "NaN"}])
def test_a_bad_fd_is_an_error_naming_the_field(fd: Any) -> None:
    with pytest.raises(ClobFeeError):
        schedule_from_clob(dict(SHAPE, fd=fd))


def test_fractional_exponent_is_kept_not_truncated() -> None:
    record = dict(GAMMA, feeSchedule=dict(GAMMA["feeSchedule"], exponent=1.5, rate=0.25))
    schedule = market_from_gamma(record).fee_schedule
    assert schedule is not None and schedule.exponent == D("1.5")
    # 100 × 0.25 × (0.5·0.5)^1.5 = 25 × 0.125
    assert taker_fee(D(100), D("0.5"), schedule) == D("3.125")
    assert schedule_from_clob(clob_record(r=0.25, e=1.5, to=True)) == FeeSchedule(
        D("0.25"), D("1.5")
    )


def test_reconcile_keeps_gamma_when_they_agree_and_the_clob_curve_when_not() -> None:
    gamma = FeeSchedule(D("0.05"), 1, rebate_rate=D("0.15"), fee_type="sports_fees_v2")
    assert reconcile(gamma, FeeSchedule(D("0.05"), 1)) is gamma
    chosen = reconcile(FeeSchedule(D("0.03"), 1, rebate_rate=D("0.15"), fee_type="s"), gamma)
    assert chosen is not None and (chosen.rate, chosen.fee_type) == (D("0.05"), "s")
    assert reconcile(gamma, None) is None


# --- against the simulator ------------------------------------------------------------------

STALE = {"exponent": 1, "rate": 0.03, "takerOnly": True, "rebateRate": 0.15}


def fee_market(sim: SimServer) -> Any:
    return next(m for m in sim.scenario.markets if m.fee and m.fee["exponent"] == 1)


async def test_live_sizing_reads_the_clob_fee_when_gamma_shows_an_old_one() -> None:
    async with SimServer("demo", seed=7) as sim:
        market = fee_market(sim)
        sim.gamma_shows_fee(market.condition_id, STALE)
        client = make_client()
        urls = sim.urls
        try:
            gamma_only = MarketDirectory(client, urls["gamma_url"])
            stale = await gamma_only.get_by_token(market.yes_token)
            fees = ClobFeeSource(client, urls["clob_rest_url"])
            live = MarketDirectory(client, urls["gamma_url"], fees=fees)
            found = await live.get_by_token(market.yes_token)
            legacy = (
                await client.get(f"{urls['clob_rest_url']}/fee-rate?token_id={market.yes_token}")
            ).json()
        finally:
            await client.aclose()
    assert stale is not None and stale.fee_schedule is not None
    assert stale.fee_schedule.rate == D("0.03")  # what Gamma alone would have sized with
    assert found is not None and found.fee_schedule is not None
    assert found.fee_schedule.rate == D(str(market.fee["rate"]))
    assert found.fee_schedule.fee_type == market.fee_type
    assert "0.03" in fees.mismatches[market.condition_id]
    # The legacy bps field is not the rate: read as one it would say 0.1.
    assert legacy["base_fee"] == 1000 and D(legacy["base_fee"]) / 10_000 != found.fee_schedule.rate
    # What the console sizes with is what the exchange charges, to the 0.00001.
    for price in ("0.01", "0.333", "0.5", "0.64", "0.99"):
        for shares in ("1", "3", "25", "1000.5"):
            assert taker_fee(D(shares), D(price), found.fee_schedule) == rules.taker_fee(
                market, D(shares), D(price)
            )


async def test_a_fractional_exponent_survives_the_loopback_gamma() -> None:
    async with SimServer("demo", seed=7) as sim:
        market = fee_market(sim)
        sim.gamma_shows_fee(market.condition_id, dict(STALE, exponent=1.5, rate=0.25))
        client = make_client()
        try:
            found = await MarketDirectory(client, sim.urls["gamma_url"]).get_by_token(
                market.no_token
            )
        finally:
            await client.aclose()
    assert found is not None and found.fee_schedule is not None
    assert found.fee_schedule.exponent == D("1.5")


async def test_an_unreachable_clob_leaves_gamma_fee_in_place() -> None:
    async with SimServer("demo", seed=7) as sim:
        market = fee_market(sim)
        client = make_client()
        try:
            fees = ClobFeeSource(client, "http://127.0.0.1:9/clob")
            found = await MarketDirectory(client, sim.urls["gamma_url"], fees=fees).get_by_token(
                market.yes_token
            )
        finally:
            await client.aclose()
    assert found is not None and found.fee_schedule is not None
    assert found.fee_schedule.rate == D(str(market.fee["rate"])) and fees.errors == 1
