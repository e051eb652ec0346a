"""When a wallet trades and how long it holds (pure): holding times, active hours, P&L curve."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from polytui.model import Side
from polytui.model.history import ActivityEvent, HistoryTrade, PnlPoint
from polytui.whales.bets import Bet

CURVE_POINTS = 120


def holding_times(
    trades: Sequence[HistoryTrade], bets: Sequence[Bet], events: Sequence[ActivityEvent]
) -> list[float]:
    """Seconds from a token's first buy to its exit: the sale that emptied it, else the
    redemption or settlement."""
    redeemed: dict[str, int] = {}
    for event in events:
        if event.kind == "REDEEM" and event.condition_id:
            redeemed.setdefault(event.condition_id, event.ts_ms)
    settled = {b.token_id: b.resolved_ms for b in bets if b.resolved_ms is not None}
    held: dict[str, list[Any]] = {}  # token -> [first buy ms, shares, condition]
    out: list[float] = []
    for trade in sorted(trades, key=lambda t: t.ts_ms):
        slot = held.get(trade.token_id)
        if trade.side is Side.BUY:
            if slot is None:
                held[trade.token_id] = [trade.ts_ms, trade.shares, trade.condition_id]
            else:
                slot[1] += trade.shares
        elif slot is not None:
            slot[1] -= trade.shares
            if slot[1] <= 0:
                out.append((trade.ts_ms - slot[0]) / 1000)
                del held[trade.token_id]
    for token, (first, _, condition) in held.items():
        end = redeemed.get(condition) or settled.get(token)
        if end is not None and end >= first:
            out.append((end - first) / 1000)
    return out


def pnl_curve(points: Sequence[PnlPoint]) -> tuple[tuple[int, Decimal], ...]:
    """At most ``CURVE_POINTS`` points of the P&L curve, evenly spaced, the last one kept."""
    ordered = sorted(points, key=lambda p: p.ts_ms)
    if len(ordered) > CURVE_POINTS:
        step = len(ordered) / CURVE_POINTS
        ordered = [ordered[int(i * step)] for i in range(CURVE_POINTS - 1)] + [ordered[-1]]
    return tuple((p.ts_ms, p.pnl_usd) for p in ordered)


def active_hours(trades: Sequence[HistoryTrade]) -> tuple[int, ...]:
    """Fills per hour of the day (UTC 0-23)."""
    hours = [0] * 24
    for trade in trades:
        hours[(trade.ts_ms // 3_600_000) % 24] += 1
    return tuple(hours)
