"""Builds wire payloads exactly as Polymarket shapes them (see ../shared/polymarket/samples).

String numbers, worst-first book levels, Gamma's JSON-in-JSON fields, RTDS envelopes and V2
``OrderFilled`` logs ABI-encoded with the real event layout (PROTOCOL.md §1, §1c, §3, §4, §5).
"""

from __future__ import annotations

import json
import zlib
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
from aiohttp import web

from polytui.sim.scenario import Scenario, SimMarket, SimTrade, book_levels


def _decimal_number(value: Any) -> orjson.Fragment:
    if isinstance(value, Decimal) and value.is_finite():
        return orjson.Fragment(format(value, "f"))
    raise TypeError(f"not JSON: {type(value).__name__}")


def dumps(payload: Any) -> str:
    """JSON text; a Decimal is written as a JSON number from its own digits.

    Where the APIs send numbers rather than strings (RTDS, data-api), amounts stay Decimal up to
    the wire instead of passing through a binary float.
    """
    return orjson.dumps(payload, default=_decimal_number, option=orjson.OPT_NON_STR_KEYS).decode()


def json_response(payload: Any, *, status: int = 200) -> web.Response:
    """An HTTP JSON answer written by :func:`dumps`."""
    return web.json_response(payload, status=status, dumps=dumps)


ORDER_FILLED_V2 = "0xd543adfd945773f1a62f74f0ee55a5e3b9b1a28262980ba90b1a89f2ea84d8ee"
EXCHANGE_V2 = "0xE111180000d2663C0091e4f400237545B87B996B"


def stable_hash(*parts: object) -> int:
    """A hash that is the same in every process (``hash()`` of str is randomized)."""
    return zlib.crc32(repr(parts).encode())


def iso(ts: float) -> str:
    """Unix seconds → ISO-8601 UTC with a Z."""
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def book_event(
    market: SimMarket, token: str, mid: Decimal, step: int, ts_ms: int
) -> dict[str, Any]:
    """A ``book`` event (levels worst-first)."""
    bids, asks = book_levels(mid, stable_hash(token, step))
    return {
        "event_type": "book",
        "asset_id": token,
        "market": market.condition_id,
        "bids": [{"price": p, "size": s} for p, s in bids],
        "asks": [{"price": p, "size": s} for p, s in asks],
        "timestamp": str(ts_ms),
        "hash": f"{stable_hash(token, step, 'h'):040x}",
        "tick_size": "0.01",
        "last_trade_price": "",
    }


def price_change_event(
    market: SimMarket, changes: list[tuple[str, str, str, str]], ts_ms: int
) -> dict[str, Any]:
    """A ``price_change`` (new schema); changes are (token, price, size, side)."""
    return {
        "event_type": "price_change",
        "market": market.condition_id,
        "timestamp": str(ts_ms),
        "price_changes": [
            {
                "asset_id": token,
                "price": price,
                "size": size,
                "side": side,
                "hash": f"{stable_hash(token, price, size, ts_ms):040x}",
                "best_bid": "",
                "best_ask": "",
            }
            for token, price, size, side in changes
        ],
    }


def last_trade_event(market: SimMarket, trade: SimTrade, ts_ms: int) -> dict[str, Any]:
    """``last_trade_price`` for a whale fill (taker side)."""
    return {
        "event_type": "last_trade_price",
        "asset_id": trade.token_id,
        "market": market.condition_id,
        "price": str(trade.price),
        "size": str(trade.shares),
        "fee_rate_bps": "0",
        "side": trade.side,
        "timestamp": str(ts_ms),
        "transaction_hash": trade.tx_hash,
    }


def resolved_event(market: SimMarket, ts_ms: int) -> dict[str, Any]:
    """``market_resolved``."""
    return {
        "event_type": "market_resolved",
        "id": str(1000 + market.index),
        "market": market.condition_id,
        "assets_ids": [market.yes_token, market.no_token],
        "winning_asset_id": market.winner,
        "winning_outcome": "Yes" if market.yes_wins else "No",
        "timestamp": str(ts_ms),
        "tags": [],
    }


def ctf_token_id(position_id: str) -> str:
    """The CTF token id a Protocol V2 market's record also lists (not its trading id)."""
    return str(int(position_id) + 1)


