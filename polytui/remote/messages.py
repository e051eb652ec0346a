"""The bot's texts: pure functions from domain objects to plain-text Telegram messages.

Plain text (no ``parse_mode``), so a market question with ``*`` or ``<`` in it can never break a
message; every text is cut to Telegram's 4,096 characters (HISTORY-MEMPOOL-REMOTE.md §3.1).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from polytui.events import Snapshot
from polytui.model import (
    ZERO,
    EngineState,
    FeedState,
    FeedStatus,
    Fill,
    PnLSnapshot,
    Position,
    Signal,
    TradeIntent,
)

MAX_TEXT = 4096
MAX_CALLBACK_DATA = 64
MAX_ANSWER = 200
POSITIONS_SHOWN = 20


def cut(text: str, limit: int = MAX_TEXT) -> str:
    """``text`` within ``limit`` characters, an ellipsis marking a cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def usd(amount: Decimal | None) -> str:
    """``$1,234.56``; ``-$0.35``; a dash when unknown."""
    if amount is None:
        return "—"
    sign = "-" if amount < 0 else ""
    return f"{sign}${abs(amount):,.2f}"


def signed_usd(amount: Decimal) -> str:
    """P&L with its sign: ``+$1.20``."""
    return ("+" if amount >= 0 else "") + usd(amount)


def net_edge_usd(intent: TradeIntent) -> Decimal:
    """Expected profit of the whole order after fees, by the strategy's own estimate: the net
    edge per share that sized it (``strategy.sizing``, fee and latency tax already off) times
    the shares."""
    if intent.shares <= 0:
        return ZERO
    return (intent.net_edge * intent.shares).quantize(Decimal("0.01"))


def market_name(question: str, token_id: str) -> str:
    """The market's question, or a shortened token id when it is not known yet."""
    return question.strip() or f"token {token_id[:10]}…"


def approval_text(intent: TradeIntent, now: datetime) -> str:
    """The prompt sent with Approve / Reject buttons."""
    ttl = max(0, int((intent.expires_at - now).total_seconds()))
    return cut(
        "\n".join(
            (
                f"Approve? {intent.side.value.upper()} {intent.outcome}",
                market_name(intent.market_question, intent.token_id),
                f"size {intent.shares} shares, {usd(intent.usd)}",
                f"price {intent.limit_price} limit (sized at {intent.sized_price}, "
                f"whale {intent.whale_price})",
                f"fee {usd(intent.expected_fee_usd)}, net edge {signed_usd(net_edge_usd(intent))}",
                f"whale edge {intent.whale_edge} ± {intent.whale_edge_se}, latency tax "
                f"{intent.latency_tax} a share",
                f"confidence {intent.confidence}, TTL {ttl} s (until {intent.expires_at:%H:%M:%S}"
                " UTC)",
                f"id {intent.id}",
            )
        )
    )


def decided_text(intent: TradeIntent, now: datetime, note: str = "") -> str:
    """The approval prompt once decided: same facts, the outcome, no buttons."""
    head = approval_text(intent, now).split("\n")
    head[0] = f"{intent.side.value.upper()} {intent.outcome}"
    outcome = f"→ {intent.status.value.upper()}"
    if intent.reason:
        outcome += f": {intent.reason}"
    if note:
        outcome += f" ({note})"
    lines = [line for line in head if not line.startswith("confidence")]
    return cut("\n".join([*lines, outcome]))


def fill_text(fill: Fill, question: str = "") -> str:
    """A fill of one of our orders."""
    total = fill.shares * fill.avg_price
    return cut(
        f"Filled {fill.side.value.upper()} {fill.shares} @ {fill.avg_price} = {usd(total)} "
        f"(fee {usd(fill.fee_usd)}, {fill.broker})\n"
        f"{market_name(question, fill.token_id)}\nintent {fill.intent_id}"
    )


def risk_text(what: str, question: str, token_id: str, reason: str) -> str:
    """A trade the risk guard refused."""
    return cut(f"Refused by risk: {what}\n{market_name(question, token_id)}\n{reason}")


def risk_intent_text(intent: TradeIntent) -> str:
    """An intent refused by risk when it was approved."""
    what = f"{intent.side.value.upper()} {intent.shares} {intent.outcome} ({intent.id})"
    return risk_text(what, intent.market_question, intent.token_id, intent.reason)


def risk_signal_text(signal: Signal) -> str:
    """A signal that never became an intent because risk said no."""
    what = f"{signal.side.value.upper()} {signal.outcome} after {len(signal.wallets)} whale(s)"
    return risk_text(what, signal.market_question, signal.token_id, signal.reason)


