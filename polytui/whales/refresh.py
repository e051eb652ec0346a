"""Refresh a wallet's profile: fetch what is new since the saved cursor, store it, recompute.

Streams per wallet: taker fills (``taker_only=true``) first, then every fill — a fill first seen
in the second pass is the wallet's maker fill, which is how the role is known — then activity
(REDEEM and friends) and closed positions. Each stream's cursor record is
``{"state": CursorState, "start_s", "end_s", "newest_ms"}``: ``state`` resumes an interrupted
fetch (the filters are sent again, the cursor does not carry them); once a fetch is done the
next refresh asks only for ``start = end_s of the last one`` (minus a second of overlap; saved
keys make the overlap harmless). Then the settlements of the wallet's markets, their metadata,
and the tapes after each settled buy (for copyability) are fetched once per market or window.
Every page is committed with its cursor, so cancelling a refresh loses at most one page.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from polytui.feeds.history import CursorState, HistoryClient, HistoryError, Query
from polytui.feeds.history_rows import resolution_from_closed
from polytui.model import Role, Side
from polytui.model.history import HistoryTrade
from polytui.whales.bets import MarketFacts
from polytui.whales.copyability import tapes_by_token
from polytui.whales.profile import ProfileParams, WalletProfile, build_profile
from polytui.whales.store import ProfileStore

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int | None], None]
FactsSource = Callable[[str], Awaitable[MarketFacts | None]]
TAPE_SLACK_S = 60  # prints after the longest copy delay that a tape window also keeps


@dataclass(frozen=True, slots=True)
class RefreshResult:
    """What one refresh did."""

    profile: WalletProfile
    new_fills: int
    requests: int
    bad_rows: int


def _no_progress(stage: str, done: int, total: int | None) -> None:
    return None


class Refresher:
    """Fetches, stores and profiles wallets, incrementally."""

    def __init__(
        self,
        history: HistoryClient,
        store: ProfileStore,
        *,
        params: ProfileParams = ProfileParams(),
        facts_source: FactsSource | None = None,
        now_s: Callable[[], float],
        tape_pages: int = 1,
        progress: Progress = _no_progress,
    ) -> None:
        self.history = history
        self.store = store
        self.params = params
        self.facts_source = facts_source
        self.now_s = now_s
        self.tape_pages = tape_pages
        self.progress = progress

    async def _stream(
        self, wallet: str, stream: str, kind: str, query: Query, on_page: Callable[[Any], int]
    ) -> int:
        """Run one stream from its saved cursor; returns rows stored."""
        saved = self.store.cursor(wallet, stream)
        now = int(self.now_s())
        if kind == "closed" and saved and CursorState.from_record(saved["state"]).done:
            saved = None  # closed positions change in place: fetched whole, replacing rows
        if saved and not CursorState.from_record(saved["state"]).done:
            state: CursorState | None = CursorState.from_record(saved["state"])
            start_s, end_s, newest = saved.get("start_s"), saved["end_s"], saved.get("newest_ms", 0)
        else:
            state = None
            start_s = max(1, saved["end_s"] - 1) if saved else 1  # start=1: the full history
            end_s, newest = now, (saved or {}).get("newest_ms", 0)
        if kind != "closed":  # a time bound would drop v2 rows without last_event_at
            query = replace(query, start_s=start_s, end_s=end_s)
        stored = 0
        async for page in self.history.pages(kind, query, state):
            stored += on_page(page)
            times = [t.ts_ms for t in page.trades] + [e.ts_ms for e in page.events]
            newest = max([newest, *times])
            self.store.set_cursor(
                wallet,
                stream,
                {
                    "state": page.state.to_record(),
                    "start_s": start_s,
                    "end_s": end_s,
                    "newest_ms": newest,
                },
            )
            self.store.commit()
            self.progress(f"{wallet[:10]} {stream}", page.state.pages, None)
        return stored

    async def refresh(self, wallet: str) -> RefreshResult:
        """Bring one wallet's history up to date and recompute its profile."""
        wallet = wallet.lower()
        before_requests = self.history.stats.requests
        before_bad = self.history.stats.bad_rows

        def fills_as(role: Role) -> Callable[[Any], int]:
            return lambda page: self.store.add_fills(
                wallet, [t.with_role(role) for t in page.trades]
            )

        new = await self._stream(
            wallet,
            "trades:taker",
            "trades",
            Query(user=wallet, taker_only=True),
            fills_as(Role.TAKER),
        )
        new += await self._stream(
            wallet,
            "trades:all",
            "trades",
            Query(user=wallet, taker_only=False),
            fills_as(Role.MAKER),
        )
        await self._stream(
            wallet,
            "activity",
            "activity",
            Query(user=wallet),
            lambda page: self.store.add_events(wallet, page.events),
        )
        await self._stream(
            wallet,
            "closed",
            "closed",
            Query(user=wallet),
            lambda page: self.store.add_closed(wallet, page.closed),
        )
        fills = self.store.fills(wallet)
        await self._settlements(wallet, fills)
        await self._facts(fills)
        resolutions = self.store.resolutions()
        await self._tapes(fills, resolutions)
        try:
            self.store.set_pnl(wallet, await self.history.user_pnl(wallet))
        except HistoryError as exc:
            log.info("P&L curve of %s not available: %s", wallet, exc)
        self.store.commit()
        profile = self.profile(wallet)
        return RefreshResult(
            profile,
            new,
            self.history.stats.requests - before_requests,
            self.history.stats.bad_rows - before_bad,
        )

    def profile(self, wallet: str) -> WalletProfile:
        """Recompute and save the profile from what is stored (no network)."""
        fills = self.store.fills(wallet)
        conditions = {f.condition_id for f in fills}
        tapes = tapes_by_token([p for c in sorted(conditions) for p in self.store.tape(c)])
        profile = build_profile(
            wallet,
            fills,
            self.store.resolutions(),
            now_ms=int(self.now_s() * 1000),
            markets=self.store.facts(),
            tapes=tapes,
            closed=self.store.closed(wallet),
            events=self.store.events(wallet),
            pnl_points=self.store.pnl(wallet),
            params=self.params,
        )
        self.store.save_profile(profile)
        return profile

    async def _settlements(self, wallet: str, fills: list[HistoryTrade]) -> None:
        known = self.store.resolutions()
        wanted = sorted({f.condition_id for f in fills} - set(known))
        if not wanted:
            return
        self.progress("settlements", 0, len(wanted))
        found = await self.history.resolutions(wanted)
        # v1 has no resolutions endpoint: a closed position's curPrice says who won
        for position in self.store.closed(wallet):
            if position.condition_id not in found and position.condition_id in wanted:
                derived = resolution_from_closed(position)
                if derived is not None:
                    found[position.condition_id] = derived
        self.store.add_resolutions(found.values())
        self.store.commit()
        self.progress("settlements", len(wanted), len(wanted))

    async def _facts(self, fills: list[HistoryTrade]) -> None:
        if self.facts_source is None:
            return
        known = self.store.facts()
        wanted = sorted({f.condition_id for f in fills} - set(known))
        for i, condition in enumerate(wanted):
            facts = await self.facts_source(condition)
            self.store.add_facts([facts or MarketFacts(condition)])
            if i % 50 == 49:
                self.store.commit()
            self.progress("markets", i + 1, len(wanted))
        self.store.commit()

    async def _tapes(self, fills: list[HistoryTrade], resolutions: dict[str, Any]) -> None:
        """The market's prints after each settled buy, in merged windows, once each."""
        reach_s = max(self.params.all_delays_s) + TAPE_SLACK_S
        spans: dict[str, list[list[int]]] = {}
        for fill in sorted(fills, key=lambda f: f.ts_ms):
            if fill.side is not Side.BUY or fill.condition_id not in resolutions:
                continue
            start = fill.ts_ms // 1000
            windows = spans.setdefault(fill.condition_id, [])
            if windows and start <= windows[-1][1]:
                windows[-1][1] = max(windows[-1][1], start + int(reach_s))
            else:
                windows.append([start, start + int(reach_s)])
        todo = [
            (c, w)
            for c, ws in spans.items()
            for w in ws
            if f"{w[0]}-{w[1]}" not in self.store.tape_windows(c)
        ]
        for i, (condition, (start, end)) in enumerate(todo):
            prints: list[HistoryTrade] = []
            async for page in self.history.pages(
                "trades", Query(condition=condition, taker_only=True, start_s=start, end_s=end)
            ):
                prints += page.trades
                if page.state.pages >= self.tape_pages:
                    break
            self.store.add_tape(condition, f"{start}-{end}", prints)
            if i % 20 == 19:
                self.store.commit()
            self.progress("tapes", i + 1, len(todo))
        self.store.commit()
