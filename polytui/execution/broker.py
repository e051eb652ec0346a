"""The broker interface: paper and live brokers report the same way."""

from __future__ import annotations

from dataclasses import dataclass, field
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