def gamma_record(
    market: SimMarket,
    *,
    end_wall: float,
    resolved: bool,
    yes_mid: Decimal,
    protocol_v2: bool = False,
) -> dict[str, Any]:
    """A Gamma ``/markets`` record with the 2026 fee fields.

    A Protocol V2 market has ``version: "v2"`` and its trading ids in ``positionIds`` (a plain
    array); its ``clobTokenIds`` then hold other ids, as "choose the ID field by version, even
    when both fields are present" warns."""
    if resolved:
        prices = ["1", "0"] if market.yes_wins else ["0", "1"]
    else:
        prices = [str(yes_mid), str(Decimal(1) - yes_mid)]
    record: dict[str, Any] = {
        "id": str(1000 + market.index),
        "question": market.question,
        "conditionId": market.condition_id,
        "slug": market.slug,
        "endDate": iso(end_wall),
        "endDateIso": iso(end_wall)[:10],
        "outcomes": json.dumps(["Yes", "No"]),
        "outcomePrices": json.dumps(prices),
        "clobTokenIds": json.dumps([market.yes_token, market.no_token]),
        "version": "v1",
        "active": True,
        "closed": resolved,
        "acceptingOrders": not resolved,
        "enableOrderBook": True,
        "orderPriceMinTickSize": 0.01,
        "orderMinSize": 5,
        "negRisk": False,
        "feesEnabled": market.fee is not None,
        "tags": [{"id": "1", "label": market.fee_type or "general", "slug": market.fee_type}],
    }
    if market.fee is not None:
        record["feeSchedule"] = market.fee
        record["feeType"] = market.fee_type
    if resolved:
        record["umaResolutionStatus"] = "resolved"
    if protocol_v2:
        record["version"] = "v2"
        record["positionIds"] = [market.yes_token, market.no_token]
        record["clobTokenIds"] = json.dumps(
            [ctf_token_id(market.yes_token), ctf_token_id(market.no_token)]
        )
    return record


def rtds_frame(
    scenario: Scenario, trade: SimTrade, match_wall: float, now_ms: int
) -> dict[str, Any]:
    """An RTDS ``activity/trades`` envelope (PROTOCOL.md §1c)."""
    market = scenario.market(trade.market)
    whale = next(w for w in scenario.whales if w.wallet == trade.wallet)
    return {
        "connection_id": "sim",
        "payload": {
            "asset": trade.token_id,
            "bio": "",
            "conditionId": market.condition_id,
            "eventSlug": market.slug,
            "icon": "",
            "name": whale.alias,
            "outcome": trade.outcome,
            "outcomeIndex": trade.outcome_index,
            "price": trade.price,
            "profileImage": "",
            # Checksum-like mixed case, as RTDS sometimes sends; clients must lower-case.
            "proxyWallet": "0x" + trade.wallet[2:].upper() if trade.market % 2 else trade.wallet,
            "pseudonym": whale.alias,
            "side": trade.side,
            "size": trade.shares,
            "slug": market.slug,
            "timestamp": int(match_wall),
            "title": market.question,
            "transactionHash": trade.tx_hash,
        },
        "timestamp": now_ms,
        "topic": "activity",
        "type": "trades",
    }


def dataapi_row(scenario: Scenario, trade: SimTrade, match_wall: float) -> dict[str, Any]:
    """A data-api ``/trades`` row (numbers are JSON numbers there, written from Decimal)."""
    market = scenario.market(trade.market)
    whale = next(w for w in scenario.whales if w.wallet == trade.wallet)
    return {
        "proxyWallet": trade.wallet,
        "side": trade.side,
        "asset": trade.token_id,
        "conditionId": market.condition_id,
        "size": trade.shares,
        "price": trade.price,
        "timestamp": int(match_wall),
        "title": market.question,
        "slug": market.slug,
        "icon": "",
        "eventSlug": market.slug,
        "outcome": trade.outcome,
        "outcomeIndex": trade.outcome_index,
        "name": whale.alias,
        "pseudonym": whale.alias,
        "bio": "",
        "profileImage": "",
        "profileImageOptimized": "",
        "transactionHash": trade.tx_hash,
    }


def _word(value: int) -> str:
    return f"{value:064x}"


def _address_topic(address: str) -> str:
    return "0x" + address.lower().removeprefix("0x").rjust(64, "0")


def order_filled_log(
    trade: SimTrade, *, exchange: str, block_hash: str, log_index: int, removed: bool = False
) -> dict[str, Any]:
    """A V2 ``OrderFilled`` log for the whale's taking order (taker topic = the exchange)."""
    shares_micro = int(trade.shares * 1_000_000)
    usd_micro = int((trade.shares * trade.price).quantize(Decimal("0.000001")) * 1_000_000)
    side = 0 if trade.side == "BUY" else 1
    maker_amount, taker_amount = (
        (usd_micro, shares_micro) if side == 0 else (shares_micro, usd_micro)
    )
    data = "0x" + "".join(
        [
            _word(side),
            _word(int(trade.token_id)),
            _word(maker_amount),
            _word(taker_amount),
            _word(0),
            _word(0),
            _word(0),
        ]
    )
    return {
        "address": exchange,
        "topics": [
            ORDER_FILLED_V2,
            trade.order_hash,
            _address_topic(trade.wallet),
            _address_topic(exchange),
        ],
        "data": data,
        "blockNumber": hex(trade.block),
        "blockHash": block_hash,
        "transactionHash": trade.tx_hash,
        "transactionIndex": "0x0",
        "logIndex": hex(log_index),
        "removed": removed,
    }
