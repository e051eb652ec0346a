"""The engine's inbox: what the feeds, the broker and the advisors hand the single writer.

Feeds call the engine synchronously from their own tasks. They never touch trading state:
each call becomes one message in one queue, and one engine task takes them in order, so
trading state has a single writer. The inbox exists before the engine (``wiring`` gives the
feeds its ``submit_*`` methods first), and it holds data, not callbacks into the engine.

The bound sheds load, never money: each message type says whether it is ``must_keep``. Only a
whale trade may be dropped when ``maxsize`` messages already wait (counted in ``dropped``): a
trade shed is a copy not made, never a position or a result lost. Everything else (a late fill, a
market's result, a pending transaction's news, a review, a reorg, a line for the operator) is
queued whatever the queue's length: losing one would lose a position change or a decision that
nothing replays. Both kinds share the one FIFO, so the order the senders called in is kept.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from polytui.engine.ports import Review
from polytui.model import Fill, Resolution, WhaleTrade

log = logging.getLogger(__name__)

INBOX_SIZE = 10_000


@dataclass(frozen=True, slots=True)
class TradeArrived:
    """A deduplicated whale trade from the merged stream.

    ``not_ready`` is set when it comes back after waiting for its market
    (:mod:`polytui.engine.cold`): "" once the market was ready, else why not."""

    must_keep: ClassVar[bool] = False  # shed under load: a copy not made, counted

    trade: WhaleTrade
    not_ready: str | None = None


@dataclass(frozen=True, slots=True)
class Resolved:
    """A market's result, from any source."""

    must_keep: ClassVar[bool] = True

    resolution: Resolution


@dataclass(frozen=True, slots=True)
class Retracted:
    """A chain reorg removed a trade already seen."""

    must_keep: ClassVar[bool] = True

    dedup_key: object


@dataclass(frozen=True, slots=True)
class LateFill:
    """A fill confirmed after its order's report went back (live)."""

    must_keep: ClassVar[bool] = True

    fill: Fill


@dataclass(frozen=True, slots=True)
class Reviewed:
    """The advisors' review of a pending buy."""

    must_keep: ClassVar[bool] = True

    review: Review


@dataclass(frozen=True, slots=True)
class TxMined:
    """A pending-transaction trade's logs arrived: ``settled`` is the logged fill."""

    must_keep: ClassVar[bool] = True

    dedup_key: object
    settled: WhaleTrade


@dataclass(frozen=True, slots=True)
class TxGone:
    """A pending-transaction trade will never be mined (dropped, replaced, reverted)."""

    must_keep: ClassVar[bool] = True

    dedup_key: object
    reason: str


@dataclass(frozen=True, slots=True)
class Noticed:
    """A line for the operator from a feed."""

    must_keep: ClassVar[bool] = True

    level: str
    text: str
    component: str


Message = TradeArrived | Resolved | Retracted | LateFill | Reviewed | TxMined | TxGone | Noticed


class Inbox:
    """The engine's queue of messages: past ``maxsize`` waiting, whale trades are dropped and
    counted; must-keep messages are always queued, in order with the rest."""

    def __init__(self, maxsize: int = INBOX_SIZE) -> None:
        self._queue: asyncio.Queue[Message] = asyncio.Queue()  # bounded by ``put``, per kind
        self.maxsize = maxsize
        self.dropped = 0  # whale trades shed because the queue was full
        self.busy = False  # a message is being handled now
        self.parked = 0  # trades waiting beside the queue for their market (engine/cold.py)

    # --- the senders' side (synchronous, never blocks) ------------------------------------

    def submit_trade(self, trade: WhaleTrade) -> None:
        """Feed callback: a deduplicated whale trade."""
        self.put(TradeArrived(trade))

    def submit_resolution(
        self, condition_id: str, winning_token_id: str, at: datetime | None = None
    ) -> None:
        """Feed callback: the market WebSocket's ``market_resolved``."""
        self.put(Resolved(Resolution.winner(condition_id, winning_token_id, "ws", at)))

    def submit_resolved(self, resolution: Resolution) -> None:
        """Feed callback: a market's result from any source (WebSocket or resolver)."""
        self.put(Resolved(resolution))

    def submit_retraction(self, dedup_key: object) -> None:
        """Feed callback: a chain reorg removed a trade we had seen."""
        self.put(Retracted(dedup_key))

    def submit_tx_mined(self, dedup_key: object, settled: WhaleTrade) -> None:
        """Stream callback: a pending-transaction trade's logs arrived."""
        self.put(TxMined(dedup_key, settled))

    def submit_tx_gone(self, dedup_key: object, reason: str) -> None:
        """Stream callback: a pending-transaction trade will never be mined."""
        self.put(TxGone(dedup_key, reason))

    def submit_notice(self, level: str, text: str, component: str) -> None:
        """Feed callback: a line for the operator (the mempool source refused, say)."""
        self.put(Noticed(level, text, component))

    def submit_fill(self, fill: Fill) -> None:
        """Broker callback: a fill confirmed after its order's report went back (live)."""
        self.put(LateFill(fill))

    def submit_review(self, review: Review) -> None:
        """Advisors' callback: the review of a pending buy."""
        self.put(Reviewed(review))

    def put(self, message: Message) -> None:
        """Queue one message; a sheddable one is dropped (counted) when ``maxsize`` wait."""
        if not message.must_keep and self._queue.qsize() >= self.maxsize:
            self.dropped += 1
            log.warning("engine inbox full; dropped a whale trade")
            return
        self._queue.put_nowait(message)

    # --- the engine's side ----------------------------------------------------------------

    async def serve(self, handle: Callable[[Message], Awaitable[None]]) -> None:
        """Hand every message to ``handle``, one at a time, until cancelled."""
        while True:
            message = await self._queue.get()
            self.busy = True
            try:
                await handle(message)
            except Exception:  # one bad event must not stop trading
                log.exception("engine failed to process a feed event")
            finally:
                self.busy = False

    async def drain(self, handle: Callable[[Message], Awaitable[None]]) -> None:
        """Hand over everything queued so far (tests and replay); errors propagate."""
        while not self._queue.empty():
            await handle(self._queue.get_nowait())

    def empty(self) -> bool:
        """Nothing queued, and no trade parked for its market."""
        return self._queue.empty() and self.parked == 0

    def qsize(self) -> int:
        """How many messages wait."""
        return self._queue.qsize()
