"""The exchange's JSON shapes: orders, trades, user-channel events, data-api rows, replies, errors.

Pure functions of the exchange's records (PROTOCOL.md §1b, §2, §7); amounts are decimal strings
on the CLOB and JSON numbers (Decimal up to :func:`polytui.sim.wire.dumps`) on the data-api.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from polytui.sim.exchange.records import ApiKey, SimAccount, SimFill, SimOrder
from polytui.sim.exchange.rules import num, usd_up
from polytui.sim.wire import iso
from polytui.sim.world import SimWorld

END_CURSOR = "LTE="
NOBODY = "00000000-0000-0000-0000-000000000000"


def order_json(order: SimOrder) -> dict[str, Any]:
    """An order as ``GET /data/order/{id}`` shows it (REST prefixes: ``ORDER_STATUS_LIVE``).

    ``original_size`` echoes the signed makerAmount for a FAK/FOK buy: its pUSD budget, not
    shares (``size_matched`` stays in shares).
    """
    market_buy = order.side == "BUY" and order.order_type in ("FAK", "FOK")
    return {
        "id": order.id,
        "status": "ORDER_STATUS_" + order.status,
        "owner": order.owner,
        "maker_address": order.maker,
        "market": order.market.condition_id,
        "asset_id": order.token,
        "side": order.side,
        "original_size": num(order.amount if market_buy else order.size),
        "size_matched": num(order.matched),
        "price": num(order.price),
        "outcome": order.outcome,
        "expiration": str(order.expiration),
        "order_type": order.order_type,
        "associate_trades": list(order.trades),
        "created_at": order.created_at,
    }


def _maker_order(fill: SimFill, order_id: str, owner: str, maker: str, side: str) -> dict[str, Any]:
    order = fill.order
    return {
        "asset_id": order.token,
        "matched_amount": num(fill.size),
        "order_id": order_id,
        "outcome": order.outcome,
        "owner": owner,
        "price": num(fill.price),
        "fee_rate_bps": "0",
        "maker_address": maker,
        "side": side,
    }


def trade_json(fill: SimFill) -> dict[str, Any]:
    """A trade as ``GET /data/trades`` shows it (our order as taker or as the maker side)."""
    order = fill.order
    taker = fill.role == "TAKER"
    if taker:
        other_side = "SELL" if order.side == "BUY" else "BUY"
        maker = _maker_order(fill, fill.counter_order, NOBODY, fill.counter_address, other_side)
    else:
        maker = _maker_order(fill, order.id, order.owner, order.maker, order.side)
    # A trade's token and price are the taker's: against a complementary taker (a mint or a
    # merge, on the same side as ours) that is the other outcome at 1 - price.
    token, side, price, outcome = order.token, order.side, fill.price, order.outcome
    if not taker and fill.complement:
        market = order.market
        token = market.no_token if order.token == market.yes_token else market.yes_token
        price = 1 - fill.price
        outcome = "No" if order.outcome == "Yes" else "Yes"
    return {
        "id": fill.id,
        "taker_order_id": order.id if taker else fill.counter_order,
        "market": order.market.condition_id,
        "asset_id": token,
        "side": side,
        "size": num(fill.size),
        "fee_rate_bps": "0",
        "price": num(price),
        # REST sends the prefixed constant; the user channel the plain value (trade_event).
        "status": "TRADE_STATUS_" + fill.status,
        "match_time": str(fill.match_time),
        "last_update": str(fill.last_update),
        "outcome": outcome,
        "bucket_index": 0,
        "owner": order.owner,
        "maker_address": order.maker,
        "transaction_hash": fill.tx_hash,
        "maker_orders": [maker],
        "trader_side": fill.role,
    }


def order_event(order: SimOrder, kind: str) -> dict[str, Any]:
    """A user-channel ``order`` event (PLACEMENT, UPDATE or CANCELLATION) of the order now."""
    event = order_json(order)
    event.update(
        {
            "status": order.status,
            "event_type": "order",
            "order_owner": order.owner,
            "associate_trades": list(order.trades) or None,
            "type": kind,
            "created_at": str(order.created_at),
            "timestamp": str(int(time.time())),
        }
    )
    return event


def trade_event(fill: SimFill) -> dict[str, Any]:
    """A user-channel ``trade`` event at the fill's current status."""
    event = trade_json(fill)
    event.update(
        {
            "status": fill.status,
            "event_type": "trade",
            "type": "TRADE",
            "trade_owner": fill.order.owner,
            "matchtime": str(fill.match_time),
            "timestamp": str(fill.last_update),
        }
    )
    return event


