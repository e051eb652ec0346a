"""CTF Exchange V2 ``matchOrders`` calldata → the orders it matches, and their owners' trades.

The operator settles every CLOB match with one ``matchOrders`` call (the V2 exchange has no
``fillOrder``; HISTORY-MEMPOOL-REMOTE.md §2.3). Its inputs, from the official exchange ABI
(``shared/polymarket/samples/abi_exchange_v2.json``; the tests compare this copy with it):
``matchOrders(bytes32 conditionId, Order takerOrder, Order[] makerOrders, uint256
takerFillAmount, uint256[] makerFillAmounts, uint256 takerFeeAmount, uint256[] makerFeeAmounts)``.
The calldata is decoded with ``eth_abi`` against those types, never by slicing words.

Reading it: the taker order's ``maker`` is the whale (the funder wallet, the same address the
``OrderFilled`` log names in topic 2; ``tx.from`` is an operator, never the trader); side and
token come from the order itself. ``takerFillAmount`` is counted in the taker's maker asset
(pUSD for a BUY, shares for a SELL), ``makerFillAmounts[i]`` likewise in maker *i*'s; what each
side receives follows from its own order's price, so a pending trade is sized at the order's
limit price. The executed price is only final in the ``OrderFilled`` logs: a pending trade is
tentative until they arrive.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from polytui.model import MICRO, Role, Side, TradeSource, WhaleTrade, usd

UNIT = Decimal(1_000_000)
MAX_PRICE = Decimal(1)
# uint256 amounts beyond this (10^18 pUSD or shares, far past any supply) are no real order, and
# held to the micro-unit they would exceed Decimal's 28 digits (InvalidOperation, not a refusal).
MAX_UNITS = 10**24

# The official ABI's Order struct and matchOrders inputs, in order (name, ABI type).
ORDER_FIELDS: tuple[tuple[str, str], ...] = (
    ("salt", "uint256"),
    ("maker", "address"),
    ("signer", "address"),
    ("tokenId", "uint256"),
    ("makerAmount", "uint256"),
    ("takerAmount", "uint256"),
    ("side", "uint8"),
    ("signatureType", "uint8"),
    ("timestamp", "uint256"),
    ("metadata", "bytes32"),
    ("builder", "bytes32"),
    ("signature", "bytes"),
)
ORDER_TYPE = "(" + ",".join(kind for _, kind in ORDER_FIELDS) + ")"
MATCH_ORDERS_INPUTS: tuple[tuple[str, str], ...] = (
    ("conditionId", "bytes32"),
    ("takerOrder", ORDER_TYPE),
    ("makerOrders", ORDER_TYPE + "[]"),
    ("takerFillAmount", "uint256"),
    ("makerFillAmounts", "uint256[]"),
    ("takerFeeAmount", "uint256"),
    ("makerFeeAmounts", "uint256[]"),
)
MATCH_ORDERS_TYPES: tuple[str, ...] = tuple(kind for _, kind in MATCH_ORDERS_INPUTS)
MATCH_ORDERS_SIGNATURE = "matchOrders(" + ",".join(MATCH_ORDERS_TYPES) + ")"
# keccak-256 of the signature, first four bytes (the tests re-derive it).
MATCH_ORDERS_SELECTOR = "0x3c2b4399"
_SELECTOR = bytes.fromhex(MATCH_ORDERS_SELECTOR[2:])
# The order's own timestamp is the client's clock: trusted as the match time only this close.
TIMESTAMP_SLACK = timedelta(seconds=30)


class CalldataError(ValueError):
    """Calldata that is not a usable ``matchOrders`` call."""


@dataclass(frozen=True, slots=True)
class OrderTerms:
    """One signed order as the call carries it (amounts in 6-decimal units)."""

    maker: str
    signer: str
    token_id: int
    maker_amount: int
    taker_amount: int
    side: Side
    signature_type: int
    timestamp_ms: int


@dataclass(frozen=True, slots=True)
class MatchOrders:
    """A decoded ``matchOrders`` call."""

    condition_id: str
    taker: OrderTerms
    makers: tuple[OrderTerms, ...]
    taker_fill: int
    maker_fills: tuple[int, ...]
    taker_fee: int
    maker_fees: tuple[int, ...]


def is_match_orders(calldata: str) -> bool:
    """True when hex calldata starts with the ``matchOrders`` selector (cheap pre-filter)."""
    return calldata[:10].lower() == MATCH_ORDERS_SELECTOR


def _order(raw: object) -> OrderTerms:
    if not isinstance(raw, tuple) or len(raw) != len(ORDER_FIELDS):
        raise CalldataError("an order is not the 12-field Order struct")
    _salt, maker, signer, token, maker_amt, taker_amt, side, sig_type, stamp, *_rest = raw
    if side not in (0, 1):
        raise CalldataError(f"bad side {side}")
    if maker_amt <= 0 or taker_amt <= 0:
        raise CalldataError("an order with a zero amount")
    return OrderTerms(
        maker=str(maker).lower(),
        signer=str(signer).lower(),
        token_id=int(token),
        maker_amount=int(maker_amt),
        taker_amount=int(taker_amt),
        side=Side.BUY if side == 0 else Side.SELL,
        signature_type=int(sig_type),
        timestamp_ms=int(stamp),
    )


def decode_match_orders(calldata: bytes) -> MatchOrders:
    """Decode ``matchOrders`` calldata (selector included) with ``eth_abi`` (strict)."""
    from eth_abi import decode
    from eth_abi.exceptions import DecodingError

    if calldata[:4] != _SELECTOR:
        raise CalldataError("not a matchOrders call")
    try:
        values = decode(list(MATCH_ORDERS_TYPES), calldata[4:])
    except (DecodingError, ValueError, OverflowError) as exc:
        raise CalldataError(f"undecodable matchOrders calldata: {exc}") from None
    condition, taker, makers, taker_fill, maker_fills, taker_fee, maker_fees = values
    if not (len(makers) == len(maker_fills) == len(maker_fees)):
        raise CalldataError("maker orders, fills and fees differ in length")
    return MatchOrders(
        condition_id="0x" + bytes(condition).hex(),
        taker=_order(taker),
        makers=tuple(_order(m) for m in makers),
        taker_fill=int(taker_fill),
        maker_fills=tuple(int(x) for x in maker_fills),
        taker_fee=int(taker_fee),
        maker_fees=tuple(int(x) for x in maker_fees),
    )


def order_trade(
    order: OrderTerms,
    fill: int,
    fee: int,
    *,
    role: Role,
    tx_hash: str,
    condition_id: str,
    match_time: datetime,
    received_at: datetime,
) -> WhaleTrade:
    """The order owner's tentative trade: ``fill`` of its maker asset at its limit price."""
    if fill <= 0:
        raise CalldataError("zero fill")
    if max(fill, fee, order.maker_amount, order.taker_amount) >= MAX_UNITS:
        raise CalldataError("absurd order amounts")
    # The order's price: BUY gives pUSD (maker amount) for shares, SELL gives shares for pUSD.
    if order.side is Side.BUY:
        collateral, shares_units = fill, fill * order.taker_amount // order.maker_amount
        price = Decimal(order.maker_amount) / Decimal(order.taker_amount)
    else:
        shares_units, collateral = fill, fill * order.taker_amount // order.maker_amount
        price = Decimal(order.taker_amount) / Decimal(order.maker_amount)
    if shares_units <= 0 or price <= 0 or price > MAX_PRICE:
        raise CalldataError(f"absurd order price {price}")
    return WhaleTrade(
        wallet=order.maker,
        token_id=str(order.token_id),
        side=order.side,
        price=price.quantize(MICRO),
        shares=Decimal(shares_units) / UNIT,
        usd=usd(Decimal(collateral) / UNIT),
        tx_hash=tx_hash,
        source=TradeSource.MEMPOOL,
        match_time=match_time,
        received_at=received_at,
        condition_id=condition_id,
        role=role,
        fee_usd=usd(Decimal(fee) / UNIT),
        pending_tx=True,
    )


