"""What the whales do: one trade of a watched wallet, from any source, and the scored ``Signal``
it may become.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from polytui.amounts import ZERO
from polytui.model.orders import Side


class TradeSource(enum.StrEnum):
    """Where a whale trade was seen."""

    CHAIN = "chain"
    ACTIVITY = "activity"
    DATAAPI = "dataapi"
    MEMPOOL = "mempool"  # a pending matchOrders transaction: tentative until mined


class Role(enum.StrEnum):
    """Whether the whale's order rested (maker) or took liquidity (taker)."""

    MAKER = "maker"
    TAKER = "taker"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class WhaleTrade:
    """One fill by a watched (or discovered) wallet, from any source.

    ``side``/``token_id``/``outcome`` are the whale's own; the copied side is never inferred.
    ``match_time`` is when the exchange matched (block time or frame timestamp);
    ``received_at`` is when we saw it. ``pending_tx``: read from a transaction not yet mined
    (the mempool source); the chain's ``OrderFilled`` logs confirm it or its drop retracts it.
    """

    wallet: str
    token_id: str
    side: Side
    price: Decimal
    shares: Decimal
    usd: Decimal
    tx_hash: str
    source: TradeSource
    match_time: datetime
    received_at: datetime
    condition_id: str = ""
    outcome: str = ""
    outcome_index: int | None = None
    role: Role = Role.UNKNOWN
    fee_usd: Decimal = ZERO
    block_number: int | None = None
    log_index: int | None = None
    title: str = ""
    pending_tx: bool = False

    @property
    def latency_ms(self) -> int:
        """Observed delay from match to receipt, in milliseconds (never negative)."""
        delta = (self.received_at - self.match_time).total_seconds() * 1000
        return max(0, int(delta))

    @property
    def dedup_key(self) -> tuple[str, str, str, Side, Decimal]:
        """Cross-source identity of a fill: tx hash + wallet + token + side + shares."""
        return (self.tx_hash.lower(), self.wallet.lower(), self.token_id, self.side, self.shares)


class SignalStatus(enum.StrEnum):
    """Lifecycle of a whale signal on screen."""

    OBSERVED = "observed"
    PENDING = "pending"
    APPROVED = "approved"
    FILLED = "filled"
    REJECTED = "rejected"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class Signal:
    """A scored whale trade (or cluster of trades) that may become a trade intent."""

    id: str
    created_at: datetime
    token_id: str
    condition_id: str
    outcome: str
    side: Side
    whale_price: Decimal
    usd: Decimal
    confidence: Decimal
    wallets: tuple[str, ...]
    trades: tuple[WhaleTrade, ...]
    status: SignalStatus = SignalStatus.OBSERVED
    reason: str = ""
    market_question: str = ""
    current_price: Decimal | None = None

    @property
    def cluster_size(self) -> int:
        """Distinct wallets behind the signal."""
        return len(set(self.wallets))

    @property
    def source(self) -> TradeSource:
        """Source of the first trade seen."""
        return self.trades[0].source

    @property
    def latency_ms(self) -> int:
        """Latency of the first trade seen."""
        return self.trades[0].latency_ms

    @property
    def pending_tx(self) -> bool:
        """Some trade behind it is in a transaction not yet mined."""
        return any(t.pending_tx for t in self.trades)
