"""``polytui whales discover | rank | show | add | remove | list``: the edges of whale profiling.

Each command prints a human table (rich) or, with ``--json``, one JSON document on stdout.
Fetches report progress on stderr and can be cancelled with Ctrl-C: every page is committed
with its cursor, so the next run resumes. ``--no-refresh`` answers from the journal alone.
Errors a trader can fix print one line and return a non-zero code; nothing prints a traceback.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from polytui.config import LoadedConfig, data_dir, default_config_path
from polytui.model import FeeSchedule
from polytui.settings import Settings
from polytui.whales.bets import MarketFacts
from polytui.whales.profile import ProfileParams, WalletProfile
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
SPARK = "▁▂▃▄▅▆▇█"


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


def sparkline(values: list[float]) -> str:
    """Values as block characters (for the P&L curve and active hours)."""
    if not values:
        return ""
    lo, hi = min(values), max(values)
    span = hi - lo or 1.0
    return "".join(SPARK[int((v - lo) / span * (len(SPARK) - 1))] for v in values)


# --- output -----------------------------------------------------------------------------------


def _console(stderr: bool = False) -> Any:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=False)


def _cents(value: str | Decimal | None, se: str | Decimal | None = None) -> str:
    if value is None:
        return "—"
    text = f"{Decimal(value) * 100:+.1f}"
    return text if se is None else f"{text} ± {Decimal(se) * 100:.1f}"


def print_rank(rows: list[dict[str, Any]], title: str) -> None:
    """The human table of ranked wallets."""
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for name, justify in (
        ("#", "right"),
        ("wallet", "left"),
        ("settled", "right"),
        ("edge ¢/sh", "right"),
        ("copy ¢/sh", "right"),
        ("copyable", "left"),
        ("P&L $", "right"),
        ("last trade", "left"),
        ("why", "left"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for i, row in enumerate(rows, 1):
        who = row["alias"] or f"{row['wallet'][:8]}…{row['wallet'][-4:]}"
        table.add_row(
            str(i),
            who,
            str(row["resolved"]),
            _cents(row["edge"], row["edge_se"]),
            _cents(row["copy_edge"], row["copy_edge_se"]),
            "yes" if row["copyable"] else "no",
            f"{Decimal(row['realized_pnl_usd']):,.2f}",
            (row["last_trade"] or "—")[:16].replace("T", " "),
            row["reason"],
        )
    if not rows:
        table.caption = "no wallets (add one with `polytui whales add ADDR`)"
    _console().print(table)


def print_profile(profile: WalletProfile, alias: str, latency_s: float) -> None:
    """``whales show``: the whole profile."""
    from rich.table import Table

    out = _console()
    r = profile.record
    out.print(f"[b]{alias or profile.wallet}[/b]  {profile.wallet}")
    out.print(
        f"{profile.trades} fills in {profile.bets} bets; {profile.resolved} settled, "
        f"{profile.wins} won; realized P&L ${profile.realized_pnl_usd:,.2f} "
        f"({profile.pnl_source}); ROI {profile.roi * 100:+.1f} %"
    )
    out.print(
        f"price-adjusted edge {_cents(r.edge, r.se)} ¢/share "
        f"(95 % {_cents(r.lo)} to {_cents(r.hi)}), {r.per_usd * 100:+.1f} % per dollar, "
        f"p = {r.p_value if r.p_value is not None else '—'}"
    )
    out.print(f"copyable: {'yes' if profile.copyable else 'no'} — {profile.reason}")
    copies = Table(title="copy edge by delay", title_justify="left")
    for name in ("delay s", "copied", "edge ¢/sh", "95 %"):
        copies.add_column(name, justify="right")
    for c in profile.copy:
        copies.add_row(
            str(c.delay_s),
            f"{c.stat.n}/{c.attempted}",
            _cents(c.stat.edge, c.stat.se),
            f"{_cents(c.stat.lo)} to {_cents(c.stat.hi)}",
        )
    out.print(copies)
    if profile.playbooks:
        out.print("[b]playbooks[/b]")
        for p in profile.playbooks:
            out.print(f"  • {p.sentence} (p = {p.p_adjusted} after {p.tried} segments)")
    else:
        out.print("playbooks: none survives the correction for the segments tried")
    table = Table(title="breakdowns", title_justify="left")
    for name in ("by", "segment", "bets", "won", "edge ¢/sh", "per $"):
        table.add_column(name, justify="left" if name in ("by", "segment") else "right")
    for seg in profile.breakdowns:
        s = seg.stat
        table.add_row(
            seg.dimension,
            seg.label,
            str(s.n),
            str(s.wins),
            _cents(s.edge, s.se),
            f"{s.per_usd * 100:+.1f} %",
        )
    out.print(table)
    if profile.holding_median_s is not None:
        out.print(
            f"holding time: median {profile.holding_median_s / 3600:.1f} h, "
            f"mean {(profile.holding_mean_s or 0) / 3600:.1f} h"
        )
    out.print(f"active hours (UTC 0-23): {sparkline([float(h) for h in profile.active_hours])}")
    if profile.pnl_curve:
        out.print(
            f"P&L curve: {sparkline([float(v) for _, v in profile.pnl_curve])} "
            f"(last ${profile.pnl_curve[-1][1]:,.2f})"
        )
    for note in profile.notes:
        out.print(f"[dim]note: {note}[/dim]")


def _yes_no(value: Any) -> str:
    return "—" if value is None else ("yes" if value else "no")


def _emit_json(document: Any) -> None:
    sys.stdout.write(json.dumps(document, indent=2, default=str) + "\n")


# --- sessions ---------------------------------------------------------------------------------


@dataclass(slots=True)
class Session:
    """The open journal, HTTP client and refresher of one command."""

    refresher: Any
    history: Any
    journal: Any


class _Progress:
    """rich progress on stderr (only on a terminal, and never with --json)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.progress: Any = None
        self.tasks: dict[str, Any] = {}

    def __enter__(self) -> _Progress:
        if self.enabled:
            from rich.progress import Progress

            self.progress = Progress(console=_console(stderr=True), transient=True)
            self.progress.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.progress is not None:
            self.progress.stop()

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        if self.progress is None:
            return
        task = self.tasks.get(stage)
        if task is None:
            task = self.tasks[stage] = self.progress.add_task(stage, total=total)
        self.progress.update(task, completed=done, total=total)


