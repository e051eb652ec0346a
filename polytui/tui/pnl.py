"""The P&L pane: realized, unrealized, today, fees, win rate, latency tax and equity sparkline."""

from __future__ import annotations

from datetime import datetime

from textual.app import ComposeResult
from textual.containers import Grid
from textual.widgets import Label, Sparkline

from polytui.tui import fmt
from polytui.tui.pane import Pane
from polytui.tui.state import ConsoleState

METRICS = (
    ("equity", "Equity"),
    ("cash", "Cash"),
    ("realized", "Realized"),
    ("unrealized", "Unreal."),
    ("today", "Today"),
    ("fees", "Fees"),
    ("winrate", "Win rate"),
    ("tax", "Lat. tax"),
)


class PnLPane(Pane):
    """Portfolio totals; the sparkline draws the equity history the engine keeps.

    "Lat. tax" is the average cents per share paid over the whale's own price."""

    TITLE = "P&L"
    can_focus = True

    def __init__(self, *, id: str = "pnl") -> None:
        super().__init__(id=id)
        self._history: tuple[object, ...] | None = None

    def compose(self) -> ComposeResult:
        with Grid(id="pnl-grid"):
            for key, label in METRICS:
                yield Label(label, classes="metric-name")
                yield Label(fmt.DASH, id=f"pnl-{key}", classes="metric-value")
        yield Sparkline([], id="pnl-spark")

    def value_text(self, key: str) -> str:
        """The text shown for one metric (tests read it)."""
        return str(self.query_one(f"#pnl-{key}", Label).content)

    def draw(self, state: ConsoleState, now: datetime) -> None:
        pnl = state.pnl
        tax = pnl.avg_latency_tax_cents
        values = {
            "equity": (fmt.money(pnl.equity_usd), None),
            "cash": (fmt.money(pnl.cash_usd), None),
            "realized": (fmt.signed_money(pnl.realized_usd), pnl.realized_usd),
            "unrealized": (fmt.signed_money(pnl.unrealized_usd), pnl.unrealized_usd),
            "today": (fmt.signed_money(pnl.today_usd), pnl.today_usd),
            "fees": (fmt.money(pnl.fees_usd), None),
            "winrate": (fmt.percent(pnl.win_rate), None),
            # Average cents per share paid over the whale's price.
            "tax": (fmt.cents(tax), None),
        }
        for key, (text, signed) in values.items():
            label = self.query_one(f"#pnl-{key}", Label)
            fmt.set_text(label, text)
            if signed is not None:
                label.set_class(fmt.is_negative(signed), "loss")
                label.set_class(signed > 0, "gain")
        self.border_subtitle = f"{pnl.wins}W / {pnl.losses}L" if pnl.wins + pnl.losses else ""
        # Drawing only: the sparkline needs floats; the money itself stays Decimal.
        spark = self.query_one("#pnl-spark", Sparkline)
        if self._history is not pnl.equity_history:
            self._history = pnl.equity_history
            spark.data = [float(x) for x in pnl.equity_history]
