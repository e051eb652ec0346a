"""The connection health pane: one row per feed; stale or down feeds turn red."""

from __future__ import annotations

from datetime import datetime

from textual.app import ComposeResult

from polytui.model import FeedState, FeedStatus
from polytui.tui import fmt
from polytui.tui.pane import Pane
from polytui.tui.state import ConsoleState
from polytui.tui.table import Column, KeyedTable, Row

COLUMNS = (
    Column("feed", "Feed", 8),
    Column("state", "State", 10),
    Column("age", "Last data", 9, right=True),
    Column("rate", "Msg/s", 6, right=True, drop=3),
    Column("rejected", "Bad", 4, right=True, drop=2),
    Column("reconnects", "Reconn", 6, right=True, drop=1),
    Column("latency", "Latency", 7, right=True, drop=2),
)

# Feeds whose silence is not staleness: gamma is asked only when something needs it (so are
# the advisors, matched by prefix below), the resolver polls every resolution_poll_s (30 s, as
# long as the stale limit), the warm-up refreshes every warm_refresh_s (120 s), and the merged
# stream is quiet while the whales are (the engine gives it its sources' state). Each is stale
# only when its own state says it is failing.
ON_DEMAND = frozenset({"gamma", "resolver", "stream", "warm"})

# Matches RiskSettings.stale_feed_halt_s's default: data older than this is stale.
STALE_AFTER_S = 30.0


def is_stale(feed: FeedStatus, stale_after_s: float = STALE_AFTER_S) -> bool:
    """A feed is stale when it is not live or its data is older than ``stale_after_s``
    (silence is judged by data, never by pings). An on-demand source is stale only when its
    requests fail."""
    if feed.state is FeedState.DISABLED:
        return False
    if feed.name in ON_DEMAND or feed.name.startswith("advisor "):
        return feed.state in (FeedState.DEGRADED, FeedState.DOWN)
    if feed.state is not FeedState.LIVE:
        return True
    return feed.last_data_age_s is None or feed.last_data_age_s > stale_after_s


class HealthPane(Pane):
    """Feed states, data age, message rate, rejects, reconnects and latency."""

    TITLE = "Connection health"
    COLUMNS = COLUMNS

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
            # "stale" in words at every width: colour alone is lost under NO_COLOR.
            shown_state = "stale" if stale and feed.state is FeedState.LIVE else feed.state.value
            latency = None if feed.latency_ms is None else feed.latency_ms / 1000
            values = {
                "feed": feed.name,
                "state": shown_state,
                "age": fmt.age(feed.last_data_age_s),
                "rate": f"{feed.messages_per_s:.1f}",
                "rejected": str(feed.rejected),
                "reconnects": str(feed.reconnects),
                "latency": fmt.seconds(latency),
            }
            rows.append((feed.name, self.pick(values)))
            if stale:
                classes[feed.name] = "stale"
            elif feed.state is FeedState.DISABLED:
                classes[feed.name] = "muted"
        self.table.sync(rows, classes)
        stale_count = sum(1 for c in classes.values() if c == "stale")
        self.set_class(stale_count > 0, "stale")
        self.border_subtitle = f"{stale_count} stale" if stale_count else "all live"
