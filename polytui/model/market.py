"""Markets and their books as Gamma and the CLOB report them, parsed: fee schedule, outcomes,
resolution, price levels and a book's top.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from polytui.amounts import ZERO


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
