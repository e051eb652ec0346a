"""data-api: polling each watched wallet's fills, every page of them, as a whale source.

Facts (PROTOCOL.md §4): one ``user`` a request; numbers may be JSON floats (parsed through
``str`` into Decimal); ``timestamp`` is the block time in unix seconds; the list lags the match
by a few seconds and refreshes in batches. A busy wallet can fill more than one page between
two polls (one transaction gives up to 18 rows with ``taker_only=false``), so each poll asks for
the fills since the newest one already seen (``start``, moved back ``OVERLAP_S`` for rows
listed late) and reads every page of the answer, through the history client
(:class:`~polytui.feeds.history.HistoryClient`): ``/v2/trades`` with its cursor, or ``/trades``
with offsets when v2 is missing, rate-limited to the published limits, cache-busted, retried.
Rows already offered are not offered again.

The poller copies only fills from after it started, unless the engine hands it a catch-up floor
(``accept_since``: the newest fill time saved in the journal, bounded by the catch-up window):
then fills since that floor, missed while the app was down, are offered too. ``newest`` is the
newest fill time seen, which the engine saves as this source's high-water mark.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from polytui.feeds.activity import trade_from_row
from polytui.feeds.history import HistoryClient, HistoryError, Query
from polytui.model import BadValue, FeedStatus, TradeSource, WhaleTrade
from polytui.model.status import idle_status, polled_status

log = logging.getLogger(__name__)

# Rows can be listed a little after their block time: each poll starts this far before the
# newest fill seen (what was already offered is skipped).
OVERLAP_S = 60
# Pages read for one wallet in one poll (1,000 rows a v2 page, 500 a v1 one), newest first:
# fills older than that many pages since the last poll are skipped, and logged.
MAX_PAGES_PER_POLL = 10

# v2 rows are snake_case; the row parser shared with RTDS reads the v1 (camelCase) names.
V2_NAMES = {
    "proxy_wallet": "proxyWallet",
    "token_id": "asset",
    "condition_id": "conditionId",
    "transaction_hash": "transactionHash",
    "outcome_index": "outcomeIndex",
}


def trade_from_dataapi(row: dict[str, Any], received_at: datetime) -> WhaleTrade:
    """Parse one ``/trades`` or ``/v2/trades`` row (pure); raises ValueError for unusable
    rows."""
    if isinstance(row, dict) and "proxy_wallet" in row:
        row = {V2_NAMES.get(k, k): v for k, v in row.items()}
    return trade_from_row(row, TradeSource.DATAAPI, received_at)


class DataApiPoller:
    """Polls each watched wallet's fills and offers new ones to the stream."""

    def __init__(
        self,
        history: HistoryClient,
        wallets: set[str],
        *,
        interval_s: float,
        on_trade: Callable[[WhaleTrade], None],
        monotonic: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        accept_since: datetime | None = None,
        max_pages: int = MAX_PAGES_PER_POLL,
    ) -> None:
        self.name = "dataapi"
        self.history = history
        self.wallets = sorted(w.lower() for w in wallets)
        self.interval_s = interval_s
        self.on_trade = on_trade
        self.monotonic = monotonic
        self.wall_clock = wall_clock
        self.max_pages = max_pages
        self._started = wall_clock()
        # History before this is for scoring, not for copying.
        self.floor = min(accept_since, self._started) if accept_since else self._started
        self.catch_up_done = accept_since is None
        self.newest: datetime | None = None
        # wallet → unix second the next poll starts from; keys offered and their fill time
        self._since: dict[str, int] = {}
        self._offered: dict[object, int] = {}
        self.polls = 0
        self.pages = 0
        self.truncated = 0
        self.errors = 0
        self.rejected = 0
        self.emitted = 0
        self.last_ok_at: float | None = None
        self.detail = ""

    async def poll_once(self) -> int:
        """One pass over every wallet; returns trades offered."""
        offered = 0
        for wallet in self.wallets:
            try:
                offered += await self._poll_wallet(wallet)
            except HistoryError as exc:
                self.errors += 1
                self.detail = f"dataapi: {exc}"[:300]
                continue
            self.last_ok_at = self.monotonic()
            self.detail = ""
        self.catch_up_done = True  # one pass over every wallet has offered what was missed
        self._forget_old()
        return offered

    async def _poll_wallet(self, wallet: str) -> int:
        floor_s = int(self.floor.timestamp())
        since = self._since.get(wallet, floor_s)
        query = Query(user=wallet, taker_only=False, start_s=since)
        offered, pages, newest_s = 0, 0, since
        self.polls += 1
        async for rows, state in self.history.raw_pages("trades", query):
            pages += 1
            for row in rows:
                try:
                    trade = trade_from_dataapi(row, self.wall_clock())
                except (ValueError, BadValue, TypeError):
                    self.rejected += 1
                    continue
                if trade.match_time < self.floor:
                    continue
                stamp = int(trade.match_time.timestamp())
                newest_s = max(newest_s, stamp)
                if trade.dedup_key in self._offered:
                    continue
                self._offered[trade.dedup_key] = stamp
                if self.newest is None or trade.match_time > self.newest:
                    self.newest = trade.match_time
                self.emitted += 1
                offered += 1
                self.on_trade(trade)
            if pages >= self.max_pages and not state.done:
                self.truncated += 1
                log.warning(
                    "dataapi: %s filled more than %d pages since the last poll; older ones skipped",
                    wallet,
                    pages,
                )
                break
        self.pages += pages
        self._since[wallet] = max(since, newest_s - OVERLAP_S)
        return offered

    def _forget_old(self) -> None:
        """Offered keys older than every wallet's next start cannot come back: drop them."""
        if not self._since:
            return
        oldest = min(self._since.values())
        self._offered = {k: t for k, t in self._offered.items() if t >= oldest}

    async def run(self) -> None:
        """Poll forever at the configured interval."""
        while True:
            try:
                await self.poll_once()
            except Exception:
                log.exception("dataapi poll failed")
                self.errors += 1
            await asyncio.sleep(self.interval_s)

    async def stop(self) -> None:
        """Nothing to close (the HTTP client is shared)."""

    async def watch(self, wallets: set[str]) -> None:
        """Follow a new watch list from the next poll (the first wallets too: the poller is
        built with none, and idles until a reload adds some)."""
        self.wallets = sorted(w.lower() for w in wallets)

    def status(self) -> FeedStatus:
        """Poll counters (no I/O); disabled while no wallet is watched."""
        if not self.wallets:
            return idle_status(self.name)
        age = None if self.last_ok_at is None else self.monotonic() - self.last_ok_at
        # Live from the start (it has always shown so): its first poll is one interval away.
        return polled_status(
            self.name,
            started=True,
            detail=self.detail,
            last_ok_age_s=age,
            messages=self.emitted,
            rejected=self.rejected,
            errors=self.errors,
        )
