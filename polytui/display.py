"""How money, prices, share counts and cents read wherever a trader sees them.

The console's cells, the engine's log lines, ``polytui status`` and ``polytui report`` all print
through these functions, so one fill reads the same everywhere: ``40.84`` shares, ``@ 0.620``,
``$25.32``, fee ``$0.48``, ``+1.0¢`` (never ``0.620000`` in one place and ``$0.62`` in another).
Plain functions of Decimal values; no I/O, no UI.
"""

from __future__ import annotations

from decimal import Decimal

from polytui.model import Fill, Market, Position, Resolution

DASH = "—"


def money(amount: Decimal | None, *, plus: str = "") -> str:
    """``$1,234.56`` / ``-$0.35`` (cents, half-even as Decimal rounds); a dash when unknown.
    ``plus`` is what stands before an amount that is not negative (``signed_money``: "+")."""
    if amount is None:
        return DASH
    sign = "-" if amount < 0 else plus
    return f"{sign}${abs(amount):,.2f}"


def signed_money(amount: Decimal | None) -> str:
    """``+$1.20`` / ``-$0.35``: P&L always shows its sign."""
    return money(amount, plus="+")


def price(value: Decimal | None) -> str:
    """A probability price with three decimals (tick sizes go down to 0.001)."""
    if value is None:
        return DASH
    return f"{value:.3f}"


def shares(value: Decimal) -> str:
    """Share counts with two decimals (the CLOB size increment)."""
    return f"{value:,.2f}"


def cents(value: Decimal | None) -> str:
    """Signed cents per share, e.g. ``+1.5¢`` (positive = worse than the whale)."""
    if value is None:
        return DASH
    sign = "-" if value < 0 else "+"
    return f"{sign}{abs(value):.1f}¢"


def percent(value: Decimal | None) -> str:
    """A ratio in [0, 1] as a whole percentage."""
    if value is None:
        return DASH
    return f"{value * 100:.0f}%"


def below(value: Decimal, floor: Decimal) -> str:
    """``48% below 55%``, as the Conf column shows confidence; one decimal when whole
    percentages would read the same (``54.8% below 55.0%``)."""
    shown, limit = percent(value), percent(floor)
    if shown == limit:
        shown, limit = f"{value * 100:.1f}%", f"{floor * 100:.1f}%"
    return f"{shown} below {limit}"


def trade(side: str, shares_count: Decimal, outcome: str, at: Decimal) -> str:
    """``BUY 40.84 Yes @ 0.620``: what was traded, as every log line and toast says it."""
    what = f"{side} {shares(shares_count)}"
    return f"{what} {outcome} @ {price(at)}" if outcome else f"{what} @ {price(at)}"


def fill_text(fill: Fill, market: Market | None) -> str:
    """``filled BUY 40.84 Yes @ 0.620 for $25.32, fee $0.48 · Will Spain win …?``"""
    found = market.outcome_for(fill.token_id) if market is not None else None
    what = trade(fill.side.value, fill.shares, found.name if found else "", fill.avg_price)
    text = f"filled {what} for {money(fill.notional_usd)}, fee {money(fill.fee_usd)}"
    return f"{text} · {market.question}" if market is not None and market.question else text


def settlement_text(
    resolution: Resolution, held: dict[str, Position], settled: list[dict[str, str]]
) -> str:
    """``resolved (ws): Will Spain win …? — 40.19 Yes won, paid $40.19; realized +$14.80``:
    the market, what we held, what it paid and the P&L, from the portfolio's settlement rows
    (``token_id``, ``shares``, ``payout_usd``, ``pnl_usd``) and the positions held before."""
    positions = [held[row["token_id"]] for row in settled if row["token_id"] in held]
    question = next((p.market_question for p in positions if p.market_question), "")
    parts = []
    realized = Decimal(0)
    for row in settled:
        position = held.get(row["token_id"])
        paid, pnl = Decimal(row["payout_usd"]), Decimal(row["pnl_usd"])
        realized += pnl
        verdict = "void" if resolution.void else ("won" if paid > 0 else "lost")
        outcome = f" {position.outcome}" if position is not None and position.outcome else ""
        parts.append(f"{shares(Decimal(row['shares']))}{outcome} {verdict}, paid {money(paid)}")
    market = question or f"market {resolution.condition_id[:10]}…"
    return (
        f"resolved ({resolution.source}): {market} — {'; '.join(parts)}; "
        f"realized {signed_money(realized)}"
    )
