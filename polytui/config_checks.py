"""Validation of loaded settings: every value the engine cannot run with is refused, one function
a section, at start-up and on reload.

``polytui.config`` builds the settings and hands them here with its ``fail`` (which names the
file, the dotted key and its line); ``[telegram]`` / ``[metrics]`` and ``[advisors]`` are checked
in ``polytui.config_services`` with the same ``need`` and ``within``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from polytui.config_services import validate_advisors, validate_remote
from polytui.settings import (
    POLICIES,
    ApprovalSettings,
    FeedSettings,
    HistorySettings,
    LiveSettings,
    PaperSettings,
    RiskSettings,
    Settings,
    StrategySettings,
)
from polytui.text import clean_text

WALLET_RE = re.compile(r"^0x[0-9a-fA-F]{40}$")
ORDER_TYPES = ("FAK", "FOK", "GTC", "GTD")
SIGNATURE_TYPES = ("EOA", "POLY_PROXY", "POLY_GNOSIS_SAFE", "POLY_1271")
# Bounds of what the engine can run with: a duration beyond these (or inf / NaN) would overflow a
# datetime or never fire; money beyond MAX_USD cannot be held to the micro-dollar.
HOUR_S = 3600.0
DAY_S = 86400.0
MAX_DURATION_S = 30 * DAY_S
MAX_USD = Decimal(10) ** 12
# The CLOB wants a GTD expiry at least 3 minutes ahead and expires the order 1 minute before its
# stated expiry; the broker signs ``now + 60 + exit_gtd_s``, so 120 s is the floor, and 30 s more
# covers signing, a slow POST and a clock a few seconds off.
MIN_EXIT_GTD_S = 150

Fail = Callable[[str, str], Exception]


class Checks:
    """``need`` and ``within`` for dotted keys; each raises what ``fail(key, problem)`` makes."""

    def __init__(self, fail: Fail) -> None:
        self.fail = fail

    def need(self, ok: bool, key: str, problem: str) -> None:
        """Refuse ``key`` with ``problem`` unless ``ok``."""
        if not ok:
            raise self.fail(key, problem)

    def within(
        self,
        key: str,
        value: Any,
        low: Any,
        high: Any,
        *,
        low_open: bool = False,
        high_open: bool = False,
    ) -> None:
        """``low <= value <= high`` (``<`` on an open end), named as the key with the bounds."""
        if not (value > low if low_open else value >= low):
            if low == 0:
                problem = "must be positive" if low_open else "must not be negative"
            else:
                problem = f"must be {'above' if low_open else 'at least'} {low}"
            raise self.fail(key, f"{problem}, got {value}")
        if not (value < high if high_open else value <= high):
            raise self.fail(
                key, f"must be {'below' if high_open else 'at most'} {high}, got {value}"
            )

    def seconds(
        self, section: Any, prefix: str, name: str, high: float, zero_ok: bool = False
    ) -> None:
        """Durations are positive; zero only where it turns the thing off."""
        self.within(f"{prefix}.{name}", getattr(section, name), 0, high, low_open=not zero_ok)


def validate(s: Settings, fail: Fail) -> None:
    """Refuse the first value the engine cannot run with; normalises wallets and aliases."""
    c = Checks(fail)
    c.need(s.mode in ("paper", "live"), "mode", f"must be 'paper' or 'live', got {s.mode!r}")
    _whales(s, c)
    _strategy(s.strategy, c)
    _risk(s.risk, c)
    _approval(s.approval, c)
    _paper(s.paper, c)
    _storage_and_daemon(s, c)
    _live(s.live, c)
    _feeds(s.feeds, c)
    _history(s.history, c)
    validate_remote(s, c.need, c.within)
    validate_advisors(s, c.need, c.within)


def _whales(s: Settings, c: Checks) -> None:
    for i, wallet in enumerate(s.whales.wallets):
        c.need(
            bool(WALLET_RE.match(wallet)),
            f"whales.wallets[{i}]",
            f"{wallet!r} is not a wallet address (0x followed by 40 hex digits)",
        )
    s.whales.wallets = [w.lower() for w in s.whales.wallets]
    s.whales.aliases = {k.lower(): clean_text(v) for k, v in s.whales.aliases.items()}
    c.within("whales.min_trade_usd", s.whales.min_trade_usd, 0, MAX_USD)


def _strategy(st: StrategySettings, c: Checks) -> None:
    c.need(0 <= st.min_net_edge < 1, "strategy.min_net_edge", "must be in [0, 1)")
    c.need(0 <= st.confidence_z <= 10, "strategy.confidence_z", "must be between 0 and 10")
    c.need(-1 < st.prior_edge < 1, "strategy.prior_edge", "must be between -1 and 1")
    c.within("strategy.tax_prior_weight", st.tax_prior_weight, 0, 1_000_000)
    c.need(0 <= st.cluster_weight <= 1, "strategy.cluster_weight", "must be between 0 and 1")
    c.need(0 < st.kelly_cap <= 1, "strategy.kelly_cap", "must be in (0, 1]")
    c.need(0 <= st.reserve_share < 1, "strategy.reserve_share", "must be in [0, 1)")
    c.need(st.strong_edge_per_usd > 0, "strategy.strong_edge_per_usd", "must be above 0")
    c.within("strategy.cluster_size", st.cluster_size, 2, 1000)
    for name in ("cluster_window_s", "dedup_ttl_s", "max_trade_age_s"):
        c.seconds(st, "strategy", name, MAX_DURATION_S)
    c.need(0 < st.kelly_fraction <= 1, "strategy.kelly_fraction", "must be in (0, 1]")
    c.within("strategy.max_bet_usd", st.max_bet_usd, 0, MAX_USD, low_open=True)
    c.within("strategy.prior_weight", st.prior_weight, 0, 1_000_000)


def _risk(r: RiskSettings, c: Checks) -> None:
    for name in ("max_total_exposure_usd", "max_market_exposure_usd", "max_daily_loss_usd"):
        c.within(f"risk.{name}", getattr(r, name), 0, MAX_USD)
    c.seconds(r, "risk", "min_time_to_resolution_s", 365 * DAY_S, zero_ok=True)
    c.seconds(r, "risk", "stale_feed_halt_s", DAY_S)
    c.within("risk.max_open_positions", r.max_open_positions, 0, 1_000_000)
    for name in ("min_entry_price", "max_entry_price"):
        c.need(0 <= getattr(r, name) <= 1, f"risk.{name}", "must be a price between 0 and 1")
    c.need(
        r.min_entry_price <= r.max_entry_price,
        "risk.min_entry_price",
        f"min_entry_price {r.min_entry_price} is above max_entry_price {r.max_entry_price}",
    )
    c.need(
        r.max_market_exposure_usd <= r.max_total_exposure_usd,
        "risk.max_market_exposure_usd",
        "is above max_total_exposure_usd",
    )


def _approval(a: ApprovalSettings, c: Checks) -> None:
    c.need(a.policy in POLICIES, "approval.policy", f"must be one of {', '.join(POLICIES)}")
    for wallet, policy in a.per_wallet.items():
        c.need(
            policy in POLICIES,
            f"approval.per_wallet.{wallet}",
            f"must be one of {', '.join(POLICIES)}",
        )
    a.per_wallet = {k.lower(): v for k, v in a.per_wallet.items()}
    c.seconds(a, "approval", "ttl_s", DAY_S)


def _paper(p: PaperSettings, c: Checks) -> None:
    c.within("paper.starting_balance_usd", p.starting_balance_usd, 0, MAX_USD, low_open=True)
    c.within("paper.latency_ms", p.latency_ms, 0, 60_000)
    c.need(0 <= p.slippage_cap <= 1, "paper.slippage_cap", "must be between 0 and 1")
    c.need(p.order_type in ("FAK", "FOK"), "paper.order_type", "must be FAK or FOK")
    c.within("paper.fallback_fee_rate", p.fallback_fee_rate, 0, 1)
    c.within("paper.fallback_fee_exponent", p.fallback_fee_exponent, 0, 10)
    if p.take_profit is not None:
        c.within("paper.take_profit", p.take_profit, 0, 1000, low_open=True)
    if p.stop_loss is not None:
        c.within("paper.stop_loss", p.stop_loss, 0, 1, low_open=True, high_open=True)


def _storage_and_daemon(s: Settings, c: Checks) -> None:
    c.within("storage.backups", s.storage.backups, 1, 1000)
    c.need(
        s.daemon.log_level.upper() in ("DEBUG", "INFO", "WARNING", "ERROR"),
        "daemon.log_level",
        "must be DEBUG, INFO, WARNING or ERROR",
    )
    c.seconds(s.daemon, "daemon", "stop_timeout_s", HOUR_S)


def _live(lv: LiveSettings, c: Checks) -> None:
    c.need(
        lv.signature_type in SIGNATURE_TYPES,
        "live.signature_type",
        f"must be one of {', '.join(SIGNATURE_TYPES)}",
    )
    c.need(lv.order_type in ORDER_TYPES, "live.order_type", f"must be one of {ORDER_TYPES}")
    c.need(lv.exit_order_type in ORDER_TYPES, "live.exit_order_type", "unknown order type")
    c.within("live.chain_id", lv.chain_id, 1, 2**53)
    c.seconds(lv, "live", "post_timeout_s", HOUR_S)
    c.seconds(lv, "live", "confirm_timeout_s", DAY_S)
    c.seconds(lv, "live", "max_clock_skew_s", HOUR_S)
    c.need(
        lv.exit_gtd_s >= MIN_EXIT_GTD_S,
        "live.exit_gtd_s",
        f"must be at least {MIN_EXIT_GTD_S} (the CLOB refuses a GTD expiry less than 3 minutes "
        f"ahead and ends the order 1 minute early), got {lv.exit_gtd_s}",
    )
    c.within("live.exit_gtd_s", lv.exit_gtd_s, MIN_EXIT_GTD_S, int(MAX_DURATION_S))
    # The CLOB cancels every open order after 10 s without a heartbeat: beat well within that.
    c.within("live.heartbeat_s", lv.heartbeat_s, 0, 8)
    c.need(0 <= lv.slippage_cap <= 1, "live.slippage_cap", "must be between 0 and 1")
    c.need(
        not lv.funder or bool(WALLET_RE.match(lv.funder)),
        "live.funder",
        "must be a wallet address",
    )


def _feeds(f: FeedSettings, c: Checks) -> None:
    for name in ("clob_ws_url", "clob_user_ws_url", "rtds_ws_url"):
        c.need(
            getattr(f, name).startswith(("ws://", "wss://")),
            f"feeds.{name}",
            "must be a ws:// or wss:// URL",
        )
    for name in ("gamma_url", "data_api_url", "clob_rest_url"):
        c.need(
            getattr(f, name).startswith(("http://", "https://")),
            f"feeds.{name}",
            "must be an http(s) URL",
        )
    for i, address in enumerate(f.exchange_addresses):
        c.need(bool(WALLET_RE.match(address)), f"feeds.exchange_addresses[{i}]", "not an address")
    c.seconds(f, "feeds", "dataapi_poll_s", DAY_S)
    c.seconds(f, "feeds", "backoff_initial_s", HOUR_S)
    c.within("feeds.backoff_cap_s", f.backoff_cap_s, f.backoff_initial_s, HOUR_S)
    for ping, silence in (("clob_ping_s", "clob_silence_s"), ("rtds_ping_s", "rtds_silence_s")):
        c.seconds(f, "feeds", ping, HOUR_S)
        c.within(f"feeds.{silence}", getattr(f, silence), getattr(f, ping), DAY_S, low_open=True)
    c.within("feeds.rtds_quiet_retry_max_s", f.rtds_quiet_retry_max_s, f.rtds_silence_s, DAY_S)
    c.seconds(f, "feeds", "chain_silence_s", DAY_S)
    c.within("feeds.clob_max_assets_per_connection", f.clob_max_assets_per_connection, 1, 10_000)
    c.seconds(f, "feeds", "clob_idle_unsubscribe_s", 30 * DAY_S)
    c.seconds(f, "feeds", "http_timeout_s", HOUR_S)
    c.seconds(f, "feeds", "market_cache_ttl_s", DAY_S, zero_ok=True)
    c.seconds(f, "feeds", "resolution_poll_s", DAY_S)
    c.seconds(f, "feeds", "warm_refresh_s", DAY_S)
    c.within("feeds.warm_markets_max", f.warm_markets_max, 0, 10_000)
    c.seconds(f, "feeds", "catch_up_s", MAX_DURATION_S, zero_ok=True)


def _history(h: HistorySettings, c: Checks) -> None:
    c.need(
        not h.data_api_url or h.data_api_url.startswith(("http://", "https://")),
        "history.data_api_url",
        "must be an http(s) URL (or empty for [feeds] data_api_url)",
    )
    c.need(bool(h.copy_delays_s), "history.copy_delays_s", "needs at least one delay")
    for i, delay in enumerate(h.copy_delays_s):
        c.within(f"history.copy_delays_s[{i}]", delay, 0, HOUR_S, low_open=True)
    c.within("history.source_latency_s", h.source_latency_s, 0, HOUR_S, low_open=True)
    c.within("history.min_resolved", h.min_resolved, 1, 1_000_000)
    for name in ("requests_per_10s", "trades_per_10s", "positions_per_10s"):
        c.within(f"history.{name}", getattr(h, name), 1, 100_000)
    c.within("history.tape_pages", h.tape_pages, 1, 100)
    c.within("history.discover_limit", h.discover_limit, 1, 1_000)
