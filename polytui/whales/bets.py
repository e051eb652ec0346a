"""Fills grouped into bets and priced against the outcome (pure).

A bet is one wallet's fills in one token, on one side, in one role (maker or taker). Its
price-adjusted edge per share is what the outcome paid minus what was paid, fees included:
``payout − avg_price − fee/share`` for a buy, ``avg_price − payout − fee/share`` for a sell (a
sale at 0.80 of a share that paid 1 gave up 0.20). Under "price = probability" the expected edge
is 0, whatever the price — which is why a wallet winning 85 % of its bets at 0.90 has none.
Capital is what the bet put at risk: cost plus fees for a buy, ``shares × (1 − price)`` for a sale.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from polytui.model import ONE, ZERO, FeeSchedule, Role, Side
from polytui.model.history import HistoryTrade, Resolution


@dataclass(frozen=True, slots=True)
class MarketFacts:
    """What the profile needs of a market beyond its fills (from Gamma, when known)."""

    condition_id: str
    category: str = ""
    fee_schedule: FeeSchedule | None = None
    end_ms: int | None = None


@dataclass(slots=True)
class Bet:
    """One wallet's fills in one token, side and role, with its settlement when known."""

    condition_id: str
    token_id: str
    side: Side
    role: Role
    outcome: str
    outcome_index: int | None
    title: str
    fills: list[HistoryTrade]
    shares: Decimal = ZERO
    cost_usd: Decimal = ZERO
    fee_usd: Decimal = ZERO
    first_ms: int = 0
    last_ms: int = 0
    payout: Decimal | None = None
    resolved_ms: int | None = None
    category: str = ""

    @property
    def avg_price(self) -> Decimal:
        """Share-weighted average price."""
        return self.cost_usd / self.shares if self.shares else ZERO

    @property
    def resolved(self) -> bool:
        """The market settled and this bet's outcome index is known."""
        return self.payout is not None

    @property
    def pnl_usd(self) -> Decimal:
        """Settled P&L in USD (fees included); 0 before settlement."""
        if self.payout is None:
            return ZERO
        gross = self.shares * (self.payout - self.avg_price)
        return (gross if self.side is Side.BUY else -gross) - self.fee_usd

    @property
    def capital_usd(self) -> Decimal:
        """What the bet put at risk."""
        if self.side is Side.BUY:
            return self.cost_usd + self.fee_usd
        return self.shares - self.cost_usd + self.fee_usd

    @property
    def edge_per_share(self) -> Decimal:
        """Outcome minus price paid (sign-adjusted for sales), fees included."""
        return self.pnl_usd / self.shares if self.shares else ZERO

    @property
    def won(self) -> bool:
        """A buy whose outcome paid in full, or a sale of one that paid nothing."""
        if self.payout is None:
            return False
        return self.payout >= ONE if self.side is Side.BUY else self.payout <= ZERO

    @property
    def usd(self) -> Decimal:
        """Notional (price × shares)."""
        return self.cost_usd

    @property
    def before_end_s(self) -> float | None:
        """Seconds from the first fill to settlement."""
        if self.resolved_ms is None:
            return None
        return max(0.0, (self.resolved_ms - self.first_ms) / 1000)


def taker_fee_per_share(price: Decimal, schedule: FeeSchedule | None) -> Decimal:
    """The taker fee of one share at ``price`` (0 in a fee-free market)."""
    if schedule is None or schedule.rate <= 0:
        return ZERO
    return schedule.per_share(price)


def fee_for(trade: HistoryTrade, schedule: FeeSchedule | None) -> Decimal:
    """Fee per share the fill paid: takers (and fills of unknown role) pay, makers do not."""
    if trade.role is Role.MAKER:
        return ZERO
    return taker_fee_per_share(trade.price, schedule)


def build_bets(
    trades: Iterable[HistoryTrade],
    resolutions: Mapping[str, Resolution],
    markets: Mapping[str, MarketFacts],
    fallback_fee: FeeSchedule | None = None,
) -> list[Bet]:
    """Group fills into bets and settle those whose market resolved (oldest first)."""
    bets: dict[tuple[str, str, Side, Role], Bet] = {}
    fees: dict[tuple[Decimal, FeeSchedule], Decimal] = {}
    for trade in sorted(trades, key=lambda t: t.ts_ms):
        key = (trade.condition_id, trade.token_id, trade.side, trade.role)
        bet = bets.get(key)
        facts = markets.get(trade.condition_id)
        schedule = facts.fee_schedule if facts and facts.fee_schedule else fallback_fee
        if bet is None:
            bet = bets[key] = Bet(
                condition_id=trade.condition_id,
                token_id=trade.token_id,
                side=trade.side,
                role=trade.role,
                outcome=trade.outcome,
                outcome_index=trade.outcome_index,
                title=trade.title,
                fills=[],
                first_ms=trade.ts_ms,
                category=facts.category if facts else "",
            )
        bet.fills.append(trade)
        bet.shares += trade.shares
        bet.cost_usd += trade.price * trade.shares
        if trade.role is not Role.MAKER and schedule is not None:
            fee_key = (trade.price, schedule)
            fee = fees.get(fee_key)
            if fee is None:
                fee = fees[fee_key] = fee_for(trade, schedule)
            bet.fee_usd += fee * trade.shares
        bet.last_ms = trade.ts_ms
        if bet.outcome_index is None:
            bet.outcome_index = trade.outcome_index
    for bet in bets.values():
        resolution = resolutions.get(bet.condition_id)
        if resolution is None:
            continue
        bet.payout = resolution.payout(bet.outcome_index)
        facts = markets.get(bet.condition_id)
        bet.resolved_ms = resolution.resolved_at_ms or (facts.end_ms if facts else None)
    return sorted(bets.values(), key=lambda b: b.first_ms)
