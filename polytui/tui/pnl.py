"""The P&L pane: realized, unrealized, today, fees, win rate, latency tax and the equity chart."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import Static

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
LABEL_WIDTH = 8
# Between one metric's value and the next metric's label.
GAP = 2
BLOCKS = " ▁▂▃▄▅▆▇█"
# The chart's vertical scale spans at least this share of the starting equity, so a 0.1 %
# move draws as a small step, not a cliff.
MIN_SPAN_SHARE = Decimal("0.01")


def metric_lines(
    values: Sequence[tuple[str, str, str]], width: int
) -> list[list[tuple[str, str, str]]]:
    """Metrics two per line when both fit in ``width`` with a gap, else one per line; every
    value is padded to the widest so amounts never touch the next label nor wrap."""
    value_width = max((len(v) for _, v, _ in values), default=0)
    per_line = 2 if 2 * (LABEL_WIDTH + 1 + value_width) + GAP <= width else 1
    return [list(values[i : i + per_line]) for i in range(0, len(values), per_line)]


def chart_rows(points: Sequence[Decimal], width: int, height: int) -> tuple[list[str], str]:
    """The equity history as ``height`` rows of block characters, one sample per column
    (newest at the right), on a scale that includes the first point; plus a caption."""
    if width <= 0 or height <= 0 or not points:
        return [], ""
    shown = list(points[-width:])
    start = points[0]
    low, high = min(*shown, start), max(*shown, start)
    span = max(high - low, abs(start) * MIN_SPAN_SHARE, Decimal("0.01"))
    middle = (high + low) / 2
    low, high = middle - span / 2, middle + span / 2
    levels = height * 8
    columns = []
    for value in shown:
        eighths = int(((value - low) / span * levels).to_integral_value(ROUND_HALF_UP))
        columns.append(max(1, min(levels, eighths)))
    rows = []
    for row in range(height):
        floor = (height - 1 - row) * 8
        line = "".join(BLOCKS[max(0, min(8, level - floor))] for level in columns)
        rows.append(line.rjust(width))
    caption = f"{fmt.money(low)} – {fmt.money(high)} · now {fmt.money(points[-1])}"
    return rows, caption


class EquityChart(Widget):
    """Equity over time, drawn to the widget's full size with an honest scale."""

    DEFAULT_CSS = """
    EquityChart { height: 1fr; }
    """

    def __init__(self, *, id: str) -> None:
        super().__init__(id=id)
        self.points: tuple[Decimal, ...] = ()

    def set_points(self, points: tuple[Decimal, ...]) -> None:
        """New history (the current equity last); redraws only on change."""
        if points != self.points:
            self.points = points
            self.refresh()

    def render(self) -> Text:
        width, height = self.size.width, self.size.height
        rows, caption = chart_rows(self.points, width, max(0, height - 1))
        text = Text(no_wrap=True, overflow="crop")
        if not rows:
            return text
        text.append(fmt.clip(caption, width).rjust(width) + "\n", style="dim")
        text.append("\n".join(rows), style="bold")
        return text


class PnLPane(Pane):
    """Portfolio totals; the chart draws the equity history the engine keeps.

    "Lat. tax" is the average cents per share paid over the whale's own price."""

    TITLE = "P&L"
    can_focus = True

    def __init__(self, *, id: str = "pnl") -> None:
        super().__init__(id=id)
        self._values: dict[str, str] = {}
        self._styles: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        yield Static("", id="pnl-metrics", markup=False)
        yield EquityChart(id="pnl-chart")

    def value_text(self, key: str) -> str:
        """The text shown for one metric (tests read it)."""
        return self._values.get(key, fmt.DASH)

    def value_style(self, key: str) -> str:
        """``loss``, ``gain`` or '' for one metric (tests read it)."""
        return self._styles.get(key, "")

    def draw(self, state: ConsoleState, now: datetime) -> None:
        pnl = state.pnl
        signed = {
            "realized": pnl.realized_usd,
            "unrealized": pnl.unrealized_usd,
            "today": pnl.today_usd,
        }
        self._values = {
            "equity": fmt.money(pnl.equity_usd),
            "cash": fmt.money(pnl.cash_usd),
            "realized": fmt.signed_money(pnl.realized_usd),
            "unrealized": fmt.signed_money(pnl.unrealized_usd),
            "today": fmt.signed_money(pnl.today_usd),
            "fees": fmt.money(pnl.fees_usd),
            "winrate": fmt.percent(pnl.win_rate),
            # Average cents per share paid over the whale's price.
            "tax": fmt.cents(pnl.avg_latency_tax_cents),
        }
        styled = []
        self._styles = {}
        for key, label in METRICS:
            amount = signed.get(key)
            if amount is not None:
                self._styles[key] = (
                    "loss" if fmt.is_negative(amount) else "gain" if amount > 0 else ""
                )
            style = {"loss": "red", "gain": "green"}.get(self._styles.get(key, ""), "")
            styled.append((label, self._values[key], style))
        self._draw_metrics(styled)
        self.border_subtitle = f"{pnl.wins}W / {pnl.losses}L" if pnl.wins + pnl.losses else ""
        history = pnl.equity_history
        # The current equity is drawn at once, not at the next history sample.
        points = (*history, pnl.equity_usd) if history or pnl.equity_usd else ()
        self.query_one(EquityChart).set_points(points)

    def _draw_metrics(self, values: list[tuple[str, str, str]]) -> None:
        box = self.query_one("#pnl-metrics", Static)
        width = box.size.width or self.size.width
        value_width = max(len(v) for _, v, _ in values)
        text = Text(no_wrap=True, overflow="crop")
        for n, line in enumerate(metric_lines(values, width)):
            if n:
                text.append("\n")
            for k, (label, value, style) in enumerate(line):
                if k:
                    text.append(" " * GAP)
                text.append(f"{label:<{LABEL_WIDTH}} ", style="dim")
                text.append(f"{value:<{value_width}}", style=style or None)
        box.update(text)

    def on_resize(self, event: events.Resize) -> None:
        self.redraw()  # one or two metrics a line depends on the width
