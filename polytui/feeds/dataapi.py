"""data-api: polling fallback for whale trades, wallet history and the leaderboard.

Facts (PROTOCOL.md §4): responses are cached about five minutes behind a CDN that ignores
request headers, so every request carries a changing ``_`` parameter; ``user`` takes one
address; numbers may be JSON floats (parsed through ``str`` into Decimal); ``timestamp`` is the
block time in unix seconds. Requests are spaced out to stay polite.

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

import httpx

from polytui.feeds.activity import trade_from_row
from polytui.feeds.http import HttpResult, get_json
from polytui.model import (
    BadValue,
    FeedState,
    FeedStatus,
    TradeSource,
    WhaleTrade,
)

log = logging.getLogger(__name__)


def trade_from_dataapi(row: dict[str, Any], received_at: datetime) -> WhaleTrade:
    """Parse one ``/trades`` row (pure); raises ValueError for unusable rows."""
    return trade_from_row(row, TradeSource.DATAAPI, received_at)


class DataApiClient:
    """Thin, polite client of the data-api."""

    def __init__(
        self, client: httpx.AsyncClient, base_url: str, *, min_interval_s: float = 0.2
    ) -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")
        self.min_interval_s = min_interval_s
        self._last = 0.0
        self._lock = asyncio.Lock()

    async def _get(self, path: str, **params: Any) -> HttpResult:
        async with self._lock:
            wait = self.min_interval_s - (time.monotonic() - self._last)
            if wait > 0:
                await asyncio.sleep(wait)
            self._last = time.monotonic()
        params["_"] = str(time.time_ns())  # defeat the CDN's 5-minute cache
        return await get_json(self.client, f"{self.base_url}{path}", params=params)

    async def trades(self, user: str, limit: int = 100) -> HttpResult:
        """A wallet's recent fills (maker and taker rows)."""
        return await self._get("/trades", user=user, limit=limit, takerOnly="false")

    async def activity(self, user: str, limit: int = 100) -> HttpResult:
        """A wallet's activity (trades, redeems, …)."""
        return await self._get("/activity", user=user, limit=limit)

    async def positions(self, user: str) -> HttpResult:
        """A wallet's open positions (sizeThreshold 0: every position)."""
        return await self._get("/positions", user=user, sizeThreshold=0)

    async def leaderboard(self, period: str = "WEEK", order_by: str = "PNL") -> HttpResult:
        """Top wallets, for discovery."""
        return await self._get("/v1/leaderboard", timePeriod=period, orderBy=order_by, limit=50)


class DataApiPoller:
    """Polls each watched wallet's trades and offers new ones to the stream."""

    def __init__(
        self,
        client: DataApiClient,
        wallets: set[str],
        *,
        interval_s: float,
        on_trade: Callable[[WhaleTrade], None],
        monotonic: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        accept_since: datetime | None = None,
    ) -> None:
        self.name = "dataapi"
        self.client = client
        self.wallets = sorted(w.lower() for w in wallets)
        self.interval_s = interval_s
        self.on_trade = on_trade
        self.monotonic = monotonic
        self.wall_clock = wall_clock
        self._started = wall_clock()
        # History before this is for scoring, not for copying.
        self.floor = min(accept_since, self._started) if accept_since else self._started
        self.catch_up_done = accept_since is None
        self.newest: datetime | None = None
        self.polls = 0
        self.errors = 0
        self.rejected = 0
        self.emitted = 0
        self.last_ok_at: float | None = None
        self.detail = ""

    async def poll_once(self) -> int:
        """One pass over every wallet; returns trades offered."""
        offered = 0
        for wallet in self.wallets:
            result = await self.client.trades(wallet)
            self.polls += 1
            if not result.ok:
                self.errors += 1
                self.detail = f"dataapi: {result.error}"
                continue
            self.last_ok_at = self.monotonic()
            self.detail = ""
            for row in result.data if isinstance(result.data, list) else []:
                try:
                    trade = trade_from_dataapi(row, self.wall_clock())
                except (ValueError, BadValue, TypeError):
                    self.rejected += 1
                    continue
                if trade.match_time < self.floor:
                    continue
                if self.newest is None or trade.match_time > self.newest:
                    self.newest = trade.match_time
                self.emitted += 1
                offered += 1
                self.on_trade(trade)
        self.catch_up_done = True  # one pass over every wallet has offered what was missed
        return offered

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

    def status(self) -> FeedStatus:
        """Poll counters (no I/O)."""
        age = None if self.last_ok_at is None else self.monotonic() - self.last_ok_at
        return FeedStatus(
            name=self.name,
            state=FeedState.DEGRADED if self.detail else FeedState.LIVE,
            connected=not self.detail,
            last_data_age_s=age,
            messages=self.emitted,
            rejected=self.rejected,
            reconnects=self.errors,
            connections=0,
            detail=self.detail,
        )