def success(order_id: str, status: str, fills: list[SimFill]) -> dict[str, Any]:
    """``POST /order``'s accepted reply (amounts "" when nothing matched)."""
    making = taking = ""
    if fills:
        shares = sum((f.size for f in fills), Decimal(0))
        usd = sum((usd_up(f.size * f.price) for f in fills), Decimal(0))
        buy = fills[0].order.side == "BUY"
        making, taking = (num(usd), num(shares)) if buy else (num(shares), num(usd))
    return {
        "success": True,
        "errorMsg": "",
        "orderID": order_id,
        "status": status,
        "makingAmount": making,
        "takingAmount": taking,
        "transactionsHashes": [f.tx_hash for f in fills],
        "tradeIDs": [f.id for f in fills],
    }


def failure(message: str) -> dict[str, Any]:
    """One refused order inside a ``POST /orders`` batch reply."""
    return {
        "success": False,
        "errorMsg": message,
        "orderID": "",
        "status": "",
        "makingAmount": "",
        "takingAmount": "",
    }


def page(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """A CLOB list reply (one page, always the last)."""
    limit = max(500, len(rows))
    return {"data": rows, "next_cursor": END_CURSOR, "limit": limit, "count": len(rows)}


def creds_json(creds: ApiKey) -> dict[str, str]:
    """L1 endpoints' credential reply."""
    return {"apiKey": creds.key, "secret": creds.secret, "passphrase": creds.passphrase}


def dataapi_trade(fill: SimFill) -> dict[str, Any]:
    """A data-api ``/trades`` row of one settled fill."""
    order = fill.order
    market = order.market
    return {
        "proxyWallet": order.maker,
        "side": order.side,
        "asset": order.token,
        "conditionId": market.condition_id,
        "size": fill.size,
        "price": fill.price,
        "timestamp": fill.match_time,
        "title": market.question,
        "slug": market.slug,
        "icon": "",
        "eventSlug": market.slug,
        "outcome": order.outcome,
        "outcomeIndex": 0 if order.outcome == "Yes" else 1,
        "name": "",
        "pseudonym": "",
        "bio": "",
        "profileImage": "",
        "profileImageOptimized": "",
        "transactionHash": fill.tx_hash,
    }


def dataapi_position(
    world: SimWorld, account: SimAccount, token: str, size: Decimal, t: float
) -> dict[str, Any]:
    """A data-api ``/positions`` row of one held token, valued at the mid of sim time ``t``."""
    found = world.token(token)
    assert found is not None, token
    market, is_yes = found
    cost = account.cost.get(token, Decimal(0))
    avg = cost / size
    cur = market.yes_price(t) if is_yes else 1 - market.yes_price(t)
    value = size * cur
    return {
        "proxyWallet": account.address,
        "asset": token,
        "conditionId": market.condition_id,
        "size": size,
        "avgPrice": avg,
        "initialValue": cost,
        "currentValue": value,
        "cashPnl": value - cost,
        "percentPnl": (value - cost) / cost * 100 if cost else Decimal(0),
        "totalBought": size,
        "realizedPnl": Decimal(0),
        "percentRealizedPnl": Decimal(0),
        "curPrice": cur,
        "redeemable": world.is_resolved(market),
        "mergeable": False,
        "title": market.question,
        "slug": market.slug,
        "icon": "",
        "eventId": str(1000 + market.index),
        "eventSlug": market.slug,
        "outcome": "Yes" if is_yes else "No",
        "outcomeIndex": 0 if is_yes else 1,
        "oppositeOutcome": "No" if is_yes else "Yes",
        "oppositeAsset": market.no_token if is_yes else market.yes_token,
        "endDate": iso(world.wall(market.end_s))[:10],
        "negativeRisk": False,
    }
