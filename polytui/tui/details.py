"""Field lists for the detail and approval dialogs (what a trader checks before saying yes)."""

from __future__ import annotations

from datetime import datetime

from polytui.model import FeedStatus, Position, Side, Signal, TradeIntent
from polytui.tui import fmt
from polytui.tui.approvals import (
    expected_fill,
    headroom_after,
    market_exposure,
    slippage_cents,
    ttl_s,
)
from polytui.tui.state import ConsoleState

Lines = list[tuple[str, str]]

NOT_MINED = "not yet mined: seen pending in the mempool; withdrawn if it never is"


def room_line(intent: TradeIntent, state: ConsoleState) -> str:
    """``$8.08 under market exposure ($15.00 cap, $0.00 held in this market)``."""
    room = headroom_after(intent, state)
    if room is None:
        return fmt.DASH
    name, amount = room
    caps = {limit.name: limit for limit in state.risk.limits}
    detail = ""
    if name == "market exposure" and name in caps:
        held = market_exposure(intent.condition_id, state.positions)
        detail = f" ({fmt.money(caps[name].limit)} cap, {fmt.money(held)} held in this market)"
    elif name in caps:
        detail = f" ({fmt.money(caps[name].used)} of {fmt.money(caps[name].limit)} used)"
    return f"{fmt.money(amount)} under {name}{detail}"


def whale_line(wallets: tuple[str, ...], aliases: dict[str, str]) -> str:
    """The whale by alias, with the other members of a cluster."""
    if not wallets:
        return fmt.DASH
    names = [fmt.wallet(w, aliases) for w in wallets]
    return names[0] if len(names) == 1 else f"{names[0]} + {', '.join(names[1:])}"


def intent_lines(
    intent: TradeIntent, state: ConsoleState, now: datetime, aliases: dict[str, str] | None = None
) -> Lines:
    """Everything about a pending trade, priced against the live book."""
    fill = expected_fill(intent, state)
    left = ttl_s(intent, now)
    signal = state.signals.get(intent.signal_id)
    wallets = signal.wallets if signal is not None else (intent.wallet,) if intent.wallet else ()
    return [
        ("market", intent.market_question or intent.condition_id),
        ("trade", f"{intent.side.value} {intent.outcome}"),
        ("shares", fmt.shares(intent.shares)),
        ("limit price", fmt.price(intent.limit_price)),
        ("sized on", fmt.price(intent.sized_price)),
        ("expected fill", fmt.price(fill)),
        ("whale price", fmt.price(intent.whale_price)),
        ("vs whale", fmt.cents(slippage_cents(intent, fill)) + " per share"),
        ("cost", fmt.money(intent.usd)),
        ("expected fee", fmt.money(intent.expected_fee_usd)),
        ("headroom after", room_line(intent, state)),
        *edge_lines(intent),
        *([("second opinion", intent.advice)] if intent.advice else []),
        ("whale", whale_line(wallets, aliases or {})),
        *([("whale tx", NOT_MINED)] if signal is not None and signal.pending_tx else []),
        ("expires in", fmt.countdown(left) if left > 0 else "expired"),
        ("intent", intent.id),
    ]


def edge_lines(intent: TradeIntent) -> Lines:
    """What sized an entry, per share: the net edge, from the whale's edge ± its uncertainty,
    the latency tax expected at our source's delay and our fee; an exit has its confidence."""
    if intent.side is not Side.BUY:
        return [("confidence", fmt.percent(intent.confidence))]
    return [
        (
            "net edge",
            f"{fmt.cents(intent.net_edge * 100)} (whale {intent.whale_edge * 100:+.1f}"
            f"±{intent.whale_edge_se * 100:.1f}, tax {intent.latency_tax * 100:+.1f}, "
            f"fee {intent.fee_per_share * 100:.1f}¢)",
        )
    ]


def signal_lines(signal: Signal, aliases: dict[str, str]) -> Lines:
    """A signal with its status reason and the whale trades behind it."""
    lines: Lines = [
        ("market", signal.market_question or signal.condition_id),
        ("outcome", f"{signal.side.value} {signal.outcome}"),
        ("whale price", fmt.price(signal.whale_price)),
        ("current", fmt.price(signal.current_price)),
        ("size", fmt.money(signal.usd)),
        ("whale", whale_line(signal.wallets, aliases)),
        ("confidence", fmt.percent(signal.confidence)),
        ("status", signal.status.value + (" · not yet mined" if signal.pending_tx else "")),
        ("reason", signal.reason or fmt.DASH),
        ("seen", signal.created_at.strftime("%Y-%m-%d %H:%M:%S UTC")),
    ]
    for trade in signal.trades[:8]:
        lines.append(
            (
                fmt.wallet(trade.wallet, aliases),
                f"{trade.side.value} {fmt.shares(trade.shares)} @ {fmt.price(trade.price)}"
                f" via {trade.source.value} ({fmt.seconds(trade.latency_ms / 1000)})"
                + (", not yet mined" if trade.pending_tx else ""),
            )
        )
    lines.append(("signal", signal.id))
    return lines


def position_lines(position: Position, now: datetime) -> Lines:
    """A position with marks and time to resolution."""
    if position.end_time is None:
        resolves = fmt.DASH
    elif position.awaiting_resolution(now):
        resolves = "awaiting resolution (past its end time, not settled yet)"
    else:
        left = fmt.countdown((position.end_time - now).total_seconds())
        resolves = f"{position.end_time:%Y-%m-%d %H:%M} UTC (in {left})"
    return [
        ("market", position.market_question or position.condition_id),
        ("outcome", position.outcome),
        ("shares", fmt.shares(position.shares)),
        ("average price", fmt.price(position.avg_price)),
        ("cost", fmt.money(position.cost_usd)),
        ("fees", fmt.money(position.fees_usd)),
        ("mark (best bid)", fmt.price(position.mark_price)),
        ("mid", fmt.price(position.mid_price)),
        ("unrealized", fmt.signed_money(position.unrealized_usd)),
        ("resolves", resolves),
        ("token", position.token_id),
    ]


def feed_lines(feed: FeedStatus) -> Lines:
    """A feed's counters."""
    return [
        ("state", feed.state.value),
        ("connected", "yes" if feed.connected else "no"),
        ("last data", fmt.age(feed.last_data_age_s)),
        ("messages", f"{feed.messages:,} ({feed.messages_per_s:.1f}/s)"),
        ("rejected", f"{feed.rejected:,}"),
        ("reconnects", str(feed.reconnects)),
        ("connections", str(feed.connections)),
        ("latency", fmt.DASH if feed.latency_ms is None else fmt.seconds(feed.latency_ms / 1000)),
        ("detail", feed.detail or fmt.DASH),
    ]
