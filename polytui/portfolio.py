"""Positions, cash and P&L, applied from fills and settlements.

Accounting rule (checked to the cent by the tests): fees paid on a buy are part of the
position's cost basis; fees on a sell reduce the proceeds. So at every instant
``cash + cost basis of open positions = starting balance + realized P&L``. Unrealized P&L is
marked at the best bid (what the position could be sold for now); the mid is shown beside it.
A market past its end time and not yet settled is "awaiting resolution", never a loss.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from polytui.clock import Clock
from polytui.model import (
    CENT,
    ZERO,
    Fill,
    Market,
    Order,
    OrderType,
    PnLSnapshot,
    PortfolioView,
    Position,
    Side,
    usd,
)

EQUITY_HISTORY = 120
CLOSE_SLIPPAGE = Decimal("0.05")


@dataclass(slots=True)
class _Holding:
    token_id: str
    condition_id: str
    outcome: str
    question: str
    end_time: datetime | None
    shares: Decimal = ZERO
    cost_usd: Decimal = ZERO
    fees_usd: Decimal = ZERO
    mark: Decimal | None = None
    mid: Decimal | None = None
    opened_at: datetime | None = None


class Portfolio:
    """The single source of truth for cash, holdings and P&L (owned by the engine)."""

    def __init__(
        self,
        starting_balance_usd: Decimal,
        clock: Clock,
        *,
        take_profit: Decimal | None = None,
        stop_loss: Decimal | None = None,
    ) -> None:
        self.starting_balance = usd(starting_balance_usd)
        self.clock = clock
        self.take_profit = take_profit
        self.stop_loss = stop_loss
        self.cash = self.starting_balance
        self.realized = ZERO
        self.fees_paid = ZERO
        self.wins = 0
        self.losses = 0
        self._holdings: dict[str, _Holding] = {}
        self._tax_sum_cents = ZERO
        self._tax_count = 0
        self._day = ""
        self._day_start_equity = self.starting_balance
        self._equity_history: list[Decimal] = []

    # --- changes ------------------------------------------------------------------------------

    def untouched(self) -> bool:
        """No fill has changed it yet: no positions, no realized P&L, the starting cash."""
        return not self._holdings and self.cash == self.starting_balance and not self.realized

    def start_from(self, balance: Decimal) -> None:
        """Restart an untouched portfolio from a real balance (a first live run)."""
        if not self.untouched():
            raise ValueError("only an untouched portfolio can take a new starting balance")
        self.starting_balance = self.cash = self._day_start_equity = usd(balance)

    def apply_fill(self, fill: Fill, market: Market | None) -> None:
        """Apply one of our fills."""
        holding = self._holdings.get(fill.token_id)
        notional = usd(fill.shares * fill.avg_price)
        self.fees_paid += fill.fee_usd
        if fill.side is Side.BUY:
            if holding is None:
                outcome = market.outcome_for(fill.token_id) if market else None
                holding = self._holdings[fill.token_id] = _Holding(
                    token_id=fill.token_id,
                    condition_id=fill.condition_id or (market.condition_id if market else ""),
                    outcome=outcome.name if outcome else "",
                    question=market.question if market else "",
                    end_time=market.end_time if market else None,
                    opened_at=fill.filled_at,
                )
            holding.shares += fill.shares
            holding.cost_usd += notional + fill.fee_usd
            holding.fees_usd += fill.fee_usd
            self.cash -= notional + fill.fee_usd
            if fill.whale_price > 0:
                self._tax_sum_cents += fill.latency_tax_cents
                self._tax_count += 1
            return
        if holding is None or holding.shares <= 0:
            # Selling what we do not hold cannot happen through the engine; keep cash honest.
            self.cash += notional - fill.fee_usd
            self.realized += notional - fill.fee_usd
            return
        sold = min(fill.shares, holding.shares)
        cost_out = usd(holding.cost_usd * sold / holding.shares)
        proceeds = notional - fill.fee_usd
        holding.shares -= sold
        holding.cost_usd -= cost_out
        holding.fees_usd += fill.fee_usd
        self.cash += proceeds
        pnl = proceeds - cost_out
        self.realized += pnl
        if holding.shares <= 0:
            self._close(holding, pnl)

    def _close(self, holding: _Holding, pnl: Decimal) -> None:
        if pnl > 0:
            self.wins += 1
        else:
            self.losses += 1
        # Any rounding remainder of the basis is realized so the books stay exact.
        self.realized -= holding.cost_usd
        del self._holdings[holding.token_id]

    def settle(
        self,
        condition_id: str,
        winning_token_id: str,
        pays: Callable[[str], Decimal] | None = None,
    ) -> list[dict[str, str]]:
        """Pay what each share pays (1 per winning share and 0 per losing share unless ``pays``
        says otherwise, e.g. 0.5 each for a void); realize and close."""
        settled: list[dict[str, str]] = []
        for holding in [h for h in self._holdings.values() if h.condition_id == condition_id]:
            if pays is not None:
                payout = holding.shares * pays(holding.token_id)
            else:
                payout = holding.shares if holding.token_id == winning_token_id else ZERO
            pnl = usd(payout) - holding.cost_usd
            self.cash += usd(payout)
            self.realized += pnl
            settled.append(
                {
                    "token_id": holding.token_id,
                    "shares": str(holding.shares),
                    "payout_usd": str(usd(payout)),
                    "pnl_usd": str(pnl),
                }
            )
            holding.cost_usd = ZERO
            self._close(holding, pnl)
        return settled

    def mark(self, token_id: str, best_bid: Decimal | None, mid: Decimal | None) -> bool:
        """Mark a holding at the best bid; True if anything changed."""
        holding = self._holdings.get(token_id)
        if holding is None or (holding.mark == best_bid and holding.mid == mid):
            return False
        holding.mark, holding.mid = best_bid, mid
        return True

    # --- exits --------------------------------------------------------------------------------

    def close_position(self, token_id: str, now: datetime) -> Order | None:
        """A marketable SELL of every share of ``token_id`` (the engine sends it)."""
        holding = self._holdings.get(token_id)
        if holding is None or holding.shares <= 0:
            return None
        reference = holding.mark or (holding.cost_usd / holding.shares)
        limit = max(CENT, (reference - CLOSE_SLIPPAGE).quantize(CENT))
        return Order(
            id="",
            intent_id="",
            token_id=token_id,
            side=Side.SELL,
            shares=holding.shares,
            limit_price=limit,
            order_type=OrderType.FAK,
            created_at=now,
        )

    def exits_due(self, now: datetime) -> list[Order]:
        """Take-profit / stop-loss exits whose level the mark has crossed."""
        orders: list[Order] = []
        for holding in self._holdings.values():
            if holding.mark is None or holding.shares <= 0:
                continue
            avg = holding.cost_usd / holding.shares
            hit_tp = self.take_profit is not None and holding.mark >= avg * (1 + self.take_profit)
            hit_sl = self.stop_loss is not None and holding.mark <= avg * (1 - self.stop_loss)
            if hit_tp or hit_sl:
                order = self.close_position(holding.token_id, now)
                if order is not None:
                    orders.append(order)
        return orders

    # --- views --------------------------------------------------------------------------------

    def tokens(self) -> list[str]:
        """Tokens currently held."""
        return list(self._holdings)

    def shares(self, token_id: str) -> Decimal:
        """Shares held of one token."""
        holding = self._holdings.get(token_id)
        return holding.shares if holding else ZERO

    def _position(self, h: _Holding) -> Position:
        return Position(
            token_id=h.token_id,
            condition_id=h.condition_id,
            outcome=h.outcome,
            shares=h.shares,
            avg_price=(h.cost_usd / h.shares).quantize(Decimal("0.0001")) if h.shares else ZERO,
            cost_usd=usd(h.cost_usd),
            fees_usd=h.fees_usd,
            end_time=h.end_time,
            market_question=h.question,
            mark_price=h.mark,
            mid_price=h.mid,
            opened_at=h.opened_at,
        )

    def positions_by_resolution(self, now: datetime) -> list[Position]:
        """Open positions, soonest resolution first (unknown end times last)."""
        far = datetime.max.replace(tzinfo=UTC)
        return sorted(
            (self._position(h) for h in self._holdings.values()),
            key=lambda p: (p.end_time or far, p.token_id),
        )

    def position_value(self) -> Decimal:
        """Open positions marked at the best bid (at cost while unmarked)."""
        total = ZERO
        for h in self._holdings.values():
            total += h.shares * h.mark if h.mark is not None else h.cost_usd
        return usd(total)

    def cost_basis(self) -> Decimal:
        """Cost basis of every open position (fees on buys included)."""
        return usd(sum((h.cost_usd for h in self._holdings.values()), ZERO))

    def equity(self) -> Decimal:
        """Cash plus open positions at the best bid."""
        return usd(self.cash + self.position_value())

    def daily_pnl(self) -> Decimal:
        """Equity change since the first look after UTC midnight."""
        self._roll_day()
        return usd(self.equity() - self._day_start_equity)

    def _roll_day(self) -> None:
        day = self.clock.now().astimezone(UTC).date().isoformat()
        # Forward only: a clock stepped back across midnight does not reset the day's budget.
        if day > self._day:
            self._day = day
            self._day_start_equity = self.equity()

    def record_equity(self) -> Decimal:
        """Append the current equity to the in-memory history (sparkline)."""
        equity = self.equity()
        self._equity_history.append(equity)
        del self._equity_history[:-EQUITY_HISTORY]
        return equity

    def pnl(self) -> PnLSnapshot:
        """Totals for the header and the P&L pane."""
        unrealized = usd(self.position_value() - self.cost_basis())
        avg_tax = self._tax_sum_cents / self._tax_count if self._tax_count else None
        return PnLSnapshot(
            cash_usd=usd(self.cash),
            equity_usd=self.equity(),
            realized_usd=usd(self.realized),
            unrealized_usd=unrealized,
            today_usd=self.daily_pnl(),
            fees_usd=usd(self.fees_paid),
            wins=self.wins,
            losses=self.losses,
            avg_latency_tax_cents=None if avg_tax is None else avg_tax.quantize(Decimal("0.01")),
            equity_history=tuple(self._equity_history),
        )

    def view(self, now: datetime, feeds_stale: bool) -> PortfolioView:
        """What RiskGuard needs: exposure (cost basis) overall and per market, cash, daily P&L."""
        by_market: dict[str, Decimal] = {}
        for h in self._holdings.values():
            by_market[h.condition_id] = by_market.get(h.condition_id, ZERO) + h.cost_usd
        return PortfolioView(
            now=now,
            cash_usd=usd(self.cash),
            total_exposure_usd=self.cost_basis(),
            exposure_by_market=by_market,
            shares_by_token={t: h.shares for t, h in self._holdings.items()},
            open_positions=len(self._holdings),
            daily_pnl_usd=self.daily_pnl(),
            feeds_stale=feeds_stale,
        )

    # --- persistence --------------------------------------------------------------------------

    def export_state(self) -> dict[str, Any]:
        """JSON-able state (Decimal as text) for the journal."""
        return {
            "starting_balance": str(self.starting_balance),
            "cash": str(self.cash),
            "realized": str(self.realized),
            "fees_paid": str(self.fees_paid),
            "wins": self.wins,
            "losses": self.losses,
            "tax_sum_cents": str(self._tax_sum_cents),
            "tax_count": self._tax_count,
            "day": self._day,
            "day_start_equity": str(self._day_start_equity),
            "holdings": [
                {
                    "token_id": h.token_id,
                    "condition_id": h.condition_id,
                    "outcome": h.outcome,
                    "question": h.question,
                    "end_time": h.end_time.isoformat() if h.end_time else None,
                    "shares": str(h.shares),
                    "cost_usd": str(h.cost_usd),
                    "fees_usd": str(h.fees_usd),
                    "opened_at": h.opened_at.isoformat() if h.opened_at else None,
                }
                for h in self._holdings.values()
            ],
        }

    def restore_state(self, state: dict[str, Any]) -> None:
        """Resume from ``export_state`` output."""
        self.cash = Decimal(state["cash"])
        self.realized = Decimal(state["realized"])
        self.fees_paid = Decimal(state["fees_paid"])
        self.wins = int(state["wins"])
        self.losses = int(state["losses"])
        self._tax_sum_cents = Decimal(state.get("tax_sum_cents", "0"))
        self._tax_count = int(state.get("tax_count", 0))
        self._day = state.get("day", "")
        self._day_start_equity = Decimal(state.get("day_start_equity", str(self.cash)))
        self._holdings = {}
        for raw in state.get("holdings", []):
            end = raw.get("end_time")
            opened = raw.get("opened_at")
            self._holdings[raw["token_id"]] = _Holding(
                token_id=raw["token_id"],
                condition_id=raw["condition_id"],
                outcome=raw["outcome"],
                question=raw["question"],
                end_time=datetime.fromisoformat(end) if end else None,
                shares=Decimal(raw["shares"]),
                cost_usd=Decimal(raw["cost_usd"]),
                fees_usd=Decimal(raw["fees_usd"]),
                opened_at=datetime.fromisoformat(opened) if opened else None,
            )
