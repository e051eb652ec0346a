"""RiskGuard: hard limits on every path to a broker. Nothing bypasses it.

Entries (buys) must fit max total exposure, max exposure per market, max open positions, the
entry-price band, the minimum time to resolution, and are refused while paused, killed, halted by
the daily-loss limit, or while a feed is stale. Exposure is the cost basis at risk, and a new
entry is costed at its limit price plus the worst taker fee per share, so fills can never push
exposure over a limit. Exits (selling shares we hold) are always allowed except under the kill
switch: a trader must always be able to get out.
"""

from __future__ import annotations

from datetime import UTC
from decimal import Decimal
from typing import Any

from polytui.amounts import floor_shares
from polytui.display import money, shares
from polytui.display import price as fmt_price
from polytui.model import (
    ZERO,
    LimitUse,
    Market,
    PortfolioView,
    RiskDecision,
    RiskSnapshot,
    Side,
    TradeIntent,
    Verdict,
)
from polytui.settings import RiskSettings


def worst_fee_per_share(market: Market | None) -> Decimal:
    """An upper bound of the taker fee per share: ``rate × 0.25^exponent`` (p(1−p) ≤ 1/4)."""
    if market is None or market.fee_schedule is None:
        return ZERO
    schedule = market.fee_schedule
    return schedule.rate * Decimal("0.25") ** schedule.exponent


class RiskGuard:
    """Stateful guard: pause, kill and the daily-loss halt persist across restarts."""

    def __init__(self, settings: RiskSettings) -> None:
        self.settings = settings
        self.paused = False
        self.killed = False
        self.halted = False
        self.halt_reason = ""
        self.halt_day = ""

    def reset_halt(self) -> None:
        """Manual reset of the daily-loss halt."""
        self.halted = False
        self.halt_reason = ""
        self.halt_day = ""

    def _update_halt(self, view: PortfolioView) -> None:
        day = view.now.astimezone(UTC).date().isoformat()
        # Only a new UTC day clears the halt: a clock stepped back across midnight does not.
        if self.halted and self.halt_day and day > self.halt_day:
            self.reset_halt()
        limit = self.settings.max_daily_loss_usd
        if not self.halted and view.daily_pnl_usd <= -limit:
            self.halted = True
            self.halt_day = day
            self.halt_reason = (
                f"daily loss {money(-view.daily_pnl_usd)} reached the limit {money(limit)}"
            )

    def check(
        self, intent: TradeIntent, view: PortfolioView, market: Market | None
    ) -> RiskDecision:
        """ALLOW, REDUCE (to the size that fits) or REJECT, naming the limit that decided."""
        s = self.settings
        if self.killed:
            return RiskDecision(Verdict.REJECT, ZERO, "kill switch is on", "kill")
        if intent.side is Side.SELL:
            held = view.shares_by_token.get(intent.token_id, ZERO)
            if held <= 0:
                return RiskDecision(Verdict.REJECT, ZERO, "no shares to sell", "exit")
            if intent.shares > held:
                return RiskDecision(
                    Verdict.REDUCE, held, f"only {shares(held)} shares held", "exit"
                )
            return RiskDecision(Verdict.ALLOW, intent.shares)
        self._update_halt(view)
        if self.paused:
            return RiskDecision(Verdict.REJECT, ZERO, "trading is paused", "pause")
        if self.halted:
            return RiskDecision(Verdict.REJECT, ZERO, self.halt_reason, "max_daily_loss_usd")
        if view.feeds_stale:
            return RiskDecision(Verdict.REJECT, ZERO, "a feed is stale", "stale_feed_halt_s")
        if market is None:
            return RiskDecision(Verdict.REJECT, ZERO, "no market metadata", "market")
        price = intent.limit_price
        if not s.min_entry_price <= price <= s.max_entry_price:
            return RiskDecision(
                Verdict.REJECT,
                ZERO,
                f"price {fmt_price(price)} outside "
                f"[{fmt_price(s.min_entry_price)}, {fmt_price(s.max_entry_price)}]",
                "entry_price",
            )
        if market.end_time is not None:
            left = (market.end_time - view.now).total_seconds()
            if left < s.min_time_to_resolution_s:
                return RiskDecision(
                    Verdict.REJECT,
                    ZERO,
                    f"resolves in {max(0, int(left))} s "
                    f"(minimum {int(s.min_time_to_resolution_s)})",
                    "min_time_to_resolution_s",
                )
        holds_token = view.shares_by_token.get(intent.token_id, ZERO) > 0
        if not holds_token and view.open_positions >= s.max_open_positions:
            return RiskDecision(
                Verdict.REJECT,
                ZERO,
                f"{view.open_positions} positions open (max {s.max_open_positions})",
                "max_open_positions",
            )
        per_share = price + worst_fee_per_share(market)
        market_used = view.exposure_by_market.get(intent.condition_id, ZERO)
        room = {
            "max_total_exposure_usd": s.max_total_exposure_usd - view.total_exposure_usd,
            "max_market_exposure_usd": s.max_market_exposure_usd - market_used,
            "cash": view.cash_usd,
        }
        limit_name, headroom = min(room.items(), key=lambda kv: kv[1])
        fits = floor_shares(max(ZERO, headroom) / per_share)
        if fits >= intent.shares:
            return RiskDecision(Verdict.ALLOW, intent.shares)
        if fits <= 0 or fits < market.min_order_size:
            return RiskDecision(
                Verdict.REJECT,
                ZERO,
                f"no room under {limit_name} ({money(headroom)} left)",
                limit_name,
            )
        return RiskDecision(
            Verdict.REDUCE, fits, f"reduced to {shares(fits)} shares by {limit_name}", limit_name
        )

    def snapshot(self, view: PortfolioView) -> RiskSnapshot:
        """Each limit with its use, for the UI."""
        self._update_halt(view)
        s = self.settings
        biggest = max(view.exposure_by_market.values(), default=ZERO)
        return RiskSnapshot(
            limits=(
                LimitUse("total exposure", view.total_exposure_usd, s.max_total_exposure_usd),
                LimitUse("market exposure", biggest, s.max_market_exposure_usd),
                LimitUse(
                    "open positions",
                    Decimal(view.open_positions),
                    Decimal(s.max_open_positions),
                    "count",
                ),
                LimitUse("daily loss", max(ZERO, -view.daily_pnl_usd), s.max_daily_loss_usd),
            ),
            paused=self.paused,
            killed=self.killed,
            halted=self.halted,
            halt_reason=self.halt_reason,
            taken_at=view.now,
        )

    def to_record(self) -> dict[str, Any]:
        """Flags that survive a restart."""
        return {
            "paused": self.paused,
            "killed": self.killed,
            "halted": self.halted,
            "halt_reason": self.halt_reason,
            "halt_day": self.halt_day,
        }

    def from_record(self, raw: dict[str, Any]) -> None:
        """Restore flags saved by ``to_record``."""
        # The kill switch ends with the process; its pause survives, so a restart after a
        # kill comes back paused and waits for the trader to resume.
        self.paused = bool(raw.get("paused", False)) or bool(raw.get("killed", False))
        self.halted = bool(raw.get("halted", False))
        self.halt_reason = str(raw.get("halt_reason", ""))
        self.halt_day = str(raw.get("halt_day", ""))
