"""Signing through the official py-clob-client-v2: order amounts, EIP-712 orders, L2 headers.

Everything that touches the private key is here. The amounts are computed in Decimal and handed
to the client as integer micro-units, following its own rounding, so no binary float touches an
amount. ``sign`` runs the client's ``ExchangeOrderBuilderV2`` (blocking; the broker calls it in
a worker thread); its hash is the CLOB's order id, known before the POST.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from polytui.amounts import floor_shares, floor_to, from_micro, to_micro
from polytui.execution.live.credentials import SIGNATURE_TYPES, LiveCredentials
from polytui.execution.rules import (
    MIN_MARKETABLE_BUY_USD,
    ROUNDING,
    below_minimum,
    clob_tick,
    market_refusal,
    round_to_tick,
)
from polytui.model import Market, Order, OrderType, Side
from polytui.settings import LiveSettings

BYTES32_ZERO = "0x" + "0" * 64


def _floor_dp(value: Decimal, places: int) -> Decimal:
    return floor_to(value, Decimal(1).scaleb(-places))


def _micro(amount: Decimal) -> int:
    return to_micro(amount, rounding=ROUND_FLOOR)


def order_amounts(
    side: Side, shares: Decimal, price: Decimal, tick: Decimal, order_type: OrderType
) -> tuple[int, int]:
    """(makerAmount, takerAmount) in micro-units, as py-clob-client-v2 would sign them.

    Limit orders (GTC/GTD): BUY gives shares × price pUSD for shares; SELL the reverse. With
    price on the tick and shares at 2 decimals the product is exact. Marketable orders
    (FAK/FOK): a BUY gives pUSD rounded down to 2 decimals for pUSD / price shares (rounded
    down to the tick's amount decimals); a SELL gives shares for shares × price.
    """
    if tick not in ROUNDING:
        raise ValueError(f"unsupported tick size {tick}")
    _, size_dp, amount_dp = ROUNDING[tick]
    size = _floor_dp(shares, size_dp)
    marketable = order_type in (OrderType.FAK, OrderType.FOK)
    if side is Side.BUY:
        if marketable:
            spend = _floor_dp(size * price, size_dp)
            get = _floor_dp(spend / price, amount_dp)
        else:
            spend, get = size * price, size
        return _micro(spend), _micro(get)
    proceeds = _floor_dp(size * price, amount_dp)
    return _micro(size), _micro(proceeds)


@dataclass(frozen=True, slots=True)
class PricedOrder:
    """An order that passed the market's rules: what will be signed."""

    tick: Decimal
    limit: Decimal
    shares: Decimal
    asked: Decimal
    maker: int
    taker: int


def price_order(
    order: Order, market: Market | None, *, exit_resting: bool = False
) -> PricedOrder | str:
    """The market's rules (PROTOCOL.md §2): the signed amounts, or why the order is refused."""
    refusal = market_refusal(market)
    if refusal is not None or market is None:
        return refusal or "no market metadata for this token"
    if market.version == "v2":
        return (
            'a Protocol V2 market (Gamma version "v2", ExchangeV3): polytui signs CLOB V2 '
            "orders for ExchangeV2 only, so it is not sent"
        )
    tick = clob_tick(market.tick_size)
    if tick is None:
        return f"unsupported tick size {market.tick_size}"
    limit = round_to_tick(order.limit_price, tick, order.side)
    if not (tick <= limit <= 1 - tick):
        return f"limit {limit} is outside [{tick}, {1 - tick}]"
    shares = floor_shares(order.shares)
    # The market's share minimum is for orders that may rest; a marketable (FAK/FOK) buy needs
    # only 1 pUSD of notional — what it signs to spend, in whole cents.
    market_buy = order.side is Side.BUY and order.order_type in (OrderType.FAK, OrderType.FOK)
    if not market_buy and (small := below_minimum(shares, market)) is not None:
        return small
    if exit_resting:
        return "an exit order for this token is already resting"
    maker, taker = order_amounts(order.side, shares, limit, tick, order.order_type)
    if market_buy and from_micro(maker) < MIN_MARKETABLE_BUY_USD:
        return f"a marketable buy must be worth at least {MIN_MARKETABLE_BUY_USD} pUSD"
    # The shares the signed order asks for (a marketable buy: pUSD / limit, rounded down).
    asked = from_micro(taker if order.side is Side.BUY else maker)
    if not market_buy and (small := below_minimum(asked, market)) is not None:
        return small
    return PricedOrder(tick, limit, shares, asked, maker, taker)


@dataclass(slots=True)
class SignedOrder:
    """A signed order: its CLOB id (the EIP-712 hash) and the JSON body to POST."""

    clob_id: str
    body: dict[str, Any]
    salt: str
    signed_ms: int
    maker_amount: int
    taker_amount: int


class OrderSigner:
    """The official client's signer, loaded on first use; also the HMAC of L2 requests.

    ``skew_s`` is the server clock minus ours (set by the start-up checks); every timestamp
    signed here is corrected by it.
    """

    def __init__(self, live: LiveSettings, credentials: LiveCredentials) -> None:
        self.live = live
        self._creds = credentials
        self.signature_type = SIGNATURE_TYPES[live.signature_type]
        self.skew_s = 0.0
        self._signer: Any = None
        self._address = ""

    def load(self) -> str:
        """The signing address (the private key's EOA); blocking on first call."""
        if self._signer is None:
            from py_clob_client_v2.signer import Signer

            self._signer = Signer(self._creds.private_key, self.live.chain_id)
            self._address = str(self._signer.address())
        return self._address

    @property
    def funder(self) -> str:
        """The address holding the funds: the proxy/safe/deposit wallet, or the EOA itself."""
        return self.live.funder or self._address

    def now_s(self) -> float:
        """Our clock in the CLOB's seconds."""
        return time.time() + self.skew_s

    def sign(
        self, side: Side, token_id: str, maker: int, taker: int, neg_risk: bool, expiration: int
    ) -> SignedOrder:
        """Build and EIP-712 sign one order (domain "Polymarket CTF Exchange" version "2")."""
        from py_clob_client_v2.config import get_contract_config
        from py_clob_client_v2.order_utils.exchange_order_builder_v2 import (
            ExchangeOrderBuilderV2,
        )
        from py_clob_client_v2.order_utils.model.order_data_v2 import (
            OrderDataV2,
            order_to_json_v2,
        )
        from py_clob_client_v2.order_utils.model.side import Side as ClobSide
        from py_clob_client_v2.order_utils.model.signature_type_v2 import SignatureTypeV2

        self.load()
        contracts = get_contract_config(self.live.chain_id)
        exchange = contracts.neg_risk_exchange_v2 if neg_risk else contracts.exchange_v2
        builder = ExchangeOrderBuilderV2(exchange, self.live.chain_id, self._signer)
        signed_ms = int(time.time() * 1000 + self.skew_s * 1000)
        # A deposit wallet (POLY_1271) is maker and signer; the client wraps the key's signature
        # for it. Otherwise the signer is the key's EOA and the maker the funder (or the EOA).
        signer = self.funder if self.signature_type == SignatureTypeV2.POLY_1271 else self._address
        data = OrderDataV2(
            maker=self.funder,
            tokenId=token_id,
            makerAmount=str(maker),
            takerAmount=str(taker),
            side=ClobSide.BUY if side is Side.BUY else ClobSide.SELL,
            signer=signer,
            signatureType=SignatureTypeV2(self.signature_type),
            timestamp=str(signed_ms),
            metadata=BYTES32_ZERO,
            builder=BYTES32_ZERO,
            expiration=str(expiration),
        )
        signed = builder.build_signed_order(data)
        clob_id = builder.build_order_hash(builder.build_order_typed_data(signed))
        body = order_to_json_v2(signed, self._creds.api_key, "GTC")
        return SignedOrder(clob_id, body, str(signed.salt), signed_ms, maker, taker)

    def l2_headers(self, method: str, path: str, body: str | None = None) -> dict[str, str]:
        """The official ``create_level_2_headers``: HMAC over the exact body sent."""
        from py_clob_client_v2.clob_types import ApiCreds, RequestArgs
        from py_clob_client_v2.headers.headers import create_level_2_headers

        self.load()  # normally done by start(); the kill switch may come first
        creds = ApiCreds(self._creds.api_key, self._creds.api_secret, self._creds.api_passphrase)
        args = RequestArgs(method=method, request_path=path, body=body, serialized_body=body)
        headers = create_level_2_headers(
            self._signer, creds, args, timestamp=int(time.time() + self.skew_s)
        )
        headers["Content-Type"] = "application/json"
        return dict(headers)

    def user_auth(self) -> dict[str, str]:
        """The user channel's subscribe credentials."""
        return {
            "apiKey": self._creds.api_key,
            "secret": self._creds.api_secret,
            "passphrase": self._creds.api_passphrase,
        }
