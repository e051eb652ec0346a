"""Frozen domain types shared by every layer.

Wire formats are parsed once, at the feed boundary, into these types; nothing downstream sees a
raw JSON dict. Prices and share counts are ``Decimal`` (never binary floats); USD amounts are
``Decimal`` with 6 decimal places at most (pUSD has 6 decimals, PROTOCOL.md §5). Names follow
Polymarket's own (``token_id``, ``condition_id``, ``proxy_wallet``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

# The number rules live in polytui.amounts; re-exported here, where the types that use them are.
from polytui.amounts import CENT as CENT
from polytui.amounts import MAX_SHARES as MAX_SHARES
from polytui.amounts import MICRO as MICRO
from polytui.amounts import ONE as ONE
from polytui.amounts import ZERO as ZERO
from polytui.amounts import BadValue as BadValue
from polytui.amounts import floor_to as floor_to
from polytui.amounts import from_micro as from_micro
from polytui.amounts import parse_decimal as parse_decimal
from polytui.amounts import parse_price as parse_price
from polytui.amounts import parse_shares as parse_shares
from polytui.amounts import to_micro as to_micro
from polytui.amounts import usd as usd


class Side(enum.StrEnum):
    """Order side as Polymarket spells it."""

    BUY = "BUY"
    SELL = "SELL"


class TradeSource(enum.StrEnum):
    """Where a whale trade was seen."""

    CHAIN = "chain"
    ACTIVITY = "activity"
    DATAAPI = "dataapi"


class Role(enum.StrEnum):
    """Whether the whale's order rested (maker) or took liquidity (taker)."""

    MAKER = "maker"
    TAKER = "taker"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    """Per-market taker fee: ``fee = shares × rate × (p·(1−p))^exponent`` (PROTOCOL.md §6).

    The exponent may be fractional (the official SDK computes non-integer powers); a whole one is
    kept as an ``int`` so saved schedules read back unchanged.
    """

    rate: Decimal
    exponent: int | Decimal = 1
    taker_only: bool = True
    rebate_rate: Decimal = ZERO
    fee_type: str = ""

    def per_share(self, price: Decimal) -> Decimal:
        """The taker fee of one share at ``price``, unrounded (what sizing adds to the cost)."""
        return self.rate * (price * (1 - price)) ** self.exponent


@dataclass(frozen=True, slots=True)
class Outcome:
    """One outcome of a market and the CLOB token that trades it."""

    index: int
    name: str
    token_id: str


PROTOCOL_V2_UNSUPPORTED = (
    'a Protocol V2 market (Gamma version "v2"): its fills settle through ExchangeV3, which the '
    "chain feed does not watch, and live orders are signed for ExchangeV2 only"
)


@dataclass(frozen=True, slots=True)
class Market:
    """Market metadata as Gamma reports it, parsed."""

    condition_id: str
    question: str
    slug: str
    outcomes: tuple[Outcome, ...]
    end_time: datetime | None
    tick_size: Decimal = Decimal("0.01")
    min_order_size: Decimal = Decimal(5)
    neg_risk: bool = False
    fee_schedule: FeeSchedule | None = None
    tags: tuple[str, ...] = ()
    active: bool = True
    closed: bool = False
    accepting_orders: bool = True
    winning_token_id: str | None = None
    # What one share of each outcome paid (index-aligned with ``outcomes``), once Gamma reports
    # the market closed with a final UMA status: 1 and 0, or 0.5 each for a void.
    settle_prices: tuple[Decimal, ...] | None = None
    # Gamma's ``version``: "v2" markets are Polymarket Protocol V2 (ExchangeV3, signing domain
    # "3", position ids), which the live broker does not sign for.
    version: str = "v1"
    # Gamma's ``description``: the market's resolution rules in words (cleaned, shortened).
    description: str = ""

    @property
    def unsupported(self) -> str:
        """Why trades in this market are not copied ("" when they are)."""
        if self.version == "v2":
            return PROTOCOL_V2_UNSUPPORTED
        return ""

    def outcome_for(self, token_id: str) -> Outcome | None:
        """The outcome traded by ``token_id``, if it belongs to this market."""
        for outcome in self.outcomes:
            if outcome.token_id == token_id:
                return outcome
        return None

    @property
    def resolved(self) -> bool:
        """True once a winning outcome is known."""
        return self.winning_token_id is not None


@dataclass(frozen=True, slots=True)
class Resolution:
    """A market's final result: what one share of each outcome pays (1 and 0, or 0.5 each for
    a void), from the source that said so first (``ws``, ``gamma``, ``clob``, ``data-api``)."""

    condition_id: str
    payouts: tuple[tuple[str, Decimal], ...]  # (token id, USDC per share)
    source: str
    at: datetime | None = None

    @classmethod
    def winner(
        cls, condition_id: str, winning_token_id: str, source: str, at: datetime | None = None
    ) -> Resolution:
        """One winning token (the others pay 0 and need not be listed)."""
        return cls(condition_id, ((winning_token_id, Decimal(1)),), source, at)

    def payout(self, token_id: str) -> Decimal:
        """USDC one share of ``token_id`` pays (0 for an outcome not listed)."""
        for token, value in self.payouts:
            if token == token_id:
                return value
        return ZERO

    @property
    def winning_token_id(self) -> str:
        """The token paying 1, or "" for a void (every outcome pays the same)."""
        for token, value in self.payouts:
            if value == 1:
                return token
        return ""

    @property
    def void(self) -> bool:
        """Every outcome paid the same part (a 50-50 market)."""
        return not self.winning_token_id