@asynccontextmanager
async def open_session(settings: Settings, progress: Any) -> AsyncIterator[Session]:
    """Journal + shared HTTP client + rate-limited history client + refresher."""
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
        limiter=data_api_limiter(h.requests_per_10s, h.trades_per_10s, h.positions_per_10s),
    )
    gamma = MarketDirectory(client, settings.feeds.gamma_url)
    gamma_limit = RateLimiter(300)  # Gamma /markets: 300 per 10 s

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
        now_s=time.time,
        tape_pages=h.tape_pages,
        progress=progress,
    )
    try:
        yield Session(refresher, history, journal)
    finally:
        journal.close()
        await client.aclose()


async def _profiles(
    settings: Settings, wallets: list[str], refresh: bool, progress: Any
) -> tuple[list[WalletProfile], list[str]]:
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


def _aliases(settings: Settings) -> dict[str, str]:
    return dict(settings.whales.aliases)


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
    with _Progress(not as_json) as progress:
        profiles, errors = asyncio.run(_profiles(settings, targets, refresh, progress))
    aliases = _aliases(settings)
    rows = [rank_row(p, aliases.get(p.wallet, ""), latency) for p in ranked(profiles, latency)]
    if as_json:
        _emit_json({"wallets": rows, "errors": errors})
    else:
        print_rank(rows, f"wallets ranked by copy edge at {latency:g} s")
        for error in errors:
            print(f"polytui whales rank: {error}", file=sys.stderr)
    return EXIT_ERROR if errors and not rows else 0


def run_show(loaded: LoadedConfig, wallet: str, as_json: bool, refresh: bool) -> int:
    """``whales show ADDR``."""
    settings = loaded.settings
    try:
        target = check_wallet(wallet)
    except WatchListError as exc:
        print(f"polytui whales show: {exc}", file=sys.stderr)
        return EXIT_USAGE
    with _Progress(not as_json) as progress:
        profiles, errors = asyncio.run(_profiles(settings, [target], refresh, progress))
    for error in errors:
        print(f"polytui whales show: {error}", file=sys.stderr)
    if not profiles:
        return EXIT_ERROR
    profile = profiles[0]
    alias = _aliases(settings).get(target, "")
    if as_json:
        _emit_json(
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
    profiles, errors = await _profiles(settings, wallets, refresh, progress)
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
    with _Progress(not as_json) as progress:
        profiles, sources, errors = asyncio.run(
            _discover(settings, period, category, count, refresh, progress)
        )
    best = ranked(profiles, latency)[:count]
    rows = [{**rank_row(p, "", latency), "sources": sources.get(p.wallet, [])} for p in best]
    if as_json:
        _emit_json({"candidates": rows, "errors": errors})
    else:
        print_rank(rows, f"candidates ranked by copy edge at {latency:g} s")
        for error in errors:
            print(f"polytui whales discover: {error}", file=sys.stderr)
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
    from polytui.journal import Journal, journal_path
    from polytui.whales.store import ProfileStore

    settings = loaded.settings
    rows = watched(settings)
    path = journal_path(data_dir(settings), settings.mode)
    profiles: dict[str, WalletProfile] = {}
    if path.exists():
        journal = Journal.open(path, mode=settings.mode, backup=False)
        try:
            profiles = ProfileStore(journal).profiles()
        finally:
            journal.close()
    latency = settings.history.source_latency_s
    out = []
    for w in rows:
        item: dict[str, Any] = {"wallet": w.wallet, "alias": w.alias, "policy": w.policy}
        profile = profiles.get(w.wallet)
        if profile is not None:
            item.update(
                {k: v for k, v in rank_row(profile, w.alias, latency).items() if k not in item}
            )
        out.append(item)
    if as_json:
        _emit_json({"wallets": out, "config": str(loaded.path) if loaded.path else None})
        return 0
    from rich.table import Table

    table = Table(title=f"watch list ({loaded.path or 'defaults'})", title_justify="left")
    for name in ("wallet", "alias", "policy", "settled", "edge ¢/sh", "copyable"):
        table.add_column(name)
    for item in out:
        table.add_row(
            item["wallet"],
            item["alias"],
            item["policy"],
            str(item.get("resolved", "—")),
            _cents(item.get("edge"), item.get("edge_se")) if "edge" in item else "—",
            _yes_no(item.get("copyable")),
        )
    _console().print(table)
    return 0
