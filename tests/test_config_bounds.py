"""Every number ``config check`` accepts is one the engine runs with: a table over every key.

inf, NaN and values beyond what is meaningful (a TTL that overflows a date, a balance that
cannot be held to the micro-dollar, a negative fee exponent, a silence shorter than its ping)
are refused with the dotted key; the extremes that are accepted go through the real strategy,
sizing, approval queue, paper fees and journal without an error.
"""

from __future__ import annotations

import dataclasses
import typing
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from polytui.clock import FakeClock
from polytui.config import ConfigError, load_settings, settings_to_dict
from polytui.settings import Settings

INF, NAN = float("inf"), float("nan")

# key → values that must be refused (besides inf/NaN, tried on every float key).
BAD: dict[str, list[Any]] = {
    "feeds.dataapi_poll_s": [0.0, -1.0, 1e9],
    "feeds.backoff_initial_s": [0.0, -1.0, 1e9],
    "feeds.backoff_cap_s": [0.1, 1e9],  # below backoff_initial_s (0.5)
    "feeds.clob_ping_s": [0.0, -1.0, 1e9],
    "feeds.rtds_ping_s": [0.0, -1.0],
    "feeds.clob_silence_s": [-1.0, 10.0, 5.0],  # not above clob_ping_s (10)
    "feeds.rtds_silence_s": [-1.0, 5.0],  # not above rtds_ping_s (5)
    "feeds.rtds_quiet_retry_max_s": [0.0, 5.0, 1e9],  # below rtds_silence_s (15)
    "feeds.chain_silence_s": [0.0, -1.0, 1e9],
    "feeds.clob_max_assets_per_connection": [0, -1, 10**6],
    "feeds.clob_idle_unsubscribe_s": [0.0, -1.0, 1e9],
    "feeds.http_timeout_s": [0.0, 1e9],
    "feeds.market_cache_ttl_s": [-1.0, 1e9],
    "feeds.resolution_poll_s": [0.0, -1.0, 1e9],
    "feeds.warm_markets_max": [-1, 10**6],
    "feeds.warm_refresh_s": [0.0, -1.0, 1e9],
    "feeds.catch_up_s": [-1.0, 1e12],
    "whales.min_trade_usd": ["-1", "1e400", "1e13"],
    "strategy.min_net_edge": ["-0.1", "1"],
    "strategy.confidence_z": ["-1", "11"],
    "strategy.prior_edge": ["-1", "1"],
    "strategy.tax_prior_weight": [-1, 10**21],
    "strategy.cluster_weight": ["-0.1", "1.5"],
    "strategy.kelly_cap": ["0", "1.5"],
    "strategy.reserve_share": ["-0.1", "1"],
    "strategy.strong_edge_per_usd": ["0", "-1"],
    "strategy.cluster_size": [1, 10**6],
    "strategy.cluster_window_s": [0.0, 1e308],
    "strategy.dedup_ttl_s": [0.0, 1e308],
    "strategy.max_trade_age_s": [0.0, -5.0, 1e12],
    "strategy.kelly_fraction": ["0", "1.5"],
    "strategy.max_bet_usd": ["0", "-1", "1e400", "1e22"],
    "strategy.prior_weight": [-1, 10**21],
    "risk.max_total_exposure_usd": ["-1", "1e400"],
    "risk.max_market_exposure_usd": ["-1", "1e400"],
    "risk.max_daily_loss_usd": ["-5", "1e400"],
    "risk.max_open_positions": [-1, 10**12],
    "risk.min_entry_price": ["-0.1", "1.1"],
    "risk.max_entry_price": ["1.1", "0.01"],  # below min_entry_price (0.05)
    "risk.min_time_to_resolution_s": [-1.0, 1e12],
    "risk.stale_feed_halt_s": [0.0, -1.0, 1e9],
    "approval.ttl_s": [0.0, 1e12, 1e308],
    "paper.starting_balance_usd": ["0", "1e22", "1e30", "1e400"],
    "paper.latency_ms": [-1, 10**18],
    "paper.slippage_cap": ["-0.01", "2"],
    "live.slippage_cap": ["-0.01", "2", "1e400"],
    "paper.fallback_fee_rate": ["-0.1", "2"],
    "paper.fallback_fee_exponent": [-5, -1, 1000],
    "paper.take_profit": ["-1", "0", "1e400"],
    "paper.stop_loss": ["-1", "0", "1", "5"],
    "storage.backups": [0, 10**9],
    "daemon.stop_timeout_s": [0.0, 1e12],
    "live.chain_id": [-1, 0],
    "live.post_timeout_s": [0.0, 1e12],
    "live.confirm_timeout_s": [0.0, 1e12],
    "live.max_clock_skew_s": [0.0, 1e12],
    "live.exit_gtd_s": [-1, 0, 119, 149, 10**12],
    "live.heartbeat_s": [-1.0, 8.5, 10.0, 60.0],
    "history.copy_delays_s": [[0.0], [-1.0], [2.0, 1e9], []],
    "history.source_latency_s": [0.0, -1.0, 1e9],
    "history.min_resolved": [0, 10**7],
    "history.requests_per_10s": [0, 10**9],
    "history.trades_per_10s": [0, 10**9],
    "history.positions_per_10s": [0, 10**9],
    "history.tape_pages": [0, 1000],
    "history.discover_limit": [0, 10**6],
    "telegram.allowed_chat_ids": [["me"], [1.5], [0], [True]],
    "telegram.feed_down_alert_s": [0.0, -1.0, 1e9],
    "telegram.poll_timeout_s": [0, 51, -1],
    "telegram.queue_size": [0, 10**9],
    "advisors.budget_ms": [0, -1, 10**6],
    "advisors.max_shift": ["-0.1", "1.5"],
    "advisors.max_spread": ["-0.1", "2"],
    "advisors.max_output_tokens": [0, 15, 10**6],
    "advisors.daily_token_cap": [-1, 10**13],
    "advisors.daily_cost_cap_usd": ["-1", "1e400"],
    # One [[advisors.entries]] table (with a valid kind and model) holding the value.
    "advisors.entries.timeout_s": [0.0, -1.0, 601.0],
    "advisors.entries.weight": ["0", "-1", "1e400"],
    "advisors.entries.usd_per_mtok_in": ["-1", "1e400"],
    "advisors.entries.usd_per_mtok_out": ["-1", "1e400"],
}


