"""Everything an engine is made of, built before it (by ``polytui.wiring``).

The feeds need somewhere to send their events before the engine exists, so the order is:
the inbox, the book watch, the order desk and the interest first; then the feeds, given their
methods; then the engine, given all of it at once. Nothing is set on an engine after it is
built. A replay or a backtest, which hand frames to the parsers themselves, leave those feeds
out of ``feeds`` (see ``polytui.wiring.build_parts``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from polytui.bus import EventBus
from polytui.clock import Clock
from polytui.engine.catchup import CursorKeeper
from polytui.engine.inbox import Inbox
from polytui.engine.interest import Interest
from polytui.engine.orders import OrderDesk
from polytui.engine.ports import (
    Advisors,
    AsyncReports,
    BookChannel,
    Books,
    Broker,
    Feed,
    Journal,
    Markets,
    Portfolio,
    ShardedFeed,
    Strategy,
    WalletWatcher,
    WhaleStream,
)
from polytui.engine.supervisor import BookWatch
from polytui.settings import Settings

TICK_S = 0.25


@dataclass(slots=True)
class EngineParts:
    """The collaborators of one engine, each built whole.

    ``feeds`` are run and shown in their order (``sharded`` ones show a row per connection;
    ``watchers`` are those of them that follow a new watch list);
    ``channel`` takes the book subscriptions (the market channel, or a backtest's stand-in);
    ``reports`` is the broker again when it reports asynchronously (live), else None.
    """

    settings: Settings
    journal: Journal
    strategy: Strategy
    broker: Broker
    portfolio: Portfolio
    books: Books
    markets: Markets
    stream: WhaleStream
    bus: EventBus
    clock: Clock
    inbox: Inbox
    watch: BookWatch
    desk: OrderDesk
    interest: Interest
    cursor: CursorKeeper
    feeds: dict[str, Feed] = field(default_factory=dict)
    sharded: dict[str, ShardedFeed] = field(default_factory=dict)
    watchers: dict[str, WalletWatcher] = field(default_factory=dict)  # follow a reload's wallets
    channel: BookChannel | None = None
    reports: AsyncReports | None = None
    advisors: Advisors | None = None
    mode: str = "paper"
    demo: bool = False
    journal_path: Path | None = None
    tick_s: float = TICK_S  # a backtest (no screen to refresh) ticks less often