def match_time_of(match: MatchOrders, received_at: datetime) -> datetime:
    """When the match happened, as well as the call tells: the taker order's own timestamp
    (created just before it crossed), if it is within ``TIMESTAMP_SLACK`` of our receipt;
    otherwise the receipt itself."""
    stamp_ms = match.taker.timestamp_ms
    try:
        at = datetime.fromtimestamp(stamp_ms / 1000, tz=UTC)
    except (OverflowError, ValueError, OSError):
        return received_at
    if received_at - TIMESTAMP_SLACK <= at <= received_at:
        return at
    return received_at


def pending_trades(match: MatchOrders, tx_hash: str, received_at: datetime) -> list[WhaleTrade]:
    """Every order owner's tentative trade in one call: the taker's first, then each maker's.

    An order that cannot be priced is left out; the others still count.
    """
    at = match_time_of(match, received_at)
    legs = [(match.taker, match.taker_fill, match.taker_fee, Role.TAKER)]
    legs += [
        (order, fill, fee, Role.MAKER)
        for order, fill, fee in zip(match.makers, match.maker_fills, match.maker_fees, strict=True)
    ]
    trades: list[WhaleTrade] = []
    for order, fill, fee, role in legs:
        try:
            trades.append(
                order_trade(
                    order,
                    fill,
                    fee,
                    role=role,
                    tx_hash=tx_hash,
                    condition_id=match.condition_id,
                    match_time=at,
                    received_at=received_at,
                )
            )
        except CalldataError:
            continue
    return trades
