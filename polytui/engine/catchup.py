"""The restart cursor: written by a running engine, read back by the next one.

While running, ``CursorKeeper`` saves each whale source's high-water mark (chain block, newest
data-api fill, when last alive). At the next start :func:`catch_up_plan` reads it into a
``CatchUp``: where each source resumes and the fills already handled, so the trades missed
while down are caught up, bounded by ``[feeds] catch_up_s``, and none is copied twice. The
format is written and read here only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from polytui.clock import Clock
from polytui.engine.inbox import Inbox
from polytui.engine.ports import Journal, WhaleStream
from polytui.model import Side, WhaleTrade

log = logging.getLogger(__name__)

CURSOR_KEY = "whale_cursor"
CURSOR_EVERY_S = 5.0
# A fill's timestamp is seconds, and the data-api lists it some seconds after the match; the
# data-api floor is moved back this far (duplicates are dropped against the journal's signals).
DATAAPI_REWIND_S = 60.0
MARKS = ("chain_block", "dataapi_ts")


@dataclass(frozen=True, slots=True)
class CatchUp:
    """Where each whale source resumes after a restart, and the fills already handled."""

    since: datetime  # when the previous run was last alive (bounded by the window)
    chain_block: int
    chain_floor: datetime
    dataapi_floor: datetime
    seen: list[object]


def catch_up_plan(journal: Journal, catch_up_s: float, now: datetime) -> CatchUp | None:
    """The catch-up after a restart from the cursor the engine saved, or None (first start,
    or ``catch_up_s = 0``). Nothing older than ``now - catch_up_s`` is replayed."""
    saved = journal.get_state(CURSOR_KEY) if catch_up_s > 0 else None
    if not isinstance(saved, dict):
        return None
    window = now - timedelta(seconds=catch_up_s)
    try:
        alive = datetime.fromisoformat(str(saved["at"]))
    except (KeyError, ValueError):
        alive = window
    since = max(alive, window)
    try:  # what the previous run covered from: nothing before it is caught up now
        base = max(window, datetime.fromisoformat(str(saved["from"])))
    except (KeyError, ValueError):
        base = window
    block = saved.get("chain_block")
    # No block saved (no watched fill on chain yet): the window alone bounds the backfill.
    chain_block = block if isinstance(block, int) and block >= 0 else 0
    chain_floor = window if chain_block else max(base, alive - timedelta(seconds=60))
    stamp = saved.get("dataapi_ts")
    mark = datetime.fromtimestamp(stamp, tz=now.tzinfo) if isinstance(stamp, int) else alive
    dataapi_floor = max(base, min(mark, alive) - timedelta(seconds=DATAAPI_REWIND_S))
    seen = _seen(journal, min(chain_floor, dataapi_floor))
    return CatchUp(since, chain_block, chain_floor, dataapi_floor, seen)


def _seen(journal: Journal, since: datetime) -> list[object]:
    """The dedup keys of the whale trades journaled as signals since ``since``."""
    seen: list[object] = []
    for event in journal.recent("signal", since):
        p = event.payload
        try:
            seen.append(
                (
                    str(p["tx_hash"]).lower(),
                    str(p["wallet"]).lower(),
                    str(p["token_id"]),
                    Side(p["side"]),
                    Decimal(str(p["shares"])),
                )
            )
        except (KeyError, ValueError, InvalidOperation):
            continue
    return seen


class ChainMarks(Protocol):
    """The chain feed's high-water mark (``polytui.feeds.chain.ChainFeed``)."""

    last_block: int | None
    catch_up_done: bool


class DataApiMarks(Protocol):
    """The data-api poller's high-water mark (``polytui.feeds.dataapi.DataApiPoller``)."""

    newest: datetime | None
    catch_up_done: bool


