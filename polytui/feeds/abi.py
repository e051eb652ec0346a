"""Exchange ``OrderFilled`` events: signatures, topics, data layouts, and one log → the trade.

From the official exchange ABIs (PROTOCOL.md §5); the tests re-derive each topic with keccak-256.
Every ``OrderFilled`` names the owner of *that* order as ``maker`` (topic 2), whether it rested or
took; the taking order's event has ``taker`` = the exchange address. V2 data is ``side, tokenId,
makerAmountFilled, takerAmountFilled, fee, builder, metadata`` (side 0 = BUY: the owner gave pUSD
and got shares). V1 has no side: ``makerAssetId == 0`` means a BUY of ``takerAssetId``. Amounts
have 6 decimals; price = pUSD / shares.

``decode_order_filled`` is pure and takes a log as the node sends it in JSON (hex strings) or as
web3 formats it (bytes); the data words are decoded by ``eth_abi``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from polytui.model import MICRO, Role, Side, TradeSource, WhaleTrade, usd

ORDER_FILLED_V2_SIGNATURE = (
    "OrderFilled(bytes32,address,address,uint8,uint256,uint256,uint256,uint256,bytes32,bytes32)"
)
ORDER_FILLED_V1_SIGNATURE = (
    "OrderFilled(bytes32,address,address,uint256,uint256,uint256,uint256,uint256)"
)
ORDER_FILLED_V2 = "0xd543adfd945773f1a62f74f0ee55a5e3b9b1a28262980ba90b1a89f2ea84d8ee"
ORDER_FILLED_V1 = "0xd0a08e8c493f9c94f29311604c9de1b4e8c8d4c06bd0c789af57f2d65bfec0f6"

# Non-indexed fields, in order: what the log's data holds.
ORDER_FILLED_V2_DATA = ["uint8", "uint256", "uint256", "uint256", "uint256", "bytes32", "bytes32"]
ORDER_FILLED_V1_DATA = ["uint256", "uint256", "uint256", "uint256", "uint256"]
# What a trade needs of each (V2's builder and metadata are not read), and the data's length as
# hex text: "0x" and 64 digits a word.
_V2_READ = tuple(ORDER_FILLED_V2_DATA[:5])
_V1_READ = tuple(ORDER_FILLED_V1_DATA)
_V2_HEX_LEN = 2 + 64 * len(ORDER_FILLED_V2_DATA)
_V1_HEX_LEN = 2 + 64 * len(ORDER_FILLED_V1_DATA)

UNIT = Decimal(1_000_000)
MAX_PRICE = Decimal(1)


class LogError(ValueError):
    """A log that is not a usable OrderFilled event."""


def hex_text(value: Any) -> str:
    """A node's hex string as it is; web3's bytes (HexBytes) as ``0x…`` text."""
    if type(value) is str:
        return value if value.startswith("0x") else "0x" + value
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    text = value.hex() if hasattr(value, "hex") and not isinstance(value, str) else str(value)
    return text if text.startswith("0x") else "0x" + text


def hex_int(value: Any) -> int:
    """A JSON-RPC quantity (``"0x1f"``) or web3's int."""
    if type(value) is int:
        return value
    if type(value) is str:
        return int(value, 16)
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    return int(str(value), 16)


def _address(topic: Any) -> str:
    raw = hex_text(topic)
    if len(raw) != 66:
        raise LogError("topic is not 32 bytes")
    return "0x" + raw[-40:].lower()


@functools.cache
def _word_decoders(types: tuple[str, ...]) -> tuple[Callable[[Any], Any], ...]:
    # eth_abi takes ~0.2 s to import: loaded on the first log, so the console starts fast.
    from eth_abi.registry import registry

    return tuple(registry.get_decoder(t) for t in types)


def _decode(types: tuple[str, ...], data: Any, hex_len: int) -> tuple[Any, ...]:
    """ABI-decode the leading ``types`` of a log's data with eth_abi (strict: the whole data
    must be the event's length; the words not asked for are the bytes32 ones, never read).

    Each word goes through eth_abi's own decoder for its type, one after another on one
    stream. Its tuple decoder is not used: for a tuple it first walks every element to check
    pointers, decoding each word, then decodes them all again, and these words are all static
    (no pointers), so that is twice the work for nothing on the hottest path of discovery mode.
    """
    from eth_abi.decoding import ContextFramesBytesIO
    from eth_abi.exceptions import DecodingError

    text = hex_text(data)
    if len(text) != hex_len:
        raise LogError(f"data is {(len(text) - 2) / 2:g} bytes, expected {(hex_len - 2) // 2}")
    try:
        stream = ContextFramesBytesIO(bytes.fromhex(text[2:]))
        return tuple([decoder(stream) for decoder in _word_decoders(types)])
    except (DecodingError, ValueError) as exc:
        raise LogError(f"undecodable data: {exc}") from None


def decode_order_filled(
    entry: dict[str, Any], exchanges: set[str], block_time: datetime, received_at: datetime
) -> WhaleTrade:
    """Decode a V2 or V1 OrderFilled log into the order owner's trade (pure)."""
    topics = entry.get("topics") or []
    if len(topics) != 4:
        raise LogError(f"expected 4 topics, got {len(topics)}")
    topic0 = hex_text(topics[0]).lower()
    maker = _address(topics[2])
    taker = _address(topics[3])
    data = entry.get("data", "0x")
    if topic0 == ORDER_FILLED_V2:
        side_raw, token, maker_amt, taker_amt, fee = _decode(_V2_READ, data, _V2_HEX_LEN)
        if side_raw == 0:
            side = Side.BUY
        elif side_raw == 1:
            side = Side.SELL
        else:
            raise LogError("bad side")
    elif topic0 == ORDER_FILLED_V1:
        maker_asset, taker_asset, maker_amt, taker_amt, fee = _decode(_V1_READ, data, _V1_HEX_LEN)
        if maker_asset != 0 and taker_asset != 0:
            raise LogError("neg-risk conversion leg (both assets are tokens)")
        side = Side.BUY if maker_asset == 0 else Side.SELL
        token = taker_asset if side is Side.BUY else maker_asset
    else:
        raise LogError("not an OrderFilled topic")
    # BUY: the owner gave collateral (maker amount) for shares; SELL: gave shares for collateral.
    collateral, shares_units = (
        (maker_amt, taker_amt) if side is Side.BUY else (taker_amt, maker_amt)
    )
    if shares_units == 0:
        raise LogError("zero shares")
    if collateral <= 0 or collateral > shares_units:  # price = collateral / shares in (0, 1]
        raise LogError(f"absurd price {Decimal(collateral) / Decimal(shares_units)}")
    price = Decimal(collateral) / Decimal(shares_units)
    return WhaleTrade(
        wallet=maker,
        token_id=str(token),
        side=side,
        price=price.quantize(MICRO),
        shares=Decimal(shares_units) / UNIT,
        usd=usd(Decimal(collateral) / UNIT),
        tx_hash=hex_text(entry.get("transactionHash", "")).lower(),
        source=TradeSource.CHAIN,
        match_time=block_time,
        received_at=received_at,
        role=Role.TAKER if taker in exchanges else Role.MAKER,
        fee_usd=usd(Decimal(fee) / UNIT),
        block_number=hex_int(entry.get("blockNumber", 0)),
        log_index=hex_int(entry.get("logIndex", 0)),
    )
