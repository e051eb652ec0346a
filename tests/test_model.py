"""Domain model: wire-number parsing and money helpers."""

from decimal import Decimal

import pytest

from polytui.model import BadValue, floor_to, from_micro, parse_price, parse_shares, to_micro


def test_parse_price_accepts_docs_form_without_leading_zero() -> None:
    assert parse_price(".48") == Decimal("0.48")
    assert parse_price("0.48") == Decimal("0.48")


def test_parse_price_converts_json_float_through_str() -> None:
    assert parse_price(0.1) == Decimal("0.1")


@pytest.mark.parametrize("raw", ["NaN", "inf", "-0.1", "1.5", True, None, [], "abc", ""])
def test_parse_price_rejects_non_prices(raw: object) -> None:
    with pytest.raises(BadValue):
        parse_price(raw)


def test_parse_shares_rejects_absurd_sizes() -> None:
    with pytest.raises(BadValue):
        parse_shares("1e15")


def test_micro_round_trip_is_exact() -> None:
    assert from_micro(to_micro(Decimal("16.0032"))) == Decimal("16.003200")
    assert to_micro(Decimal("0.4032")) == 403_200


def test_floor_to_tick() -> None:
    assert floor_to(Decimal("0.4567"), Decimal("0.01")) == Decimal("0.45")
