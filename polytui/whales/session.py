"""One whales command's open resources: the journal, the shared HTTP client and the refresher.

``profiles_for`` answers a list of wallets (refreshed, or from the journal alone);
``saved_profiles`` reads the journal's saved profiles without opening the network.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from polytui.config import data_dir
from polytui.model import FeeSchedule
from polytui.settings import Settings
from polytui.whales.bets import MarketFacts
from polytui.whales.profile import ProfileParams, WalletProfile


def params_of(settings: Settings) -> ProfileParams:
    """Profile knobs from ``[history]`` and the paper fee fallback."""
    h = settings.history
    fallback = None
    if settings.paper.fallback_fee_rate > 0:
        fallback = FeeSchedule(
            settings.paper.fallback_fee_rate,
            settings.paper.fallback_fee_exponent,
            fee_type="fallback",
        )
    return ProfileParams(
        delays_s=tuple(h.copy_delays_s),
        copy_latency_s=h.source_latency_s,
        fallback_fee=fallback,
        min_resolved=h.min_resolved,
    )


@dataclass(slots=True)
class Session:
    """The open journal, HTTP client and refresher of one command."""

    refresher: Any
    history: Any
    journal: Any


@asynccontextmanager
async def open_session(
    settings: Settings,
    progress: Any,
    *,
    now_s: Callable[[], float] = time.time,
    monotonic: Callable[[], float] = time.monotonic,
) -> AsyncIterator[Session]:
    """Journal + shared HTTP client + rate-limited history client + refresher (``now_s``: the
    refresh's clock, unix seconds, and ``monotonic`` the rate limits'; a backtest passes its
    start and its virtual loop's time)."""
    from polytui.feeds.gamma import MarketDirectory
    from polytui.feeds.history import HistoryClient
    from polytui.feeds.http import make_client
    from polytui.feeds.ratelimit import RateLimiter, data_api_limiter
    from polytui.journal import Journal, journal_path
    from polytui.whales.refresh import Refresher
    from polytui.whales.store import ProfileStore

    h = settings.history
    client = make_client(settings.feeds.http_timeout_s)
    path = journal_path(data_dir(settings), settings.mode)
    journal = Journal.open(path, mode=settings.mode, backup=False)  # a query, not a start
    history = HistoryClient(
        client,
        h.data_api_url or settings.feeds.data_api_url,
        limiter=data_api_limiter(
            h.requests_per_10s, h.trades_per_10s, h.positions_per_10s, clock=monotonic
        ),
    )
    gamma = MarketDirectory(client, settings.feeds.gamma_url, monotonic=monotonic)
    gamma_limit = RateLimiter(300, clock=monotonic)  # Gamma /markets: 300 per 10 s

    async def facts(condition_id: str) -> MarketFacts | None:
        try:
            async with gamma_limit.slot("/markets"):
                market = await gamma.get_by_condition(condition_id)
        except Exception:  # metadata is optional: a profile without a category is still one
            return None
        if market is None:
            return None
        end = int(market.end_time.timestamp() * 1000) if market.end_time else None
        return MarketFacts(
            condition_id, market.tags[0] if market.tags else "", market.fee_schedule, end
        )

    refresher = Refresher(
        history,
        ProfileStore(journal),
        params=params_of(settings),
        facts_source=facts,
        now_s=now_s,
        tape_pages=h.tape_pages,
        progress=progress,
    )
    try:
        yield Session(refresher, history, journal)
    finally:
        journal.close()
        await client.aclose()


async def profiles_for(
    settings: Settings, wallets: list[str], refresh: bool, progress: Any
) -> tuple[list[WalletProfile], list[str]]:
    """Each wallet's profile, refreshed from the data-api (or, with ``refresh`` off, as saved),
    and one line per wallet that could not be answered."""
    from polytui.feeds.history import HistoryError

    errors: list[str] = []
    async with open_session(settings, progress) as session:
        stored = session.refresher.store.profiles()
        out: list[WalletProfile] = []
        for wallet in wallets:
            if not refresh:
                if wallet in stored:
                    out.append(stored[wallet])
                else:
                    errors.append(f"{wallet}: no saved profile (run without --no-refresh)")
                continue
            try:
                out.append((await session.refresher.refresh(wallet)).profile)
            except HistoryError as exc:
                errors.append(f"{wallet}: {exc}")
                if wallet in stored:
                    out.append(stored[wallet])
    return out, errors


def saved_profiles(settings: Settings) -> dict[str, WalletProfile]:
    """The profiles saved in this mode's journal (none when there is no journal yet)."""
    from polytui.journal import Journal, journal_path
    from polytui.whales.store import ProfileStore

    path = journal_path(data_dir(settings), settings.mode)
    if not path.exists():
        return {}
    journal = Journal.open(path, mode=settings.mode, backup=False)
    try:
        return ProfileStore(journal).profiles()
    finally:
        journal.close()
