"""A virtual-time asyncio loop and the engine clock that reads it.

``loop.time()`` is virtual. When no callback is ready the loop does not wait: it jumps straight
to the next timer, so ``asyncio.sleep``, ``wait_for`` timeouts, the paper latency, approval TTLs
and every watchdog take no wall time at all. Real I/O (there is none in a backtest, but the
loop's own wake-up pipe exists) is still polled without blocking on every pass.
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Coroutine
from datetime import datetime, timedelta
from typing import Any, TypeVar

T = TypeVar("T")


class _JumpSelector(selectors.DefaultSelector):  # type: ignore[misc,valid-type]
    """Polls real I/O without waiting; a wait for a timer advances the loop's clock instead."""

    loop: VirtualTimeLoop | None = None

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready: list[tuple[selectors.SelectorKey, int]] = super().select(0)
        if ready or timeout == 0:
            return ready
        if timeout is None or self.loop is None:
            # Nothing is scheduled: only I/O or another thread can wake the loop.
            woken: list[tuple[selectors.SelectorKey, int]] = super().select(timeout)
            return woken
        self.loop.advance(timeout)
        return []


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An event loop whose clock moves only when it has nothing else to do."""

    def __init__(self, start: float = 0.0) -> None:
        selector = _JumpSelector()
        super().__init__(selector)
        selector.loop = self
        self._virtual = start
        self.jumps = 0

    def time(self) -> float:
        return self._virtual

    def advance(self, seconds: float) -> None:
        """Move virtual time forward (never backward)."""
        if seconds > 0:
            self._virtual += seconds
            self.jumps += 1


class VirtualClock:
    """The engine's :class:`~polytui.clock.Clock` on a virtual loop: ``epoch`` + loop time."""

    def __init__(self, loop: VirtualTimeLoop, epoch: datetime) -> None:
        self.loop = loop
        self.epoch = epoch

    def now(self) -> datetime:
        return self.epoch + timedelta(seconds=self.loop.time())

    def monotonic(self) -> float:
        return self.loop.time()


def run_virtual(main: Coroutine[Any, Any, T], loop: VirtualTimeLoop) -> T:
    """Run ``main`` to completion on ``loop``, then close it (like ``asyncio.run``)."""
    asyncio.set_event_loop(loop)
    try:
        return loop.run_until_complete(main)
    finally:
        try:
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            asyncio.set_event_loop(None)
            loop.close()