def numeric_keys() -> dict[str, Any]:
    """Every int / float / Decimal setting, by dotted key, with its type."""
    found: dict[str, Any] = {}

    def walk(cls: type, prefix: str) -> None:
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            hint = hints[f.name]
            args = [a for a in typing.get_args(hint) if a is not type(None)]
            base = args[0] if args else hint
            if dataclasses.is_dataclass(base):
                walk(base, f"{prefix}{f.name}.")  # type: ignore[arg-type]
            elif base in (int, float, Decimal):
                found[f"{prefix}{f.name}"] = base

    walk(Settings, "")
    return found


def write(tmp_path: Path, key: str, value: Any) -> Path:
    section, *inner, name = key.split(".")
    table: dict[str, Any] = {name: value}
    if inner == ["entries"]:  # an array of tables: one otherwise valid entry
        table = {"entries": [{"kind": "openai", "model": "m", name: value}]}
    path = tmp_path / "c.toml"
    path.write_text(tomli_w.dumps({section: table}))
    return path


def test_the_table_covers_every_numeric_key() -> None:
    assert set(BAD) == set(numeric_keys())


CASES = [(key, value) for key, values in BAD.items() for value in values] + [
    (key, value)
    for key, kind in numeric_keys().items()
    if kind is float
    for value in (INF, -INF, NAN)
]