def state_word(state: EngineState) -> str:
    """killed, halted, paused or running."""
    if state.killed:
        return "KILLED"
    if state.halted:
        return "HALTED"
    return "PAUSED" if state.paused else "running"


def state_change_text(before: EngineState | None, after: EngineState) -> str | None:
    """The halt / kill / pause change between two states, or None when none matters."""
    if before is None:
        return None
    if after.killed and not before.killed:
        return "KILL SWITCH ON: new entries stopped, pending trades rejected"
    if after.halted and not before.halted:
        return f"HALTED: {after.halt_reason or 'new entries stopped'}"
    if before.halted and not after.halted:
        return "halt cleared: entries allowed again"
    if after.paused != before.paused and not after.killed:
        return "PAUSED: no new entries" if after.paused else "resumed: entries allowed again"
    return None


def feed_down_text(feed: FeedStatus, down_s: float) -> str:
    """A feed down longer than the alert threshold."""
    detail = f" ({feed.detail})" if feed.detail else ""
    return f"Feed {feed.name} {feed.state.value} for {int(down_s)} s{detail}"


def feed_back_text(feed: FeedStatus, down_s: float) -> str:
    """A feed that came back after an alert."""
    return f"Feed {feed.name} back ({feed.state.value}) after {int(down_s)} s"


def pnl_lines(pnl: PnLSnapshot) -> list[str]:
    """Equity, cash and P&L."""
    return [
        f"equity {usd(pnl.equity_usd)}, cash {usd(pnl.cash_usd)}",
        f"today {signed_usd(pnl.today_usd)}, realized {signed_usd(pnl.realized_usd)}, "
        f"unrealized {signed_usd(pnl.unrealized_usd)}, fees {usd(pnl.fees_usd)}",
    ]


def feeds_line(feeds: Iterable[FeedStatus]) -> str:
    """``feeds: clob connected, rtds down``."""
    parts = [f"{f.name} {f.state.value}" for f in feeds]
    return "feeds: " + (", ".join(parts) or "none")


def status_text(snapshot: Snapshot) -> str:
    """/status: mode, flags, money, queue and feeds."""
    state = snapshot.state
    bad = [f for f in snapshot.feeds if f.state in (FeedState.DOWN, FeedState.DEGRADED)]
    lines = [
        f"polytui {state.mode}: {state_word(state)}"
        + (f" ({state.halt_reason})" if state.halted and state.halt_reason else ""),
        *pnl_lines(snapshot.pnl),
        f"open positions {len(snapshot.positions)}, pending approvals {len(snapshot.intents)}",
        feeds_line(snapshot.feeds),
    ]
    if bad:
        lines.append("attention: " + ", ".join(f.name for f in bad))
    return cut("\n".join(lines))


def positions_text(positions: tuple[Position, ...]) -> str:
    """/positions: each open position, soonest resolution first."""
    if not positions:
        return "No open positions."
    lines = [f"{len(positions)} open position(s):"]
    for p in positions[:POSITIONS_SHOWN]:
        mark = f", mark {p.mark_price}" if p.mark_price is not None else ""
        ends = f", ends {p.end_time:%Y-%m-%d %H:%M}" if p.end_time else ""
        lines.append(
            f"• {p.outcome} {p.shares} @ {p.avg_price} ({usd(p.cost_usd)}{mark}{ends})\n"
            f"  {market_name(p.market_question, p.token_id)}"
        )
    if len(positions) > POSITIONS_SHOWN:
        lines.append(f"… and {len(positions) - POSITIONS_SHOWN} more")
    return cut("\n".join(lines))


def summary_text(snapshot: Snapshot, fills_today: int, fees_today: Decimal, dropped: int) -> str:
    """The daily summary."""
    lines = [
        f"Daily summary ({snapshot.state.mode}, {state_word(snapshot.state)})",
        *pnl_lines(snapshot.pnl),
        f"fills since the last summary {fills_today} (fees {usd(fees_today)}), "
        f"wins {snapshot.pnl.wins}, losses {snapshot.pnl.losses}",
        f"open positions {len(snapshot.positions)}",
        feeds_line(snapshot.feeds),
    ]
    if dropped:
        lines.append(f"{dropped} message(s) dropped by the bot's queue so far")
    return cut("\n".join(lines))


HELP_TEXT = (
    "Commands: /status, /positions, /pause, /resume, /kill (asks to confirm).\n"
    "Approve or reject pending trades with the buttons under each prompt."
)
