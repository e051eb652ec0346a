"""What we trade: the side, a sized copy waiting for approval (``TradeIntent``), the ``Order`` a
broker is sent and the ``Fill`` it reports; statuses as paper and live both report them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from polytui.amounts import ZERO, usd


class Side(enum.StrEnum):
    """Order side as Polymarket spells it."""

    BUY = "BUY"
    SELL = "SELL"


class IntentStatus(enum.StrEnum):
    """Approval queue states."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    FILLED = "filled"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class TradeIntent:
    """A sized copy trade waiting for approval (or already decided)."""

    id: str
    signal_id: str
    token_id: str
    condition_id: str
    outcome: str
    side: Side
    shares: Decimal
    limit_price: Decimal
    sized_price: Decimal
    usd: Decimal
    whale_price: Decimal
    confidence: Decimal
    created_at: datetime
    expires_at: datetime
    status: IntentStatus = IntentStatus.PENDING
    reason: str = ""
    wallet: str = ""
    expected_fee_usd: Decimal = ZERO
    market_question: str = ""
    # The advisors' consensus and what it did to the estimate (empty: advisors off / not asked).
    advice: str = ""
    # The numbers that sized it, per share: the whale's estimated edge ± its standard error,
    # the expected latency tax at our source's delay, our taker fee, and the net edge.
    whale_edge: Decimal = ZERO
    whale_edge_se: Decimal = ZERO
    latency_tax: Decimal = ZERO
    fee_per_share: Decimal = ZERO
    net_edge: Decimal = ZERO


class OrderType(enum.StrEnum):
    """CLOB order types (PROTOCOL.md §2)."""

    FAK = "FAK"
    FOK = "FOK"
    GTC = "GTC"
    GTD = "GTD"


class OrderStatus(enum.StrEnum):
    """Order lifecycle (paper and live report the same way)."""

    NEW = "new"
    POSTED = "posted"
    MATCHED = "matched"
    MINED = "mined"
    CONFIRMED = "confirmed"
    PARTIAL = "partial"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    FAILED = "failed"
    RETRYING = "retrying"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Order:
    """An order sent (or to be sent) to a broker."""

    id: str
    intent_id: str
    token_id: str
    side: Side
    shares: Decimal
    limit_price: Decimal
    order_type: OrderType
    created_at: datetime
    status: OrderStatus = OrderStatus.NEW
    reason: str = ""
    broker: str = "paper"


@dataclass(frozen=True, slots=True)
class Fill:
    """Shares that changed hands for one of our orders."""

    id: str
    order_id: str
    intent_id: str
    token_id: str
    condition_id: str
    side: Side
    shares: Decimal
    avg_price: Decimal
    fee_usd: Decimal
    filled_at: datetime
    whale_price: Decimal = ZERO
    source: str = ""
    broker: str = "paper"

    @property
    def notional_usd(self) -> Decimal:
        """Shares × average price, before fees."""
        return usd(self.shares * self.avg_price)

    @property
    def latency_tax_cents(self) -> Decimal:
        """Cents per share paid over the whale (positive = worse than the whale)."""
        diff = self.avg_price - self.whale_price
        if self.side is Side.SELL:
            diff = -diff
        return diff * 100
