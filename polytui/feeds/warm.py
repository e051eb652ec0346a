"""Warm markets: metadata and books of the markets the watched whales hold and recently traded.

A whale trade in a market never seen costs a Gamma lookup and a book subscription, two round
trips, before it can be decided. The warmer asks the data-api at start and every ``refresh_s``
for each watched wallet's open positions (``/positions``) and its fills of the last
``LOOKBACK_S`` (``/v2/trades``, ``/trades`` behind it), keeps the ``max_markets`` most recently
relevant markets (held: now; traded: the fill's time; a whale trade seen live: now), fetches
their Gamma records in batches into the engine's market cache, and keeps their books subscribed
on the market channel. A market pushed out of the cap has its books unsubscribed unless the
engine still needs them (held, ordered or awaiting approval).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from polytui.feeds.dataapi import trade_from_dataapi
from polytui.feeds.history import HistoryClient, HistoryError, Query
from polytui.model import BadValue, FeedState, FeedStatus, Market, WhaleTrade
from polytui.model.status import idle_status

log = logging.getLogger(__name__)

LOOKBACK_S = 86_400  # fills this recent make their market relevant
TRADE_PAGES = 2  # pages of a wallet's recent fills read per refresh (newest first)


class MarketWarmer:
    """Keeps the watched wallets' markets in the market cache and on the market channel."""

    def __init__(
        self,
        history: HistoryClient,
        wallets: set[str],
        markets: Any,
        clob: Any = None,
        *,
        max_markets: int = 100,
        refresh_s: float = 120.0,
        lookback_s: float = LOOKBACK_S,
        keep: Callable[[], set[str]] | None = None,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = "warm"
        self.history = history
        self.wallets = sorted(w.lower() for w in wallets)
        self.markets = markets
        self.clob = clob
        self.max_markets = max_markets
        self.refresh_s = refresh_s
        self.lookback_s = lookback_s
        self.keep = keep
        self.wall_clock = wall_clock
        self.monotonic = monotonic
        # condition id → unix second it was last relevant (held, traded, or seen traded live)
        self.relevant: dict[str, float] = {}
        # condition id → its outcome tokens, once its market is known
        self._tokens: dict[str, tuple[str, ...]] = {}
        self.refreshes = 0
        self.errors = 0
        self.evicted = 0
        self.warm_markets = 0
        self.last_ok_at: float | None = None
        self.detail = ""
        self.ready = asyncio.Event()  # set after the first refresh

    # --- relevance --------------------------------------------------------------------------

    def note(self, trade: WhaleTrade) -> None:
        """A watched whale traded in this market just now: it is the most relevant (nothing
        is kept warm while no wallet is watched)."""
        if trade.condition_id and self.wallets:
            self._touch(trade.condition_id, self.wall_clock().timestamp())
            if len(self.relevant) > self.max_markets:
                self._evict()

    def _touch(self, condition_id: str, at: float) -> None:
        if at > self.relevant.get(condition_id, float("-inf")):
            self.relevant[condition_id] = at

    def _evict(self) -> list[str]:
        """Drop the least recently relevant markets past the cap; returns their tokens that
        the engine does not still need."""
        over = len(self.relevant) - self.max_markets
        if over <= 0:
            return []
        oldest = sorted(self.relevant, key=self.relevant.__getitem__)[:over]
        needed = self.keep() if self.keep is not None else set()
        gone: list[str] = []
        for condition_id in oldest:
            del self.relevant[condition_id]
            gone += [t for t in self._tokens.pop(condition_id, ()) if t not in needed]
        self.evicted += len(oldest)
        if gone and self.clob is not None:
            self.clob.unsubscribe(gone)
        return gone

    def tokens(self) -> set[str]:
        """Every outcome token of the warm markets (their books are kept subscribed)."""
        return {token for tokens in self._tokens.values() for token in tokens}

    # --- refresh ----------------------------------------------------------------------------

    async def refresh(self) -> int:
        """Ask the data-api for every wallet's markets, then warm the most relevant ones.
        Returns how many markets are warm; nothing is asked while no wallet is watched."""
        if not self.wallets:
            return self.warm_markets
        now = self.wall_clock().timestamp()
        found = await asyncio.gather(
            *(self._wallet_markets(w, now) for w in self.wallets), return_exceptions=True
        )
        failed = [r for r in found if isinstance(r, BaseException)]
        for result in found:
            if not isinstance(result, BaseException):
                for condition_id, at in result:
                    self._touch(condition_id, at)
        self._evict()
        try:
            markets: list[Market] = await self.markets.warm(list(self.relevant))
        except Exception as exc:  # a Gamma failure leaves the cache as it was
            log.warning("warm: market lookup failed: %s", exc)
            failed.append(exc)
            markets = []
        tradable = [m for m in markets if not (m.closed or m.unsupported)]
        for market in tradable:
            self._tokens[market.condition_id] = tuple(o.token_id for o in market.outcomes)
        if self.clob is not None and tradable:
            self.clob.subscribe([o.token_id for m in tradable for o in m.outcomes])
        self.warm_markets = len(tradable)
        self.refreshes += 1
        if failed:
            self.errors += len(failed)
            self.detail = f"warm: {str(failed[0])[:200] or type(failed[0]).__name__}"
        else:
            self.detail = ""
            self.last_ok_at = self.monotonic()
        self.ready.set()
        return self.warm_markets

    async def _wallet_markets(self, wallet: str, now: float) -> list[tuple[str, float]]:
        """(condition id, when relevant) of one wallet's open positions and recent fills."""
        out: list[tuple[str, float]] = []
        for row in await self.history.open_positions(wallet):
            if not isinstance(row, dict) or row.get("redeemable") is True:
                continue
            condition_id = row.get("conditionId")
            if isinstance(condition_id, str) and condition_id:
                out.append((condition_id, now))
        query = Query(user=wallet, taker_only=False, start_s=int(now - self.lookback_s))
        pages = 0
        async for rows, _state in self.history.raw_pages("trades", query):
            for row in rows:
                try:
                    trade = trade_from_dataapi(row, self.wall_clock())
                except (ValueError, BadValue, TypeError):
                    continue
                if trade.condition_id:
                    out.append((trade.condition_id, trade.match_time.timestamp()))
            pages += 1
            if pages >= TRADE_PAGES:
                break
        return out

    # --- feed protocol ----------------------------------------------------------------------

    async def run(self) -> None:
        """Refresh at start and every ``refresh_s``."""
        while True:
            try:
                await self.refresh()
            except HistoryError as exc:
                self.errors += 1
                self.detail = f"warm: {exc}"[:300]
            except Exception:
                log.exception("warm: refresh failed")
                self.errors += 1
            await asyncio.sleep(self.refresh_s)

    async def stop(self) -> None:
        """Nothing to close (the HTTP client is shared)."""

    async def watch(self, wallets: set[str]) -> None:
        """Follow a new watch list from the next refresh (the first wallets too: the warm-up
        is built with none, and idles until a reload adds some)."""
        self.wallets = sorted(w.lower() for w in wallets)

    def status(self) -> FeedStatus:
        """Refresh counters (no I/O); disabled while no wallet is watched."""
        if not self.wallets:
            return idle_status(self.name)
        age = None if self.last_ok_at is None else self.monotonic() - self.last_ok_at
        state = FeedState.DEGRADED if self.detail else FeedState.LIVE
        if self.refreshes == 0:
            state = FeedState.CONNECTING
        return FeedStatus(
            name=self.name,
            state=state,
            connected=self.refreshes > 0 and not self.detail,
            last_data_age_s=age,
            messages=self.refreshes,  # a counter (metrics export it as one); the gauge is below
            rejected=0,
            reconnects=self.errors,
            connections=0,
            detail=self.detail
            or f"{self.warm_markets} markets warm (at most {self.max_markets}); "
            f"{self.evicted} evicted",
        )