class CursorKeeper:
    """Saves the cursor with the tick's flush, and counts and announces a restart's catch-up.

    ``plan`` is this run's catch-up (None on a first start or with ``catch_up_s = 0``);
    ``chain`` and ``dataapi`` are the sources whose marks are saved (None when off).
    """

    def __init__(
        self,
        journal: Journal,
        clock: Clock,
        inbox: Inbox,
        stream: WhaleStream,
        *,
        catch_up_s: float,
        plan: CatchUp | None = None,
        chain: ChainMarks | None = None,
        dataapi: DataApiMarks | None = None,
    ) -> None:
        self.journal = journal
        self.clock = clock
        self.inbox = inbox
        self.stream = stream
        self.catch_up_s = catch_up_s
        self.chain = chain
        self.dataapi = dataapi
        # Whale trades matched before this run started are caught up, counted, and announced
        # once the sources have caught up.
        self.since: datetime | None = plan.since if plan is not None else None
        self.caught_up = 0
        self._announced = False
        self._started: datetime | None = None
        self._cursor: dict[str, Any] = {}
        self._saved_at = 0.0
        if plan is not None:
            # Start from the marks saved by the previous run (kept until the sources pass them).
            saved = journal.get_state(CURSOR_KEY)
            self._cursor = {k: v for k, v in saved.items() if k in MARKS}

    def start(self, now: datetime) -> None:
        """This run starts now: older trades are caught up, newer ones are live."""
        self._started = now

    def whales_idle(self) -> bool:
        """Every whale trade a source has emitted so far has been through the strategy."""
        return self.inbox.empty() and not self.inbox.busy and self.stream.pending <= 0

    def max_age_s(self, trade: WhaleTrade) -> float | None:
        """The age bound for ``trade``: None (the strategy's own) for a live trade; for one
        missed while down, the catch-up window counted from this run's start."""
        started = self._started
        if self.since is None or started is None or trade.match_time >= started:
            return None
        since_start = (self.clock.now() - started).total_seconds()
        self.caught_up += 1
        log.info(
            "caught-up whale trade (missed while down): %s %s %s token %s, matched %s, "
            "seen %d s late via %s",
            trade.wallet,
            trade.side.value,
            trade.shares,
            trade.token_id,
            trade.match_time.isoformat(timespec="seconds"),
            trade.latency_ms // 1000,
            trade.source.value,
        )
        return self.catch_up_s + max(0.0, since_start)

    def save(self, *, stopping: bool) -> None:
        """Save each whale source's high-water mark, with the tick's flush (not per frame).

        Only when no whale trade is queued or in the strategy: then every trade below the marks
        has its signal in the same transaction, so a crash can never leave a mark ahead of a
        trade that was not journaled. Not once stopping: new trades are dropped then, and the next
        run catches them up. ``at`` (when we were last alive) is refreshed every
        ``CURSOR_EVERY_S`` even when the marks did not move.
        """
        if self.catch_up_s <= 0 or stopping or not self.whales_idle():
            return
        cursor = dict(self._cursor)
        block = self.chain.last_block if self.chain is not None else None
        if isinstance(block, int):
            cursor["chain_block"] = block
        newest = self.dataapi.newest if self.dataapi is not None else None
        if isinstance(newest, datetime):
            cursor["dataapi_ts"] = int(newest.timestamp())
        mono = self.clock.monotonic()
        moved = {k: v for k, v in cursor.items() if k != "at"} != {
            k: v for k, v in self._cursor.items() if k != "at"
        }
        if not (moved or mono - self._saved_at >= CURSOR_EVERY_S):
            return
        cursor["at"] = self.clock.now().isoformat()
        covered_from = self.since or self._started
        if covered_from is not None:
            cursor["from"] = covered_from.isoformat()
        self.journal.set_state(CURSOR_KEY, cursor)
        self._cursor = cursor
        self._saved_at = mono

    def announcement(self) -> str | None:
        """The one-time "caught up" notice, once every source has caught up; else None."""
        since = self.since
        if since is None or self._announced or not self.whales_idle():
            return None
        sources = (s for s in (self.chain, self.dataapi) if s is not None)
        if not all(source.catch_up_done for source in sources):
            return None
        self._announced = True
        return (
            f"caught up {self.caught_up} whale trades missed while down "
            f"(since {since.isoformat(timespec='seconds')})"
        )