@pytest.mark.parametrize(("key", "value"), CASES, ids=[f"{k}={v}" for k, v in CASES])
def test_config_check_refuses_what_the_engine_cannot_run_with(
    tmp_path: Path, key: str, value: Any
) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, key, value))
    # The dotted key (a pair like min/max entry price is named by its first key and both names).
    named = key.replace(".entries.", ".entries[0].")  # an entry is named by its index
    assert named in str(info.value) or f"{key.rsplit('.')[-1]} " in str(info.value)


def extremes() -> list[dict[str, Any]]:
    """The largest accepted values everywhere, then the smallest."""
    big = {
        "strategy": {
            "cluster_window_s": 30 * 86400.0,
            "dedup_ttl_s": 30 * 86400.0,
            "max_trade_age_s": 30 * 86400.0,
            "max_bet_usd": str(10**12),
            "prior_weight": 10**6,
            "min_net_edge": "0",
        },
        "approval": {"ttl_s": 86400.0, "policy": "auto"},
        "risk": {
            "max_total_exposure_usd": str(10**12),
            "max_market_exposure_usd": str(10**12),
            "max_daily_loss_usd": str(10**12),
        },
        "paper": {
            "starting_balance_usd": str(10**12),
            "fallback_fee_rate": "1",
            "fallback_fee_exponent": 10,
            "take_profit": "1000",
            "stop_loss": "0.999",
        },
    }
    small = {
        "strategy": {"cluster_window_s": 0.001, "dedup_ttl_s": 0.001, "max_bet_usd": "0.000001"},
        "approval": {"ttl_s": 0.001},
        "paper": {
            "starting_balance_usd": "0.000001",
            "fallback_fee_exponent": 0,
            "fallback_fee_rate": "0",
            "take_profit": "0.000001",
            "stop_loss": "0.000001",
        },
    }
    return [big, small]


@pytest.mark.parametrize("overrides", extremes(), ids=["largest", "smallest"])
def test_accepted_extremes_run_through_strategy_fees_and_journal(
    tmp_path: Path, overrides: dict[str, Any]
) -> None:
    from polytui.execution.fees import schedule_or_fallback, taker_fee
    from polytui.journal import Journal
    from polytui.model import usd
    from polytui.portfolio import Portfolio
    from polytui.strategy.pipeline import Strategy
    from tests.strategy import helpers

    merged = settings_to_dict(helpers.settings())
    for section, values in overrides.items():
        merged[section] = {**merged.get(section, {}), **values}
    path = tmp_path / "c.toml"
    path.write_text(tomli_w.dumps(merged))
    settings = load_settings(path).settings
    clock = FakeClock()
    strategy = Strategy(settings, clock)
    helpers.proven(strategy)
    portfolio = Portfolio(settings.paper.starting_balance_usd, clock)
    now = clock.now()
    result = strategy.on_trade(
        helpers.trade(now),
        helpers.market(now),
        helpers.book(),
        portfolio.view(now, False),
    )
    assert result.signal.reason  # a decision, not an exception
    if result.intent is not None:
        assert strategy.approve(result.intent.id, portfolio.view(now, False)).message
    clock.advance(settings.approval.ttl_s + 1)
    strategy.expire_due(clock.now())
    paper = settings.paper
    schedule = schedule_or_fallback(None, paper.fallback_fee_rate, paper.fallback_fee_exponent)
    fee = taker_fee(Decimal(100), Decimal("0.5"), schedule)
    assert Decimal(0) <= fee <= Decimal(100)  # never more than the trade is worth
    assert usd(paper.starting_balance_usd) == paper.starting_balance_usd
    journal = Journal.open(tmp_path / "paper.db", mode="paper")
    journal.set_state("portfolio", portfolio.export_state())
    journal.close()


def test_config_aliases_are_cleaned(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    wallet = "0x" + "ab" * 20
    path.write_text(f'[whales]\naliases = {{"{wallet}" = "\\u001b[2Jwhale\\u0007"}}\n')
    assert load_settings(path).settings.whales.aliases == {wallet: "whale"}
