"""Formats domain values (Decimal money, prices, durations, wallets) as short cell text."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

# The formats every screen shares (console, log lines, status, report) live in polytui.display;
# the console's cells read them from here.
from polytui.display import DASH as DASH
from polytui.display import cents as cents
from polytui.display import money as money
from polytui.display import percent as percent
from polytui.display import price as price
from polytui.display import shares as shares
from polytui.display import signed_money as signed_money
from polytui.model import ZERO


def countdown(seconds: float) -> str:
    """A compact duration: ``2d 03h``, ``5h 12m``, ``12m 05s``, ``45s``."""
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours:02d}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def age(seconds: float | None) -> str:
    """How long ago data arrived (a dash when never)."""
    if seconds is None:
        return DASH
    if seconds < 10:
        return f"{seconds:.1f}s"
    return countdown(seconds)


def wallet(address: str, aliases: dict[str, str] | None = None) -> str:
    """The operator's alias for a wallet, else ``0x1234…abcd``."""
    if aliases:
        alias = aliases.get(address) or aliases.get(address.lower())
        if alias:
            return alias
    if len(address) > 12:
        return f"{address[:6]}…{address[-4:]}"
    return address


def clip(text: str, width: int) -> str:
    """Cut ``text`` to ``width`` characters with an ellipsis."""
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def clip_keep(text: str, suffix: str, width: int) -> str:
    """``text`` then `` suffix``, cutting ``text`` (never the suffix) to fit ``width``:
    ``whale-bra… +2`` says a cluster of three, not a cut-off name."""
    if not suffix:
        return clip(text, width)
    return f"{clip(text, max(1, width - len(suffix) - 1))} {suffix}"


def whole_money(amount: Decimal) -> str:
    """``$1,235``: whole dollars, for whale trade sizes where cents are noise."""
    sign = "-" if amount < 0 else ""
    return f"{sign}${abs(amount):,.0f}"


def seconds(value: float | None) -> str:
    """A latency: ``0.04s``, ``2.5s``, ``12s`` (one unit everywhere on screen)."""
    if value is None:
        return DASH
    if value < 1:
        return f"{value:.2f}s"
    return f"{value:.1f}s" if value < 10 else f"{value:.0f}s"


def is_negative(amount: Decimal | None) -> bool:
    """True for a loss (used to pick the ``.loss`` class)."""
    return amount is not None and amount < ZERO


def bar(used: Decimal, limit: Decimal, width: int = 12) -> str:
    """A text bar of ``used / limit`` (``█`` used, ``░`` free), readable without colour."""
    if limit <= 0:
        filled = width if used > 0 else 0
    elif used >= limit or money(used) == money(limit):
        filled = width  # at the limit (to the cent): a full bar, never one block short
    else:
        filled = min(width - 1, int(max(ZERO, used / limit) * width))
    return "█" * filled + "░" * (width - filled)


def set_text(widget: Any, text: str, *, layout: bool = False) -> None:
    """Update a Static/Label only when its text changes, and without a layout pass unless
    asked (``layout=True`` for auto-width fields): a screen layout costs tens of ms, which a
    flood of P&L values or the clock would otherwise pay many times a second. Widgets passed
    without ``layout`` have a fixed size in polytui.tcss."""
    if getattr(widget, "_polytui_text", None) != text:
        widget._polytui_text = text
        widget.update(text, layout=layout)
