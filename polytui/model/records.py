"""The journal form of the trading records: each ``Order``, ``Fill`` and ``TradeIntent`` as the
journal's ``order`` / ``fill`` / ``intent`` events (and the approval queue's saved state) hold it.

One home for these shapes, next to the types they serialise: Decimals and times are written as
text, enums as their value, so a record reads back exactly (``intent_from_record``) and
``polytui report`` reads the same fields the engine wrote.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from polytui.model.orders import Fill, IntentStatus, Order, Side, TradeIntent


def order_to_record(order: Order) -> dict[str, Any]:
    """An ``order`` event: one status of one order."""
    return {
        "id": order.id,
        "intent_id": order.intent_id,
        "token_id": order.token_id,
        "side": order.side.value,
        "shares": str(order.shares),
        "limit_price": str(order.limit_price),
        "order_type": order.order_type.value,
        "status": order.status.value,
        "reason": order.reason,
        "broker": order.broker,
    }


def fill_to_record(fill: Fill) -> dict[str, Any]:
    """A ``fill`` event: shares that changed hands, at what price and fee."""
    return {
        "id": fill.id,
        "order_id": fill.order_id,
        "intent_id": fill.intent_id,
        "token_id": fill.token_id,
        "condition_id": fill.condition_id,
        "side": fill.side.value,
        "shares": str(fill.shares),
        "avg_price": str(fill.avg_price),
        "fee_usd": str(fill.fee_usd),
        "filled_at": fill.filled_at.isoformat(),
        "whale_price": str(fill.whale_price),
        "source": fill.source,
        "broker": fill.broker,
    }


def intent_to_record(i: TradeIntent) -> dict[str, Any]:
    """JSON-able intent (Decimal and datetimes as text)."""
    return {
        "id": i.id,
        "signal_id": i.signal_id,
        "token_id": i.token_id,
        "condition_id": i.condition_id,
        "outcome": i.outcome,
        "side": i.side.value,
        "shares": str(i.shares),
        "limit_price": str(i.limit_price),
        "sized_price": str(i.sized_price),
        "usd": str(i.usd),
        "whale_price": str(i.whale_price),
        "confidence": str(i.confidence),
        "created_at": i.created_at.isoformat(),
        "expires_at": i.expires_at.isoformat(),
        "status": i.status.value,
        "reason": i.reason,
        "wallet": i.wallet,
        "expected_fee_usd": str(i.expected_fee_usd),
        "market_question": i.market_question,
        "advice": i.advice,
        "whale_edge": str(i.whale_edge),
        "whale_edge_se": str(i.whale_edge_se),
        "latency_tax": str(i.latency_tax),
        "fee_per_share": str(i.fee_per_share),
        "net_edge": str(i.net_edge),
    }


def intent_from_record(raw: dict[str, Any]) -> TradeIntent:
    """Inverse of ``intent_to_record`` (fields a newer version added default when missing)."""
    return TradeIntent(
        id=raw["id"],
        signal_id=raw["signal_id"],
        token_id=raw["token_id"],
        condition_id=raw["condition_id"],
        outcome=raw["outcome"],
        side=Side(raw["side"]),
        shares=Decimal(raw["shares"]),
        limit_price=Decimal(raw["limit_price"]),
        sized_price=Decimal(raw["sized_price"]),
        usd=Decimal(raw["usd"]),
        whale_price=Decimal(raw["whale_price"]),
        confidence=Decimal(raw["confidence"]),
        created_at=datetime.fromisoformat(raw["created_at"]),
        expires_at=datetime.fromisoformat(raw["expires_at"]),
        status=IntentStatus(raw["status"]),
        reason=raw.get("reason", ""),
        wallet=raw.get("wallet", ""),
        expected_fee_usd=Decimal(raw.get("expected_fee_usd", "0")),
        market_question=raw.get("market_question", ""),
        advice=raw.get("advice", ""),
        whale_edge=Decimal(raw.get("whale_edge", "0")),
        whale_edge_se=Decimal(raw.get("whale_edge_se", "0")),
        latency_tax=Decimal(raw.get("latency_tax", "0")),
        fee_per_share=Decimal(raw.get("fee_per_share", "0")),
        net_edge=Decimal(raw.get("net_edge", "0")),
    )
