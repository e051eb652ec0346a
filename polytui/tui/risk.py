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

COLUMNS = (
    Column("limit", "Limit", 15),
    Column("bar", "Use", 4, flex=True, max_width=12, drop=1),
    Column("used", "Used / limit", 17, right=True),
)

SOON_SHARE = Decimal("0.75")
URGENT_SHARE = Decimal("0.9")


def amount(limit: LimitUse, value: Decimal) -> str:
    """A limit's value in its own unit (USD, count...)."""
    return fmt.money(value) if limit.unit == "usd" else f"{value:,.0f}"


def used_text(limit: LimitUse) -> str:
    """``$38.40 / $50.00`` or ``6 / 10``: the exact amounts at every width."""
    return f"{amount(limit, limit.used)} / {amount(limit, limit.limit)}"


def share_used(limit: LimitUse) -> Decimal:
    """Used / limit (1 when the limit is zero and anything is used)."""
    if limit.limit <= 0:
        return Decimal(1) if limit.used > 0 else Decimal(0)
    return limit.used / limit.limit


class RiskPane(Pane):
    """Limit bars and the engine's brakes (daily-loss halt, pause, kill)."""

    TITLE = "Risk"
    COLUMNS = COLUMNS

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
            bar_width = next((c.width for c in self.columns() if c.key == "bar"), 0)
            values = {
                "limit": limit.name,
                "bar": fmt.bar(limit.used, limit.limit, bar_width),
                "used": used_text(limit),
            }
            rows.append((limit.name, self.pick(values)))
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