@dataclass(frozen=True, slots=True)
class PriceLevel:
    """One price level of a book: the aggregate size resting at ``price``."""

    price: Decimal
    size: Decimal


@dataclass(frozen=True, slots=True)
class BookTop:
    """A cheap, immutable view of a book's top for consumers outside the feed."""

    token_id: str
    best_bid: Decimal | None
    best_ask: Decimal | None
    bid_depth: Decimal
    ask_depth: Decimal
    stale: bool
    updated_at: datetime | None = None

    @property
    def mid(self) -> Decimal | None:
        """Midpoint, when both sides exist."""
        if self.best_bid is None or self.best_ask is None:
            return None
        return (self.best_bid + self.best_ask) / 2


@dataclass(frozen=True, slots=True)
class WhaleTrade:
    """One fill by a watched (or discovered) wallet, from any source.

    ``side``/``token_id``/``outcome`` are the whale's own; the copied side is never inferred.
    ``match_time`` is when the exchange matched (block time or frame timestamp);
    ``received_at`` is when we saw it.
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


@dataclass(frozen=True, slots=True)
class Position:
    """Shares held in one token, with cost basis and marks."""

    token_id: str
    condition_id: str
    outcome: str
    shares: Decimal
    avg_price: Decimal
    cost_usd: Decimal
    fees_usd: Decimal
    end_time: datetime | None
    market_question: str = ""
    mark_price: Decimal | None = None
    mid_price: Decimal | None = None
    opened_at: datetime | None = None

    @property
    def unrealized_usd(self) -> Decimal:
        """Marked at the best bid (what we could sell for); zero while unmarked."""
        if self.mark_price is None:
            return ZERO
        return usd(self.shares * self.mark_price - self.cost_usd)

    def resolves_within(self, now: datetime, seconds: float) -> bool:
        """True if the market ends within ``seconds`` of ``now`` (and has not ended)."""
        if self.end_time is None:
            return False
        left = (self.end_time - now).total_seconds()
        return 0 <= left < seconds

    def awaiting_resolution(self, now: datetime) -> bool:
        """Past its end time but not settled yet."""
        return self.end_time is not None and now >= self.end_time


class FeedState(enum.StrEnum):
    """Connection state of one feed, as the health pane shows it."""

    CONNECTING = "connecting"
    LIVE = "live"
    DEGRADED = "degraded"
    DOWN = "down"
    DISABLED = "disabled"


@dataclass(frozen=True, slots=True)
class FeedStatus:
    """Counters and flags of one feed. Reading it never touches the network."""

    name: str
    state: FeedState
    connected: bool
    last_data_age_s: float | None
    messages: int
    rejected: int
    reconnects: int
    connections: int
    latency_ms: float | None = None
    messages_per_s: float = 0.0
    detail: str = ""


@dataclass(frozen=True, slots=True)
class LimitUse:
    """One risk limit: what is used and the ceiling."""

    name: str
    used: Decimal
    limit: Decimal
    unit: str = "usd"

    @property
    def headroom(self) -> Decimal:
        """How much is left before the limit (never negative)."""
        return max(ZERO, self.limit - self.used)


@dataclass(frozen=True, slots=True)
class RiskSnapshot:
    """State of every risk limit, published for the UI and the control socket."""

    limits: tuple[LimitUse, ...]
    paused: bool = False
    killed: bool = False
    halted: bool = False
    halt_reason: str = ""
    taken_at: datetime | None = None


class Verdict(enum.StrEnum):
    """RiskGuard's answer."""

    ALLOW = "allow"
    REDUCE = "reduce"
    REJECT = "reject"


@dataclass(frozen=True, slots=True)
class RiskDecision:
    """RiskGuard's answer with the limit that decided and the size it allows."""

    verdict: Verdict
    shares: Decimal
    reason: str = ""
    limit: str = ""


@dataclass(frozen=True, slots=True)
class PortfolioView:
    """What RiskGuard and sizing need to know about the portfolio at one instant."""

    now: datetime
    cash_usd: Decimal
    total_exposure_usd: Decimal
    exposure_by_market: dict[str, Decimal]
    shares_by_token: dict[str, Decimal]
    open_positions: int
    daily_pnl_usd: Decimal
    feeds_stale: bool = False


@dataclass(frozen=True, slots=True)
class PnLSnapshot:
    """Portfolio totals for the header and the P&L pane."""

    cash_usd: Decimal
    equity_usd: Decimal
    realized_usd: Decimal
    unrealized_usd: Decimal
    today_usd: Decimal
    fees_usd: Decimal
    wins: int = 0
    losses: int = 0
    avg_latency_tax_cents: Decimal | None = None
    equity_history: tuple[Decimal, ...] = ()

    @property
    def win_rate(self) -> Decimal | None:
        """Share of settled/closed trades that made money."""
        total = self.wins + self.losses
        return None if total == 0 else Decimal(self.wins) / total


@dataclass(frozen=True, slots=True)
class EngineState:
    """Top-level engine flags for the header."""

    mode: str
    paused: bool = False
    killed: bool = False
    halted: bool = False
    halt_reason: str = ""
    demo: bool = False


@dataclass(frozen=True, slots=True)
class CommandResult:
    """Answer to an operator command (keys, control socket, one-shot CLI)."""

    ok: bool
    message: str
    data: dict[str, object] = field(default_factory=dict)
