"""``polytui whales discover | rank | show | add | remove | list``: the edges of whale profiling.

Each command prints a human table (rich) or, with ``--json``, one JSON document on stdout.
Fetches report progress on stderr and can be cancelled with Ctrl-C: every page is committed
with its cursor, so the next run resumes. ``--no-refresh`` answers from the journal alone.
Errors a trader can fix print one line and return a non-zero code; nothing prints a traceback.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from polytui.config import LoadedConfig, default_config_path
from polytui.settings import Settings
from polytui.whales.output import Progress, emit_json, print_profile, print_rank, print_watch_list
from polytui.whales.profile import WalletProfile
from polytui.whales.session import open_session, profiles_for, saved_profiles
from polytui.whales.watchlist import (
    WatchListError,
    add_wallet,
    check_wallet,
    notify_daemon,
    remove_wallet,
    watched,
)

EXIT_ERROR = 1
EXIT_USAGE = 2


# --- rows (pure) ----------------------------------------------------------------------------------


def _iso(ms: int | None) -> str | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC).isoformat()


def _s(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def rank_row(profile: WalletProfile, alias: str, latency_s: float) -> dict[str, Any]:
    """The JSON row of ``whales rank`` / ``discover`` (money and estimates as decimal text)."""
    copy = profile.copy_at(latency_s)
    return {
        "wallet": profile.wallet,
        "alias": alias,
        "resolved": profile.resolved,
        "wins": profile.wins,
        "trades": profile.trades,
        "edge": str(profile.record.edge),
        "edge_se": _s(profile.record.se),
        "edge_per_usd": str(profile.record.per_usd),
        "copy_edge": None if copy is None else str(copy.stat.edge),
        "copy_edge_se": None if copy is None else _s(copy.stat.se),
        "copy_latency_s": str(profile.copy_latency_s),
        "copyable": profile.copyable,
        "reason": profile.reason,
        "realized_pnl_usd": str(profile.realized_pnl_usd),
        "last_trade": _iso(profile.last_trade_ms),
    }


def rank_key(profile: WalletProfile, latency_s: float) -> tuple[int, Decimal]:
    """Copyable first, then by the one-sided lower bound of the copy edge."""
    copy = profile.copy_at(latency_s)
    bound = copy.stat.lower_bound() if copy is not None else None
    return (0 if profile.copyable else 1, -(bound if bound is not None else Decimal(-99)))


def ranked(profiles: Iterable[WalletProfile], latency_s: float) -> list[WalletProfile]:
    """Profiles best first."""
    return sorted(profiles, key=lambda p: rank_key(p, latency_s))


def _aliases(settings: Settings) -> dict[str, str]:
    return dict(settings.whales.aliases)


def _emit_ranked(
    command: str,
    what: str,
    rows: list[dict[str, Any]],
    errors: list[str],
    latency: float,
    as_json: bool,
) -> None:
    """Ranked rows as one JSON document, or as the table with each error on stderr."""
    if as_json:
        emit_json({what: rows, "errors": errors})
        return
    print_rank(rows, f"{what} ranked by copy edge at {latency:g} s")
    for error in errors:
        print(f"polytui whales {command}: {error}", file=sys.stderr)


# --- commands -------------------------------------------------------------------------------------


def run_rank(loaded: LoadedConfig, wallets: list[str], as_json: bool, refresh: bool) -> int:
    """``whales rank [ADDR …]``."""
    settings = loaded.settings
    try:
        targets = [check_wallet(w) for w in wallets] or list(settings.whales.wallets)
    except WatchListError as exc:
        print(f"polytui whales rank: {exc}", file=sys.stderr)
        return EXIT_USAGE
    latency = settings.history.source_latency_s
    with Progress(not as_json) as progress:
        profiles, errors = asyncio.run(profiles_for(settings, targets, refresh, progress))
    aliases = _aliases(settings)
    rows = [rank_row(p, aliases.get(p.wallet, ""), latency) for p in ranked(profiles, latency)]
    _emit_ranked("rank", "wallets", rows, errors, latency, as_json)
    return EXIT_ERROR if errors and not rows else 0


def run_show(loaded: LoadedConfig, wallet: str, as_json: bool, refresh: bool) -> int:
    """``whales show ADDR``."""
    settings = loaded.settings
    try:
        target = check_wallet(wallet)
    except WatchListError as exc:
        print(f"polytui whales show: {exc}", file=sys.stderr)
        return EXIT_USAGE
    with Progress(not as_json) as progress:
        profiles, errors = asyncio.run(profiles_for(settings, [target], refresh, progress))
    for error in errors:
        print(f"polytui whales show: {error}", file=sys.stderr)
    if not profiles:
        return EXIT_ERROR
    profile = profiles[0]
    alias = _aliases(settings).get(target, "")
    if as_json:
        emit_json(
            {
                **rank_row(profile, alias, settings.history.source_latency_s),
                "profile": profile.to_record(),
            }
        )
    else:
        print_profile(profile, alias, settings.history.source_latency_s)
    return 0


async def _candidates(
    settings: Settings, period: str, category: str, progress: Any
) -> dict[str, list[str]]:
    """Candidate wallets and where each came from (leaderboard, biggest winners, holders of
    the watched wallets' markets, big trades on the firehose recorded in the journal)."""
    from polytui.feeds.history import HistoryError

    sources: dict[str, list[str]] = {}

    def add(wallet: str, source: str) -> None:
        if wallet not in settings.whales.wallets:
            sources.setdefault(wallet, [])
            if source not in sources[wallet]:
                sources[wallet].append(source)

    async with open_session(settings, progress) as session:
        history = session.history
        try:
            for entry in await history.leaderboard(period, category, 50):
                add(entry.wallet, "leaderboard")
            for entry in await history.biggest_winners(period, category):
                add(entry.wallet, "biggest-winners")
            store = session.refresher.store
            markets: list[str] = []
            for wallet in settings.whales.wallets:
                recent = sorted(store.fills(wallet), key=lambda f: -f.ts_ms)
                markets += [f.condition_id for f in recent[:50]]
            for condition in list(dict.fromkeys(markets))[:10]:
                for entry in await history.holders(condition):
                    add(entry.wallet, "holders")
        except HistoryError as exc:
            print(f"polytui whales discover: {exc}", file=sys.stderr)
        floor = settings.whales.min_trade_usd
        for event in session.journal.events(kinds=["signal"]):
            payload = event.payload
            wallet = str(payload.get("wallet", "")).lower()
            try:
                size = Decimal(str(payload.get("whale_usd", "0")))
            except ArithmeticError:
                continue
            if wallet and size >= floor:
                add(wallet, "firehose")
    return sources


async def _discover(
    settings: Settings, period: str, category: str, limit: int, refresh: bool, progress: Any
) -> tuple[list[WalletProfile], dict[str, list[str]], list[str]]:
    sources = await _candidates(settings, period, category, progress)
    wallets = list(sources)[: max(limit * 2, limit)]
    profiles, errors = await profiles_for(settings, wallets, refresh, progress)
    return profiles, sources, errors


def run_discover(
    loaded: LoadedConfig,
    period: str,
    category: str,
    limit: int | None,
    as_json: bool,
    refresh: bool,
) -> int:
    """``whales discover``: candidates profiled and ranked."""
    settings = loaded.settings
    if period not in ("day", "week", "month", "all"):
        print("polytui whales discover: --period must be day, week, month or all", file=sys.stderr)
        return EXIT_USAGE
    count = limit or settings.history.discover_limit
    latency = settings.history.source_latency_s
    with Progress(not as_json) as progress:
        profiles, sources, errors = asyncio.run(
            _discover(settings, period, category, count, refresh, progress)
        )
    best = ranked(profiles, latency)[:count]
    rows = [{**rank_row(p, "", latency), "sources": sources.get(p.wallet, [])} for p in best]
    _emit_ranked("discover", "candidates", rows, errors, latency, as_json)
    return 0


def _config_target(loaded: LoadedConfig) -> Path:
    return loaded.path or default_config_path()


def _after_change(loaded: LoadedConfig, message: str) -> None:
    from polytui.config import load_settings

    print(message)
    try:
        settings = load_settings(_config_target(loaded)).settings
    except Exception:
        return
    pid = notify_daemon(settings)
    if pid is not None:
        print(f"sent SIGHUP to the daemon (pid {pid}): it reloads the watch list now")


def run_add(loaded: LoadedConfig, wallet: str, alias: str | None, policy: str | None) -> int:
    """``whales add ADDR [--alias] [--policy]``."""
    target = _config_target(loaded)
    try:
        added = add_wallet(target, wallet, alias=alias, policy=policy)
    except WatchListError as exc:
        print(f"polytui whales add: {exc}", file=sys.stderr)
        return EXIT_USAGE
    verb = "now watching" if added else "already watching"
    _after_change(loaded, f"{verb} {wallet.lower()} (in {target})")
    return 0


def run_remove(loaded: LoadedConfig, wallet: str) -> int:
    """``whales remove ADDR``."""
    target = _config_target(loaded)
    try:
        removed = remove_wallet(target, wallet)
    except WatchListError as exc:
        print(f"polytui whales remove: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if not removed:
        print(f"polytui whales remove: {wallet.lower()} is not on the watch list", file=sys.stderr)
        return EXIT_ERROR
    _after_change(loaded, f"stopped watching {wallet.lower()} (in {target})")
    return 0


def run_list(loaded: LoadedConfig, as_json: bool) -> int:
    """``whales list``: the watch list with its saved profile summary."""
    settings = loaded.settings
    profiles = saved_profiles(settings)
    latency = settings.history.source_latency_s
    out = []
    for w in watched(settings):
        item: dict[str, Any] = {"wallet": w.wallet, "alias": w.alias, "policy": w.policy}
        profile = profiles.get(w.wallet)
        if profile is not None:
            item.update(
                {k: v for k, v in rank_row(profile, w.alias, latency).items() if k not in item}
            )
        out.append(item)
    if as_json:
        emit_json({"wallets": out, "config": str(loaded.path) if loaded.path else None})
    else:
        print_watch_list(out, f"watch list ({loaded.path or 'defaults'})")
    return 0
