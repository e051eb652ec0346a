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


def test_an_intent_reads_back_from_its_journal_record_unchanged() -> None:
    from datetime import UTC, datetime, timedelta

    from polytui.journal import encode_payload
    from polytui.model import IntentStatus, Side, TradeIntent
    from polytui.model.records import intent_from_record, intent_to_record

    at = datetime(2026, 3, 1, 12, tzinfo=UTC)
    intent = TradeIntent(
        id="int-1", signal_id="sig-1", token_id="t", condition_id="0xc", outcome="Yes",
        side=Side.BUY, shares=Decimal("40.84"), limit_price=Decimal("0.62"),
        sized_price=Decimal("0.61"), usd=Decimal("25.3208"), whale_price=Decimal("0.6"),
        confidence=Decimal("0.58"), created_at=at, expires_at=at + timedelta(minutes=5),
        status=IntentStatus.APPROVED, wallet="0xw", net_edge=Decimal("0.031"),
    )  # fmt: skip
    record = intent_to_record(intent)
    encode_payload(record)  # journal-ready: no float anywhere
    assert intent_from_record(record) == intent


def test_order_and_fill_records_write_money_as_decimal_text() -> None:
    from datetime import UTC, datetime

    from polytui.model import Fill, Order, OrderType, Side
    from polytui.model.records import fill_to_record, order_to_record

    at = datetime(2026, 3, 1, 12, tzinfo=UTC)
    order = Order("ord-1", "int-1", "t", Side.SELL, Decimal("10.00"), Decimal("0.45"),
                  OrderType.FAK, at)  # fmt: skip
    fill = Fill("fill-1", "ord-1", "int-1", "t", "0xc", Side.SELL, Decimal("10.00"),
                Decimal("0.451"), Decimal("0.09"), at)  # fmt: skip
    assert order_to_record(order)["limit_price"] == "0.45"
    assert order_to_record(order)["side"] == "SELL"
    row = fill_to_record(fill)
    assert (row["shares"], row["avg_price"], row["fee_usd"]) == ("10.00", "0.451", "0.09")
    assert row["filled_at"] == "2026-03-01T12:00:00+00:00"


def test_new_ids_carry_their_prefix_and_eight_hex_digits() -> None:
    import re

    from polytui.model import new_id

    ids = {new_id("ord") for _ in range(100)}
    assert len(ids) == 100
    assert all(re.fullmatch(r"ord-[0-9a-f]{8}", i) for i in ids)


def test_a_polled_source_connects_then_degrades_while_its_last_round_failed() -> None:
    from polytui.model import FeedState
    from polytui.model.status import polled_status

    def row(started: bool, detail: str) -> tuple[FeedState, bool]:
        status = polled_status(
            "gamma",
            started=started,
            detail=detail,
            last_ok_age_s=None,
            messages=0,
            rejected=0,
            errors=0,
        )
        return status.state, status.connected

    assert row(False, "") == (FeedState.CONNECTING, True)
    assert row(True, "") == (FeedState.LIVE, True)
    assert row(True, "HTTP 503") == (FeedState.DEGRADED, False)
