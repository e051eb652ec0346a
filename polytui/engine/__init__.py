"""The engine: the only owner of trading state, as a few collaborators with one job each.

- ``core.Engine``: the state owner and single writer (journal, portfolio, bus), the trade
  flow, the tick, and the ``EngineAPI`` the front ends use; ``commands`` holds the operator's
  commands it runs, ``store`` the state it saves and restores.
- ``orders.OrderDesk``: the order lifecycle: orders from intents and exits, the tasks in
  flight, and a buy's exposure until the broker reports.
- ``supervisor.FeedSupervisor``: feed tasks, health rows, staleness, book subscriptions;
  ``BookWatch`` the books a trade waits for.
- ``catchup``: the restart cursor, written (``CursorKeeper``) and read (``catch_up_plan``).
- ``inbox.Inbox``: what the feeds hand the single writer, as data; ``interest.Interest``: what
  the feeds ask the engine (books in use, markets awaiting a result).
- ``ports``: the Protocols every collaborator is typed by; ``parts.EngineParts``: the whole
  set, built by ``polytui.wiring`` before the engine.
"""

from polytui.engine.catchup import CURSOR_KEY, CatchUp, CursorKeeper, catch_up_plan
from polytui.engine.core import Engine
from polytui.engine.inbox import Inbox
from polytui.engine.interest import Interest
from polytui.engine.orders import OrderDesk, OrderTypes
from polytui.engine.parts import TICK_S, EngineParts
from polytui.engine.signals import SIGNALS_KEPT
from polytui.engine.supervisor import (
    WHALE_SOURCES,
    BookWatch,
    FeedSupervisor,
    freeze_heap,
    merged_stream_status,
)

__all__ = [
    "CURSOR_KEY",
    "SIGNALS_KEPT",
    "TICK_S",
    "WHALE_SOURCES",
    "BookWatch",
    "CatchUp",
    "CursorKeeper",
    "Engine",
    "EngineParts",
    "FeedSupervisor",
    "Inbox",
    "Interest",
    "OrderDesk",
    "OrderTypes",
    "catch_up_plan",
    "freeze_heap",
    "merged_stream_status",
]
