"""In-process publish/subscribe between the engine and its subscribers.

``publish`` never blocks and never raises into the engine: each subscriber owns a bounded
backlog. When a backlog is full, events with a ``key`` replace the pending one with the same key
(only the newest "positions" or "feeds" matters) and otherwise the oldest event is dropped and
counted, so a slow UI or socket client can never slow trading down.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator

from polytui.events import Event

log = logging.getLogger(__name__)


class Subscription:
    """One subscriber's bounded backlog of events."""

    def __init__(self, bus: EventBus, maxsize: int) -> None:
        self._bus = bus
        self._maxsize = maxsize
        # Insertion-ordered; keyed events are stored under their key so a newer one replaces
        # the pending one in place, unkeyed events under a unique counter.
        self._pending: OrderedDict[object, Event] = OrderedDict()
        self._seq = 0
        self._ready = asyncio.Event()
        self.dropped = 0
        self.closed = False

    def _offer(self, event: Event) -> None:
        key = event.key
        if key is not None and key in self._pending:
            self._pending[key] = event
            return
        if len(self._pending) >= self._maxsize:
            self._pending.popitem(last=False)
            self.dropped += 1
        if key is None:
            self._seq += 1
            self._pending[("seq", self._seq)] = event
        else:
            self._pending[key] = event
        self._ready.set()

    def drain(self) -> list[Event]:
        """Take every pending event at once (for batched UI refreshes)."""
        events = list(self._pending.values())
        self._pending.clear()
        self._ready.clear()
        return events

    async def wait(self, timeout: float | None = None) -> list[Event]:
        """Wait until something is pending (or timeout), then drain."""
        if not self._pending:
            try:
                await asyncio.wait_for(self._ready.wait(), timeout)
            except TimeoutError:
                return []
        return self.drain()

    async def __aiter__(self) -> AsyncIterator[Event]:
        while not self.closed:
            for event in await self.wait():
                yield event

    def close(self) -> None:
        """Stop receiving events."""
        self.closed = True
        self._bus._unsubscribe(self)
        self._ready.set()

    def __len__(self) -> int:
        return len(self._pending)


class EventBus:
    """Fan-out of engine events to any number of bounded subscriptions."""

    def __init__(self) -> None:
        self._subs: list[Subscription] = []
        self.published = 0

    def subscribe(self, maxsize: int = 10_000) -> Subscription:
        """A new subscription that sees every event published from now on."""
        sub = Subscription(self, maxsize)
        self._subs.append(sub)
        return sub

    def _unsubscribe(self, sub: Subscription) -> None:
        if sub in self._subs:
            self._subs.remove(sub)

    def publish(self, event: Event) -> None:
        """Deliver ``event`` to every subscriber without blocking."""
        self.published += 1
        for sub in self._subs:
            sub._offer(event)

    @property
    def subscribers(self) -> int:
        """Number of live subscriptions."""
        return len(self._subs)
