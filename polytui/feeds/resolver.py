"""Resolutions polled from REST, for markets held or watched past their end.

The market WebSocket's ``market_resolved`` is not enough on its own: it was reported missing
for months in 2026 and is never replayed after a disconnect. So every market the engine holds,
or has whale buys waiting on, is asked about once its end time has passed, until one source
gives a final answer (HISTORY-MEMPOOL-REMOTE.md §1.5):

1. Gamma ``/markets?condition_ids=…&closed=true``: ``closed`` with a final
   ``umaResolutionStatus`` and ``outcomePrices`` of 1/0 (a void: 0.5 each);
2. the CLOB's ``GET /markets/{condition_id}``: ``tokens[].winner``;
3. the data-api's ``GET /v2/resolutions?condition=…``: ``status`` "resolved" and ``payouts``
   in millionths of a USDC per share, index-aligned with the outcomes.

Each market's :class:`~polytui.model.Resolution` is reported once; the engine applies it the
same way as a WebSocket ``market_resolved`` (and also only once, whichever source came first).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx

from polytui.feeds.gamma import MarketDirectory
from polytui.feeds.http import get_json
from polytui.model import FeedStatus, Market, Resolution
from polytui.model.status import polled_status

log = logging.getLogger(__name__)

PAYOUT_UNIT = Decimal(1_000_000)  # /v2/resolutions payouts are in millionths

Candidates = Callable[[], list[tuple[str, str]]]


def _now() -> datetime:
    return datetime.now(UTC)


def resolution_from_gamma(market: Market, at: datetime) -> Resolution | None:
    """The result Gamma reports for a closed market, or None while it is not final."""
    if market.settle_prices is None:
        return None
    payouts = tuple(
        (o.token_id, price) for o, price in zip(market.outcomes, market.settle_prices, strict=True)
    )
    return Resolution(market.condition_id, payouts, "gamma", at)


def resolution_from_clob(condition_id: str, body: Any, at: datetime) -> Resolution | None:
    """``GET /markets/{condition_id}``: exactly one token with ``winner: true``."""
    if not isinstance(body, dict) or body.get("condition_id", condition_id) != condition_id:
        return None
    tokens = body.get("tokens")
    if not isinstance(tokens, list):
        return None
    ids = [str(t.get("token_id", "")) for t in tokens if isinstance(t, dict)]
    winners = [
        str(t.get("token_id", ""))
        for t in tokens
        if isinstance(t, dict) and t.get("winner") is True
    ]
    if len(winners) != 1 or not winners[0] or "" in ids:
        return None
    payouts = tuple((t, Decimal(1) if t == winners[0] else Decimal(0)) for t in ids)
    return Resolution(condition_id, payouts, "clob", at)


def resolution_from_data_api(
    condition_id: str, body: Any, market: Market | None, at: datetime
) -> Resolution | None:
    """``/v2/resolutions``: a "resolved" row whose ``payouts`` (millionths) add up to one USDC,
    mapped to the market's outcomes by index (so the outcomes must be known)."""
    if market is None:
        return None
    rows = body.get("data") if isinstance(body, dict) else body
    if isinstance(rows, dict):
        rows = [rows]
    if not isinstance(rows, list):
        return None
    for row in rows:
        if not isinstance(row, dict) or row.get("condition_id") != condition_id:
            continue
        if str(row.get("status", "")).lower() != "resolved":
            continue
        raw = row.get("payouts")
        if not isinstance(raw, list) or len(raw) != len(market.outcomes):
            continue
        try:
            parts = [Decimal(str(int(p))) for p in raw]
        except (TypeError, ValueError, ArithmeticError):
            continue
        if any(p < 0 for p in parts) or sum(parts) != PAYOUT_UNIT:
            continue
        payouts = tuple(
            (o.token_id, p / PAYOUT_UNIT) for o, p in zip(market.outcomes, parts, strict=True)
        )
        return Resolution(condition_id, payouts, "data-api", at)
    return None


class Resolver:
    """Polls the result of every held or watched market past its end; reports each once."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        directory: MarketDirectory,
        *,
        clob_url: str,
        data_api_url: str,
        candidates: Candidates,
        on_resolution: Callable[[Resolution], None],
        interval_s: float = 30.0,
        now: Callable[[], datetime] = _now,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.directory = directory
        self.clob_url = clob_url.rstrip("/")
        self.data_api_url = data_api_url.rstrip("/")
        self.candidates = candidates
        self.on_resolution = on_resolution
        self.interval_s = interval_s
        self.now = now
        self.monotonic = monotonic
        self.name = "resolver"
        self._done: set[str] = set()
        self.polls = 0
        self.asked = 0
        self.resolved = 0
        self.errors = 0
        self.last_ok_at: float | None = None
        self.detail = ""
        self.by_source: dict[str, int] = {}

    async def run(self) -> None:
        """Poll every ``interval_s`` until cancelled."""
        while True:
            try:
                await self.poll_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a bad answer costs one round, never the feed
                self.errors += 1
                self.detail = f"resolver: {type(exc).__name__}"
                log.exception("resolver round failed")
            await asyncio.sleep(self.interval_s)

    async def stop(self) -> None:
        """Nothing to close (the HTTP client is shared with the directory)."""

    async def poll_once(self) -> list[Resolution]:
        """One round over the candidates past their end; returns what it reported."""
        self.polls += 1
        found: list[Resolution] = []
        now = self.now()
        for condition_id, token_id in self.candidates():
            if condition_id in self._done:
                continue
            market = self.directory.cached(token_id) or await self.directory.get_by_token(token_id)
            if market is not None and market.end_time is not None and market.end_time > now:
                continue
            self.asked += 1
            resolution = await self._resolve(condition_id, market, now)
            if resolution is None:
                continue
            self._done.add(condition_id)
            self.resolved += 1
            self.by_source[resolution.source] = self.by_source.get(resolution.source, 0) + 1
            found.append(resolution)
            self.on_resolution(resolution)
        self.last_ok_at = self.monotonic()
        return found

    async def _resolve(
        self, condition_id: str, market: Market | None, now: datetime
    ) -> Resolution | None:
        gamma = await self.directory.get_by_condition(condition_id, closed_first=True)
        if gamma is not None:
            market = gamma
            resolution = resolution_from_gamma(gamma, now)
            if resolution is not None:
                return resolution
        clob = await get_json(self.client, f"{self.clob_url}/markets/{condition_id}")
        if clob.ok:
            resolution = resolution_from_clob(condition_id, clob.data, now)
            if resolution is not None:
                return resolution
        elif clob.status != 404:
            self.errors += 1
            self.detail = f"clob markets: {clob.error}"
        data = await get_json(
            self.client, f"{self.data_api_url}/v2/resolutions", params={"condition": condition_id}
        )
        if data.ok:
            self.detail = ""
            return resolution_from_data_api(condition_id, data.data, market, now)
        if data.status != 404:
            self.errors += 1
            self.detail = f"data-api resolutions: {data.error}"
        return None

    def status(self) -> FeedStatus:
        """Rounds and results (no I/O)."""
        age = None if self.last_ok_at is None else self.monotonic() - self.last_ok_at
        return polled_status(
            self.name,
            started=self.polls > 0,
            detail=self.detail,
            last_ok_age_s=age,
            messages=self.resolved,
            rejected=0,
            errors=self.errors,
        )
