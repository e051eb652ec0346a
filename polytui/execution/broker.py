"""The broker interface: paper and live brokers report the same way."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from polytui.model import Fill, Market, Order


@dataclass(frozen=True, slots=True)
class ExecutionReport:
    """What happened to one order: its status history and any fills."""

    orders: list[Order] = field(default_factory=list)
    fills: list[Fill] = field(default_factory=list)
    reason: str = ""

    @property
    def filled_shares(self) -> Decimal:
        """Shares filled in total."""
        return sum((f.shares for f in self.fills), Decimal(0))


class Broker(Protocol):
    """Executes orders; never retries a timed-out order blindly."""

    name: str

    async def execute(
        self,
        order: Order,
        market: Market | None,
        *,
        sized_price: Decimal,
        whale_price: Decimal,
        source: str = "",
    ) -> ExecutionReport:
        """Send one order and report its outcome."""
        ...

    async def cancel_all(self) -> int:
        """Cancel every open order; returns how many."""
        ...


def fill_of(
    order: Order,
    *,
    fill_id: str,
    condition_id: str,
    shares: Decimal,
    avg_price: Decimal,
    fee_usd: Decimal,
    filled_at: datetime,
    whale_price: Decimal,
    source: str,
) -> Fill:
    """The one way a broker turns an order and what filled into a ``Fill``.

    Order-side fields (order, intent, token, side, broker) always come from the order, so a
    fill can never name another order's intent or broker.
    """
    return Fill(
        id=fill_id,
        order_id=order.id,
        intent_id=order.intent_id,
        token_id=order.token_id,
        condition_id=condition_id,
        side=order.side,
        shares=shares,
        avg_price=avg_price,
        fee_usd=fee_usd,
        filled_at=filled_at,
        whale_price=whale_price,
        source=source,
        broker=order.broker,
    )
