"""The risk pane: every limit as used / limit with a bar, plus halt, pause and kill state."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from textual.app import ComposeResult
from textual.widgets import Static

from polytui.model import LimitUse
from polytui.tui import fmt
from polytui.tui.pane import Pane
from polytui.tui.state import ConsoleState
from polytui.tui.table import Column, KeyedTable, Row

WIDE = (
    Column("limit", "Limit", 15),
    Column("bar", "Use", 10),
    Column("used", "Used / limit", 17, right=True),
)
COMPACT = (
    Column("limit", "Limit", 13),
    Column("bar", "Use", 6),
    Column("used", "Used/max", 7, right=True),
)

SOON_SHARE = Decimal("0.75")
URGENT_SHARE = Decimal("0.9")


def amount(limit: LimitUse, value: Decimal) -> str:
    """A limit's value in its own unit (USD, count...)."""
    return fmt.money(value) if limit.unit == "usd" else f"{value:,.0f}"


def share_used(limit: LimitUse) -> Decimal:
    """Used / limit (1 when the limit is zero and anything is used)."""
    if limit.limit <= 0:
        return Decimal(1) if limit.used > 0 else Decimal(0)
    return limit.used / limit.limit


class RiskPane(Pane):
    """Limit bars and the engine's brakes (daily-loss halt, pause, kill)."""

    TITLE = "Risk"
    WIDE = WIDE
    COMPACT = COMPACT
    WIDE_MIN_WIDTH = 46

    def compose(self) -> ComposeResult:
        self.table = KeyedTable(self.columns(), id="risk-table")
        yield self.table
        yield Static("", id="risk-flags", markup=False)

    def draw(self, state: ConsoleState, now: datetime) -> None:
        if self.table is None:
            return
        rows: list[Row] = []
        classes: dict[str, str] = {}
        for limit in state.risk.limits:
            if self.compact:
                # Whole units: the exact amounts are one tab away in the wide layout.
                cells = (
                    fmt.clip(limit.name, 13),
                    fmt.bar(limit.used, limit.limit, 6),
                    f"{limit.used:.0f}/{limit.limit:.0f}",
                )
            else:
                used = f"{amount(limit, limit.used)} / {amount(limit, limit.limit)}"
                cells = (limit.name, fmt.bar(limit.used, limit.limit, 10), used)
            rows.append((limit.name, cells))
            share = share_used(limit)
            if share >= URGENT_SHARE:
                classes[limit.name] = "urgent"
            elif share >= SOON_SHARE:
                classes[limit.name] = "soon"
        self.table.sync(rows, classes)
        engine, risk = state.engine, state.risk
        halted = engine.halted or risk.halted
        reason = engine.halt_reason or risk.halt_reason
        paused = engine.paused or risk.paused
        killed = engine.killed or risk.killed
        flags = (
            "entries: " + ("PAUSED" if paused else "on")
            + "  kill: " + ("KILLED" if killed else "off")
            + "\nhalt: " + (f"HALTED ({reason})" if halted else "no")
        )  # fmt: skip
        fmt.set_text(self.query_one("#risk-flags", Static), flags)
        self.set_class(halted or killed, "halted")
        self.set_class(paused, "paused")
