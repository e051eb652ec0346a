"""Fee formulas against Polymarket's published numbers (PROTOCOL.md §6)."""

from decimal import Decimal as D

import pytest

from polytui.execution.fees import schedule_or_fallback, taker_fee
from polytui.model import FeeSchedule

CRYPTO_15M = FeeSchedule(rate=D("0.25"), exponent=2)
BTC_5M = FeeSchedule(rate=D("0.07"), exponent=1)


@pytest.mark.parametrize(
    ("price", "fee"), [("0.50", "1.5625"), ("0.10", "0.2025"), ("0.99", "0.00245")]
)
def test_fifteen_minute_crypto_fee_matches_published_examples(price: str, fee: str) -> None:
    assert taker_fee(D(100), D(price), CRYPTO_15M) == D(fee)


def test_five_minute_btc_fee_matches_onchain_example() -> None:
    assert taker_fee(D(25), D("0.64"), BTC_5M) == D("0.4032")


def test_market_without_schedule_is_fee_free_unless_fallback() -> None:
    assert taker_fee(D(100), D("0.5"), None) == 0
    fallback = schedule_or_fallback(None, D("0.05"), 1)
    assert taker_fee(D(100), D("0.5"), fallback) == D("1.25")


def test_fee_per_share_times_shares_is_the_taker_fee() -> None:
    # Sizing adds the per-share fee to the cost; charged on 100 shares it is the fee itself.
    assert CRYPTO_15M.per_share(D("0.50")) * 100 == D("1.5625")
    assert BTC_5M.per_share(D("0.64")) * 25 == D("0.4032")


def test_fees_are_cut_to_the_venues_five_decimals() -> None:
    # 3 × 0.07 × 0.333 × 0.667 = 0.04664331; the smallest fee is 0.00001.
    assert taker_fee(D(3), D("0.333"), BTC_5M) == D("0.04664")
    assert taker_fee(D("0.1"), D("0.999"), BTC_5M) == 0  # 0.0000069930: below the smallest fee
    assert taker_fee(D(1), D("0.99"), BTC_5M) == D("0.00069")  # 0.000693


def test_a_fractional_exponent_is_a_real_power() -> None:
    schedule = FeeSchedule(rate=D("0.25"), exponent=D("1.5"))
    assert taker_fee(D(100), D("0.5"), schedule) == D("3.125")  # 25 × 0.25^1.5
    assert taker_fee(D(100), D("0.1"), schedule) == D("0.675")  # 25 × 0.09^1.5 = 25 × 0.027
