"""What we hold and what we may still risk: positions, the portfolio view sizing and RiskGuard
read, P&L totals, and every risk limit with RiskGuard's answer.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from polytui.amounts import ZERO, usd


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
