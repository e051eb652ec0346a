"""The status bar: mode badge, balance, equity, today's P&L, engine state and the UTC clock."""

from __future__ import annotations

from datetime import datetime

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label

from polytui.tui import fmt
from polytui.tui.state import ConsoleState


def mode_badge(state: ConsoleState) -> tuple[str, str]:
    """The badge text and its class: DEMO, LIVE (red) or PAPER."""
    if state.engine.demo:
        return "DEMO", "demo-mode"
    if state.engine.mode == "live":
        return "LIVE", "live-mode"
    return "PAPER", "paper-mode"


def engine_flags(state: ConsoleState) -> str:
    """KILLED / HALTED / PAUSED, most severe first, or RUNNING."""
    engine, risk = state.engine, state.risk
    if engine.killed or risk.killed:
        return "KILLED"
    if engine.halted or risk.halted:
        return "HALTED"
    if engine.paused or risk.paused:
        return "PAUSED"
    return "RUNNING"


class StatusBar(Horizontal):
    """One line across the top; each field is a Label so the stylesheet can colour it."""

    attached = ""
    """``ATTACHED pid 14266`` when the console is attached to a daemon (quitting only
    detaches), else empty."""

    def compose(self) -> ComposeResult:
        yield Label("polytui", id="brand")
        yield Label("PAPER", id="mode", classes="paper-mode")
        yield Label("", id="balance")
        yield Label("", id="equity")
        yield Label("", id="today")
        yield Label("RUNNING", id="flags")
        yield Label("", id="attached")
        yield Label("", id="clock")

    def refresh_view(self, state: ConsoleState, now: datetime) -> None:
        """Redraw every field from ``state``; ``now`` comes from the app's injected clock."""
        badge, badge_class = mode_badge(state)
        mode = self.query_one("#mode", Label)
        fmt.set_text(mode, f" {badge} ")
        for cls in ("demo-mode", "live-mode", "paper-mode"):
            mode.set_class(cls == badge_class, cls)
        # Live: the whole bar turns red, not only the badge, so real money is never mistaken.
        self.set_class(badge_class == "live-mode", "live-mode")
        pnl = state.pnl
        balance = f"bal {fmt.money(pnl.cash_usd)}"
        fmt.set_text(self.query_one("#balance", Label), balance, layout=True)
        equity = f"eq {fmt.money(pnl.equity_usd)}"
        fmt.set_text(self.query_one("#equity", Label), equity, layout=True)
        today = self.query_one("#today", Label)
        fmt.set_text(today, f"today {fmt.signed_money(pnl.today_usd)}", layout=True)
        today.set_class(pnl.today_usd < 0, "loss")
        today.set_class(pnl.today_usd > 0, "gain")
        flags_text = engine_flags(state)
        flags = self.query_one("#flags", Label)
        fmt.set_text(flags, flags_text)
        for name in ("KILLED", "HALTED", "PAUSED"):
            flags.set_class(flags_text == name, name.lower())
        fmt.set_text(self.query_one("#attached", Label), self.attached, layout=True)
        fmt.set_text(self.query_one("#clock", Label), now.strftime("%H:%M:%S UTC"))
