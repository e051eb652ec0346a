"""Cold markets wait beside the engine's inbox, never in it.

A whale trade is decided by the inbox's one engine task, the only writer of trading state. A
trade in a market whose metadata or book is not ready would hold that task for a Gamma lookup
and a book subscription (two round trips, or the whole book wait), and every trade behind it
would wait too. Here such a trade is parked instead: its market's lookup and book snapshot run
as one task per market (however many of its trades wait), and when they are done, or after
``timeout_s``, the market's parked trades go back into the inbox in arrival order. A trade in a
ready market is decided at once, unless earlier trades of its market are parked: it joins them,
so one market's trades are always decided in order. News about a parked trade (its pending
transaction mined or dropped) waits behind it too, so it never comes before the trade.

Nothing here touches trading state: the preparation only reads the market cache and asks the
market channel for books; deciding stays the inbox task's job.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable

from polytui.engine.inbox import Inbox, Message, TradeArrived
from polytui.engine.ports import Books, Markets
from polytui.engine.supervisor import BOOK_WAIT_S, FeedSupervisor
from polytui.model import WhaleTrade

log = logging.getLogger(__name__)


class ColdMarkets:
    """Parks trades of markets that are not ready and hands them back to the inbox in order."""

    def __init__(
        self,
        inbox: Inbox,
        *,
        ready: Callable[[WhaleTrade], bool],
        prepare: Callable[[WhaleTrade], Awaitable[str]],
        timeout_s: float = BOOK_WAIT_S,
    ) -> None:
        # ready(trade): can it be decided now (no I/O)? prepare(trade): make its market ready;
        # returns "" when ready, else why not.
        self.inbox = inbox
        self.ready = ready
        self.prepare = prepare
        self.timeout_s = timeout_s
        # market → its parked trades, and the news about them (queued once they are released)
        self._lanes: dict[str, deque[WhaleTrade | Message]] = {}
        # market → dedup keys of its trades handed back and not yet decided (still queued):
        # what arrives for them meanwhile goes back in the queue, behind them
        self._released: dict[str, list[object]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.parked = 0  # trades that waited here
        self.timeouts = 0  # markets whose preparation ran out of time
        self.not_ready = 0  # trades released without their market ready

    @property
    def pending(self) -> int:
        """Trades (and news about them) parked now."""
        return sum(len(lane) for lane in self._lanes.values())

    def park(self, trade: WhaleTrade) -> bool:
        """Park the trade unless its market is ready and none of its trades wait; False when
        it can be decided now."""
        key = trade.condition_id or trade.token_id
        if key in self._released:
            self.inbox.put(TradeArrived(trade))  # behind its market's released trades
            return True
        lane = self._lanes.get(key)
        if lane is None and self.ready(trade):
            return False
        if lane is None:
            lane = self._lanes[key] = deque()
            task = asyncio.create_task(self._prepare(key, trade), name=f"cold:{key[:12]}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        lane.append(trade)
        self.parked += 1
        self._count()
        return True

    def after(self, dedup_key: object, message: Message) -> bool:
        """Queue ``message`` once the parked trade with this dedup key is released; False (and
        nothing done) when no such trade is parked."""
        for lane in self._lanes.values():
            if any(isinstance(t, WhaleTrade) and t.dedup_key == dedup_key for t in lane):
                lane.append(message)
                self._count()
                return True
        if any(dedup_key in keys for keys in self._released.values()):
            self.inbox.put(message)  # its trade is queued, not decided yet: behind it
            return True
        return False

    def decided(self, trade: WhaleTrade) -> None:
        """A released trade is being decided now (the inbox task calls this)."""
        key = trade.condition_id or trade.token_id
        keys = self._released.get(key)
        if keys is not None and trade.dedup_key in keys:
            keys.remove(trade.dedup_key)
            if not keys:
                del self._released[key]

    async def _prepare(self, key: str, trade: WhaleTrade) -> None:
        why = ""
        try:
            why = await asyncio.wait_for(self.prepare(trade), self.timeout_s)
        except TimeoutError:
            self.timeouts += 1
            why = f"market not ready {self.timeout_s:g} s after the trade"
        except Exception as exc:  # a failed lookup releases the trades, never loses them
            log.exception("preparing the market of %s failed", trade.token_id)
            why = f"market lookup failed ({type(exc).__name__})"
        finally:
            lane = self._lanes.pop(key, deque())
            self._count()
        for parked in lane:
            if not isinstance(parked, WhaleTrade):
                self.inbox.put(parked)
                continue
            dropped = self.inbox.dropped
            self.inbox.put(TradeArrived(parked, why))
            if self.inbox.dropped != dropped:
                continue  # a full inbox dropped it (counted there)
            if why:
                self.not_ready += 1
            self._released.setdefault(key, []).append(parked.dedup_key)

    def _count(self) -> None:
        self.inbox.parked = self.pending  # the inbox is not empty while trades wait here

    def close(self) -> None:
        """Stop every preparation (the engine is stopping: parked trades are not decided)."""
        for task in list(self._tasks):
            task.cancel()
        self._lanes.clear()
        self._released.clear()
        self._count()


class Readiness:
    """Whether a trade's market is ready to decide on, and making it so (no trading state)."""

    def __init__(
        self, markets: Markets, books: Books, supervisor: FeedSupervisor, settled: set[str]
    ) -> None:
        self.markets = markets
        self.books = books
        self.supervisor = supervisor
        self.settled = settled  # the engine's settled conditions (read only here)

    def ready(self, trade: WhaleTrade) -> bool:
        """Its market's metadata is cached and its book live, or not needed (no I/O)."""
        market = self.markets.fresh(trade.token_id)
        if market is None:
            return False
        if self.supervisor.channel is None or (
            market.closed or market.unsupported or market.condition_id in self.settled
        ):
            return True
        book = self.books.get(trade.token_id)
        return book is not None and not book.stale

    async def prepare(self, trade: WhaleTrade) -> str:
        """Look the market up and subscribe its book: "" once ready, else why not (the wait
        is cut by ``ColdMarkets.timeout_s``)."""
        try:
            market = await self.markets.get_by_token(trade.token_id)
        except Exception:
            log.exception("market lookup failed for %s", trade.token_id)
            market = None
        if market is None:
            return "no market metadata"
        if not self.supervisor.watch_book(trade.token_id, market, self.settled):
            return ""
        await self.supervisor.watch.wait_for(trade.token_id, 2 * BOOK_WAIT_S)
        book = self.books.get(trade.token_id)
        if book is None or book.stale:
            return f"no order book {BOOK_WAIT_S:g} s after subscribing"
        return ""
