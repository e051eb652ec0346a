"""The connection health pane: one row per feed; stale or down feeds turn red."""

from __future__ import annotations

from datetime import datetime

from textual.app import ComposeResult

from polytui.model import FeedState, FeedStatus
from polytui.tui import fmt
from polytui.tui.pane import Pane
from polytui.tui.state import ConsoleState
from polytui.tui.table import Column, KeyedTable, Row

WIDE = (
    Column("feed", "Feed", 8),
    Column("state", "State", 12),
    Column("age", "Last data", 9, right=True),
    Column("rate", "Msg/s", 6, right=True),
    Column("rejected", "Bad", 4, right=True),
    Column("reconnects", "Reconn", 6, right=True),
    Column("latency", "Latency", 7, right=True),
)
COMPACT = (
    Column("feed", "Feed", 8),
    Column("state", "State", 10),
    Column("age", "Age", 6, right=True),
    Column("reconnects", "Rec", 3, right=True),
)

# Matches RiskSettings.stale_feed_halt_s's default: data older than this is stale.
STALE_AFTER_S = 30.0


def is_stale(feed: FeedStatus, stale_after_s: float = STALE_AFTER_S) -> bool:
    """A feed is stale when it is not live or its data is older than ``stale_after_s``
    (silence is judged by data, never by pings)."""
    if feed.state is FeedState.DISABLED:
        return False
    if feed.state is not FeedState.LIVE:
        return True
    return feed.last_data_age_s is None or feed.last_data_age_s > stale_after_s


class HealthPane(Pane):
    """Feed states, data age, message rate, rejects, reconnects and latency."""

    TITLE = "Connection health"
    WIDE = WIDE
    COMPACT = COMPACT
    WIDE_MIN_WIDTH = 64

    def __init__(self, *, id: str = "health", stale_after_s: float = STALE_AFTER_S) -> None:
        super().__init__(id=id)
        self.stale_after_s = stale_after_s

    def compose(self) -> ComposeResult:
        self.table = KeyedTable(self.columns(), id="health-table")
        yield self.table

    def draw(self, state: ConsoleState, now: datetime) -> None:
        if self.table is None:
            return
        rows: list[Row] = []
        classes: dict[str, str] = {}
        for feed in state.feeds:
            stale = is_stale(feed, self.stale_after_s)
            shown_state = feed.state.value + (
                " (stale)" if stale and feed.state.value == "live" else ""
            )
            latency = fmt.DASH if feed.latency_ms is None else f"{feed.latency_ms:.0f}ms"
            values = {
                "feed": feed.name,
                "state": feed.state.value if self.compact else shown_state,
                "age": fmt.age(feed.last_data_age_s),
                "rate": f"{feed.messages_per_s:.1f}",
                "rejected": str(feed.rejected),
                "reconnects": str(feed.reconnects),
                "latency": latency,
            }
            rows.append((feed.name, tuple(values[c.key] for c in self.columns())))
            if stale:
                classes[feed.name] = "stale"
            elif feed.state is FeedState.DISABLED:
                classes[feed.name] = "muted"
        self.table.sync(rows, classes)
        stale_count = sum(1 for c in classes.values() if c == "stale")
        self.set_class(stale_count > 0, "stale")
        self.border_subtitle = f"{stale_count} stale" if stale_count else "all live"
