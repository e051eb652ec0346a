"""matchOrders calldata decoding against calldata encoded from the official ABI."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest

from polytui.feeds.matchorders import (
    MATCH_ORDERS_INPUTS,
    MATCH_ORDERS_SELECTOR,
    MATCH_ORDERS_SIGNATURE,
    ORDER_FIELDS,
    CalldataError,
    decode_match_orders,
    pending_trades,
)
from polytui.model import Role, Side, TradeSource
from tests.matchorders_calldata import Order, calldata, official_inputs, official_types

WHALE = "0x" + "ab" * 20
MAKER = "0x" + "cd" * 20
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)


def test_the_selector_is_the_keccak_of_the_official_signature() -> None:
    from eth_utils import keccak

    official = f"matchOrders({','.join(official_types())})"
    assert official == MATCH_ORDERS_SIGNATURE
    assert "0x" + keccak(text=official)[:4].hex() == MATCH_ORDERS_SELECTOR == "0x3c2b4399"


def test_the_input_names_are_the_official_abis() -> None:
    inputs = official_inputs()
    assert [name for name, _ in MATCH_ORDERS_INPUTS] == [p["name"] for p in inputs]
    assert [name for name, _ in ORDER_FIELDS] == [c["name"] for c in inputs[1]["components"]]


def buy_match(signature: bytes = b"\x11" * 65) -> str:
    # The whale BUYs 25 shares at 0.64 (16 pUSD) against a resting SELL of 26 at 0.60.
    taker = Order(WHALE, 1234, 16_000_000, 25_000_000, 0, NOW_MS - 400, signature=signature)
    maker = Order(MAKER, 1234, 26_000_000, 15_600_000, 1, NOW_MS - 90_000)
    return calldata(taker, [maker], 16_000_000, [26_000_000], taker_fee=403_200)


def test_decodes_taker_and_maker_orders_with_fills_and_fees() -> None:
    match = decode_match_orders(bytes.fromhex(buy_match()[2:]))
    assert match.condition_id == "0x" + "c0" * 32
    assert (match.taker.maker, match.taker.side, match.taker.token_id) == (WHALE, Side.BUY, 1234)
    assert (match.taker_fill, match.taker_fee) == (16_000_000, 403_200)
    assert [m.maker for m in match.makers] == [MAKER]
    assert match.makers[0].side is Side.SELL and match.maker_fills == (26_000_000,)


def test_a_long_contract_signature_decodes_the_same() -> None:
    # POLY_1271 signatures are far longer than 65 bytes (PROTOCOL.md §7).
    match = decode_match_orders(bytes.fromhex(buy_match(b"\x22" * 700)[2:]))
    assert match.taker.maker == WHALE and match.taker_fill == 16_000_000


def test_pending_trades_price_each_order_at_its_own_limit() -> None:
    match = decode_match_orders(bytes.fromhex(buy_match()[2:]))
    taker, maker = pending_trades(match, "0xfeed", NOW)
    assert (taker.wallet, taker.side, taker.token_id, taker.role) == (
        WHALE,
        Side.BUY,
        "1234",
        Role.TAKER,
    )
    assert (taker.price, taker.shares, taker.usd, taker.fee_usd) == (
        D("0.64"),
        D(25),
        D(16),
        D("0.4032"),
    )
    assert taker.pending_tx and taker.source is TradeSource.MEMPOOL
    assert taker.match_time == NOW - timedelta(milliseconds=400)
    # The resting SELL gave 26 shares at 0.60; its old timestamp is not the match time.
    assert (maker.wallet, maker.side, maker.role) == (MAKER, Side.SELL, Role.MAKER)
    assert (maker.price, maker.shares, maker.usd) == (D("0.6"), D(26), D("15.6"))
    assert maker.match_time == taker.match_time


def test_a_taker_timestamp_far_from_now_is_not_trusted() -> None:
    taker = Order(WHALE, 1, 1_000_000, 2_000_000, 0, NOW_MS - 3_600_000)
    match = decode_match_orders(bytes.fromhex(calldata(taker, [], 1_000_000, [])[2:]))
    assert pending_trades(match, "0x1", NOW)[0].match_time == NOW


@pytest.mark.parametrize(
    "data",
    [
        b"",
        bytes.fromhex("3c2b4399"),
        bytes.fromhex("3c2b4399") + b"\x00" * 64,
        bytes.fromhex("deadbeef") + b"\x00" * 512,
    ],
)
def test_garbage_calldata_is_a_calldata_error(data: bytes) -> None:
    with pytest.raises(CalldataError):
        decode_match_orders(data)


def test_truncated_calldata_is_a_calldata_error() -> None:
    raw = bytes.fromhex(buy_match()[2:])
    with pytest.raises(CalldataError):
        decode_match_orders(raw[: len(raw) // 2])


def test_an_order_with_a_bad_side_is_refused() -> None:
    taker = Order(WHALE, 1, 1_000_000, 2_000_000, 2)
    with pytest.raises(CalldataError, match="side"):
        decode_match_orders(bytes.fromhex(calldata(taker, [], 1_000_000, [])[2:]))


def test_an_absurd_price_leaves_that_order_out() -> None:
    # A BUY paying 3 pUSD a share is no Polymarket price: no trade for it.
    taker = Order(WHALE, 1, 3_000_000, 1_000_000, 0, NOW_MS)
    match = decode_match_orders(bytes.fromhex(calldata(taker, [], 3_000_000, [])[2:]))
    assert pending_trades(match, "0x1", NOW) == []
