"""Loads config.toml into ``Settings``, validates it, and writes it for ``polytui init``.

Errors name the file, the dotted key and what is wrong (with the line when it can be found), so
a trader can fix a config without reading code. Secrets are refused: config may only name the
environment variable that holds one.
"""

from __future__ import annotations

import difflib
import math
import os
import re
import tomllib
import types
import typing
from dataclasses import dataclass, fields, is_dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from polytui.settings import Settings
from polytui.text import clean_text

APP_NAME = "polytui"
WALLET_RE = re.compile(r"^0x[0-9a-fA-F]{40}$")
PRIVATE_KEY_RE = re.compile(r"^(0x)?[0-9a-fA-F]{64}$")
LIVE_HOLDERS = (
    "[live] private_key_env / api_secret_env (default POLYTUI_PRIVATE_KEY, POLYTUI_API_SECRET)"
)
SECRET_KEY_NAMES = (
    "private_key", "secret", "passphrase", "api_key", "password", "mnemonic", "token",
)
POLICIES = ("manual", "auto", "observe")
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


class ConfigError(ValueError):
    """A configuration problem a trader can fix; the message says where and what."""


@dataclass(frozen=True, slots=True)
class LoadedConfig:
    """Settings plus where they came from and notes worth telling the user."""

    settings: Settings
    path: Path | None
    notes: tuple[str, ...] = ()


def default_config_path() -> Path:
    """``~/.config/polytui/config.toml`` (XDG)."""
    from platformdirs import user_config_dir

    return Path(user_config_dir(APP_NAME)) / "config.toml"


def data_dir(settings: Settings) -> Path:
    """Where journals and backups live: ``[storage] data_dir`` or ``~/.local/share/polytui``."""
    if settings.storage.data_dir is not None:
        return Path(settings.storage.data_dir).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP_NAME))


def runtime_dir(settings: Settings | None = None) -> Path:
    """``$XDG_RUNTIME_DIR/polytui``, falling back under the data dir."""
    base = os.environ.get("XDG_RUNTIME_DIR")
    if base and Path(base).is_dir():
        return Path(base) / APP_NAME
    return data_dir(settings or Settings()) / "run"


def load_settings(path: Path | None = None) -> LoadedConfig:
    """Load and validate a config file; a missing default file means defaults."""
    explicit = path is not None
    target = Path(path).expanduser() if path is not None else default_config_path()
    if not target.exists():
        if explicit:
            raise ConfigError(f"{target}: no such config file")
        note = f"no config file at {target}, using defaults; create one with `polytui init`"
        return LoadedConfig(Settings(), None, (note,))
    try:
        text = target.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{target}: cannot read: {exc.strerror}") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{target}: not valid TOML: {exc}") from None
    return LoadedConfig(settings_from_dict(raw, source=str(target), text=text), target)


def settings_from_dict(raw: dict[str, Any], *, source: str = "config", text: str = "") -> Settings:
    """Build validated settings from a TOML-shaped dict."""
    _refuse_secrets(raw, source, text, prefix="")
    settings = _build(Settings, raw, source, text, prefix="")
    _validate(settings, source, text)
    return settings


def apply_overrides(settings: Settings, overrides: dict[str, Any]) -> Settings:
    """A copy of ``settings`` with a nested dict of overrides applied (validated)."""
    merged = settings_to_dict(settings)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return settings_from_dict(merged, source="overrides")


# --- building ------------------------------------------------------------------------------


def _line_of(text: str, key: str) -> str:
    if not text:
        return ""
    leaf = key.rsplit(".", 1)[-1]
    # A table is found by its header ([risk], [[advisors]]), a value by its assignment.
    header = re.compile(rf"^[ \t]*\[\[?\s*{re.escape(key)}\s*\]", re.MULTILINE)
    pattern = re.compile(rf"^[ \t]*{re.escape(leaf)}\s*=", re.MULTILINE)
    match = header.search(text) or pattern.search(text)
    if match is None:
        return ""
    return f" (line {text.count(chr(10), 0, match.start()) + 1})"


# Keys an older version read, with what replaced them.
REMOVED_KEYS = {
    "strategy.min_confidence": "removed: copies are decided by their net edge; "
    'use strategy.min_net_edge (a margin per share, e.g. "0.01")',
    "strategy.prior_win_rate": "removed: a new wallet starts from strategy.prior_edge "
    "(per share, 0 by default), not a win rate",
}


def _fail(source: str, text: str, key: str, problem: str) -> ConfigError:
    return ConfigError(f"{source}: {key}{_line_of(text, key)}: {problem}")


def _build(cls: type, raw: Any, source: str, text: str, prefix: str) -> Any:
    if not isinstance(raw, dict):
        raise _fail(source, text, prefix.rstrip(".") or "(top level)", "expected a table")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in fields(cls)}
    for key in raw:
        if f"{prefix}{key}" in REMOVED_KEYS:
            raise _fail(source, text, f"{prefix}{key}", REMOVED_KEYS[f"{prefix}{key}"])
        if key not in known:
            guess = difflib.get_close_matches(key, sorted(known), n=1)
            hint = f"; did you mean '{prefix}{guess[0]}'?" if guess else ""
            raise _fail(source, text, f"{prefix}{key}", f"unknown key{hint}")
    values: dict[str, Any] = {}
    for f in fields(cls):
        if f.name not in raw:
            continue
        key = f"{prefix}{f.name}"
        values[f.name] = _convert(hints[f.name], raw[f.name], source, text, key)
    return cls(**values)


def _convert(hint: Any, value: Any, source: str, text: str, key: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        non_none = [a for a in args if a is not type(None)]
        if (value is None or value == "") and type(None) in args:
            return None
        return _convert(non_none[0], value, source, text, key)
    if is_dataclass(hint):
        return _build(hint, value, source, text, key + ".")
    if hint is bool:
        if not isinstance(value, bool):
            raise _fail(source, text, key, f"expected true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _fail(source, text, key, f"expected a whole number, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _fail(source, text, key, f"expected a number, got {value!r}")
        try:
            number_f = float(value)
        except OverflowError:
            raise _fail(source, text, key, "must be a finite number") from None
        if not math.isfinite(number_f):
            raise _fail(source, text, key, "must be a finite number")
        return number_f
    if hint is Decimal:
        if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
            raise _fail(source, text, key, f"expected a number, got {value!r}")
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise _fail(source, text, key, f"not a number: {value!r}") from None
        if not number.is_finite():
            raise _fail(source, text, key, "must be a finite number")
        return number
    if hint is str:
        if not isinstance(value, str):
            raise _fail(source, text, key, f"expected a string, got {value!r}")
        return value
    if hint is Path:
        if not isinstance(value, str | Path):
            raise _fail(source, text, key, f"expected a path string, got {value!r}")
        return Path(value).expanduser()
    if origin is list:
        if not isinstance(value, list):
            raise _fail(source, text, key, f"expected a list, got {value!r}")
        return [_convert(args[0], v, source, text, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise _fail(source, text, key, f"expected a table, got {value!r}")
        return {str(k): _convert(args[1], v, source, text, f"{key}.{k}") for k, v in value.items()}
    raise _fail(source, text, key, f"unsupported setting type {hint!r}")


def _refuse_secrets(raw: Any, source: str, text: str, prefix: str) -> None:
    """Refuse private keys and API secrets in the file; name the env var to use instead."""
    if not isinstance(raw, dict):
        return
    for key, value in raw.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict):
            _refuse_secrets(value, source, text, dotted + ".")
            continue
        values = value if isinstance(value, list) else [value]
        for i, table in enumerate(v for v in values if isinstance(v, dict)):  # [[tables]]
            _refuse_secrets(table, source, text, f"{dotted}[{i}].")
        named_secret = any(name in key.lower() for name in SECRET_KEY_NAMES)
        if key.lower().endswith("_env"):
            named_secret = False
        for item in values:
            looks_like_key = isinstance(item, str) and bool(PRIVATE_KEY_RE.match(item.strip()))
            # Only text can be a secret: a count such as max_output_tokens is not one.
            if (named_secret and isinstance(item, str) and item) or looks_like_key:
                holder = "its api_key_env" if dotted.startswith("advisors") else LIVE_HOLDERS
                problem = "looks like a secret; secrets never go in config.toml — put it in the"
                where = f"{problem} environment variable named by {holder}"
                raise _fail(source, text, dotted, where)


# --- validation ----------------------------------------------------------------------------


def _validate(s: Settings, source: str, text: str) -> None:
    """Every value the engine cannot run with is refused here, at start-up and on reload."""

    def need(ok: bool, key: str, problem: str) -> None:
        if not ok:
            raise _fail(source, text, key, problem)

    def within(
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
            raise _fail(source, text, key, f"{problem}, got {value}")
        if not (value < high if high_open else value <= high):
            raise _fail(
                source,
                text,
                key,
                f"must be {'below' if high_open else 'at most'} {high}, got {value}",
            )

    def seconds(section: Any, prefix: str, name: str, high: float, zero_ok: bool = False) -> None:
        # Durations are positive; zero only where it turns the thing off.
        within(f"{prefix}.{name}", getattr(section, name), 0, high, low_open=not zero_ok)

    need(s.mode in ("paper", "live"), "mode", f"must be 'paper' or 'live', got {s.mode!r}")
    for i, wallet in enumerate(s.whales.wallets):
        need(
            bool(WALLET_RE.match(wallet)),
            f"whales.wallets[{i}]",
            f"{wallet!r} is not a wallet address (0x followed by 40 hex digits)",
        )
    s.whales.wallets = [w.lower() for w in s.whales.wallets]
    s.whales.aliases = {k.lower(): clean_text(v) for k, v in s.whales.aliases.items()}
    within("whales.min_trade_usd", s.whales.min_trade_usd, 0, MAX_USD)
    st = s.strategy
    need(0 <= st.min_net_edge < 1, "strategy.min_net_edge", "must be in [0, 1)")
    need(0 <= st.confidence_z <= 10, "strategy.confidence_z", "must be between 0 and 10")
    need(-1 < st.prior_edge < 1, "strategy.prior_edge", "must be between -1 and 1")
    within("strategy.tax_prior_weight", st.tax_prior_weight, 0, 1_000_000)
    need(0 <= st.cluster_weight <= 1, "strategy.cluster_weight", "must be between 0 and 1")
    need(0 < st.kelly_cap <= 1, "strategy.kelly_cap", "must be in (0, 1]")
    need(0 <= st.reserve_share < 1, "strategy.reserve_share", "must be in [0, 1)")
    need(st.strong_edge_per_usd > 0, "strategy.strong_edge_per_usd", "must be above 0")
    within("strategy.cluster_size", st.cluster_size, 2, 1000)
    for name in ("cluster_window_s", "dedup_ttl_s", "max_trade_age_s"):
        seconds(st, "strategy", name, MAX_DURATION_S)
    need(0 < st.kelly_fraction <= 1, "strategy.kelly_fraction", "must be in (0, 1]")
    within("strategy.max_bet_usd", st.max_bet_usd, 0, MAX_USD, low_open=True)
    within("strategy.prior_weight", st.prior_weight, 0, 1_000_000)
    r = s.risk
    for name in ("max_total_exposure_usd", "max_market_exposure_usd", "max_daily_loss_usd"):
        within(f"risk.{name}", getattr(r, name), 0, MAX_USD)
    seconds(r, "risk", "min_time_to_resolution_s", 365 * DAY_S, zero_ok=True)
    seconds(r, "risk", "stale_feed_halt_s", DAY_S)
    within("risk.max_open_positions", r.max_open_positions, 0, 1_000_000)
    for name in ("min_entry_price", "max_entry_price"):
        need(0 <= getattr(r, name) <= 1, f"risk.{name}", "must be a price between 0 and 1")
    need(
        r.min_entry_price <= r.max_entry_price,
        "risk.min_entry_price",
        f"min_entry_price {r.min_entry_price} is above max_entry_price {r.max_entry_price}",
    )
    need(
        r.max_market_exposure_usd <= r.max_total_exposure_usd,
        "risk.max_market_exposure_usd",
        "is above max_total_exposure_usd",
    )
    a = s.approval
    need(a.policy in POLICIES, "approval.policy", f"must be one of {', '.join(POLICIES)}")
    for wallet, policy in a.per_wallet.items():
        need(
            policy in POLICIES,
            f"approval.per_wallet.{wallet}",
            f"must be one of {', '.join(POLICIES)}",
        )
    a.per_wallet = {k.lower(): v for k, v in a.per_wallet.items()}
    seconds(a, "approval", "ttl_s", DAY_S)
    p = s.paper
    within("paper.starting_balance_usd", p.starting_balance_usd, 0, MAX_USD, low_open=True)
    within("paper.latency_ms", p.latency_ms, 0, 60_000)
    need(0 <= p.slippage_cap <= 1, "paper.slippage_cap", "must be between 0 and 1")
    need(p.order_type in ("FAK", "FOK"), "paper.order_type", "must be FAK or FOK")
    within("paper.fallback_fee_rate", p.fallback_fee_rate, 0, 1)
    within("paper.fallback_fee_exponent", p.fallback_fee_exponent, 0, 10)
    if p.take_profit is not None:
        within("paper.take_profit", p.take_profit, 0, 1000, low_open=True)
    if p.stop_loss is not None:
        within("paper.stop_loss", p.stop_loss, 0, 1, low_open=True, high_open=True)
    within("storage.backups", s.storage.backups, 1, 1000)
    need(
        s.daemon.log_level.upper() in ("DEBUG", "INFO", "WARNING", "ERROR"),
        "daemon.log_level",
        "must be DEBUG, INFO, WARNING or ERROR",
    )
    seconds(s.daemon, "daemon", "stop_timeout_s", HOUR_S)
    lv = s.live
    need(
        lv.signature_type in SIGNATURE_TYPES,
        "live.signature_type",
        f"must be one of {', '.join(SIGNATURE_TYPES)}",
    )
    need(lv.order_type in ORDER_TYPES, "live.order_type", f"must be one of {ORDER_TYPES}")
    need(lv.exit_order_type in ORDER_TYPES, "live.exit_order_type", "unknown order type")
    within("live.chain_id", lv.chain_id, 1, 2**53)
    seconds(lv, "live", "post_timeout_s", HOUR_S)
    seconds(lv, "live", "confirm_timeout_s", DAY_S)
    seconds(lv, "live", "max_clock_skew_s", HOUR_S)
    need(
        lv.exit_gtd_s >= MIN_EXIT_GTD_S,
        "live.exit_gtd_s",
        f"must be at least {MIN_EXIT_GTD_S} (the CLOB refuses a GTD expiry less than 3 minutes "
        f"ahead and ends the order 1 minute early), got {lv.exit_gtd_s}",
    )
    within("live.exit_gtd_s", lv.exit_gtd_s, MIN_EXIT_GTD_S, int(MAX_DURATION_S))
    # The CLOB cancels every open order after 10 s without a heartbeat: beat well within that.
    within("live.heartbeat_s", lv.heartbeat_s, 0, 8)
    need(
        lv.slippage_cap is None or 0 <= lv.slippage_cap <= 1,
        "live.slippage_cap",
        "must be between 0 and 1",
    )
    need(
        not lv.funder or bool(WALLET_RE.match(lv.funder)),
        "live.funder",
        "must be a wallet address",
    )
    f = s.feeds
    for name in ("clob_ws_url", "clob_user_ws_url", "rtds_ws_url"):
        need(
            getattr(f, name).startswith(("ws://", "wss://")),
            f"feeds.{name}",
            "must be a ws:// or wss:// URL",
        )
    for name in ("gamma_url", "data_api_url", "clob_rest_url"):
        need(
            getattr(f, name).startswith(("http://", "https://")),
            f"feeds.{name}",
            "must be an http(s) URL",
        )
    for i, address in enumerate(f.exchange_addresses):
        need(bool(WALLET_RE.match(address)), f"feeds.exchange_addresses[{i}]", "not an address")
    seconds(f, "feeds", "dataapi_poll_s", DAY_S)
    seconds(f, "feeds", "backoff_initial_s", HOUR_S)
    within("feeds.backoff_cap_s", f.backoff_cap_s, f.backoff_initial_s, HOUR_S)
    for ping, silence in (("clob_ping_s", "clob_silence_s"), ("rtds_ping_s", "rtds_silence_s")):
        seconds(f, "feeds", ping, HOUR_S)
        within(f"feeds.{silence}", getattr(f, silence), getattr(f, ping), DAY_S, low_open=True)
    within("feeds.rtds_quiet_retry_max_s", f.rtds_quiet_retry_max_s, f.rtds_silence_s, DAY_S)
    seconds(f, "feeds", "chain_silence_s", DAY_S)
    within("feeds.clob_max_assets_per_connection", f.clob_max_assets_per_connection, 1, 10_000)
    seconds(f, "feeds", "clob_idle_unsubscribe_s", 30 * DAY_S)
    seconds(f, "feeds", "http_timeout_s", HOUR_S)
    seconds(f, "feeds", "market_cache_ttl_s", DAY_S, zero_ok=True)
    seconds(f, "feeds", "resolution_poll_s", DAY_S)
    seconds(f, "feeds", "catch_up_s", MAX_DURATION_S, zero_ok=True)
    _validate_history(s, need, within)
    from polytui.remote.config import validate_remote

    validate_remote(s, need, within)
    from polytui.advisors.checks import validate_advisors  # its own module: this one is full

    validate_advisors(s, need, within)


def _validate_history(s: Settings, need: Any, within: Any) -> None:
    h = s.history
    need(
        not h.data_api_url or h.data_api_url.startswith(("http://", "https://")),
        "history.data_api_url",
        "must be an http(s) URL (or empty for [feeds] data_api_url)",
    )
    need(bool(h.copy_delays_s), "history.copy_delays_s", "needs at least one delay")
    for i, delay in enumerate(h.copy_delays_s):
        within(f"history.copy_delays_s[{i}]", delay, 0, HOUR_S, low_open=True)
    within("history.source_latency_s", h.source_latency_s, 0, HOUR_S, low_open=True)
    within("history.min_resolved", h.min_resolved, 1, 1_000_000)
    for name in ("requests_per_10s", "trades_per_10s", "positions_per_10s"):
        within(f"history.{name}", getattr(h, name), 1, 100_000)
    within("history.tape_pages", h.tape_pages, 1, 100)
    within("history.discover_limit", h.discover_limit, 1, 1_000)


# --- writing -------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _plain(getattr(value, f.name))
            for f in fields(value)
            if getattr(value, f.name) is not None
        }
    if isinstance(value, Decimal):
        # Strings keep Decimal exact through TOML (a TOML float would go through binary).
        return str(value)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def settings_to_dict(settings: Settings) -> dict[str, Any]:
    """A TOML-ready dict that loads back to equal settings."""
    return typing.cast(dict[str, Any], _plain(settings))


def write_config(settings: Settings, path: Path, *, force: bool = False) -> Path:
    """Write settings to ``path`` (mode 0600); never overwrite without ``force``."""
    import tomli_w

    path = Path(path).expanduser()
    if path.exists() and not force:
        raise ConfigError(f"{path}: already exists; use --force to overwrite")
    path.parent.mkdir(parents=True, exist_ok=True)
    data = tomli_w.dumps(settings_to_dict(settings))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(data)
    os.chmod(path, 0o600)
    return path


def redacted_view(settings: Settings) -> str:
    """The effective config as TOML, with each env-backed secret shown as set/unset only."""
    import tomli_w

    view = settings_to_dict(settings)
    secrets = {
        "polygon_ws": settings.feeds.polygon_ws_env,
        "private_key": settings.live.private_key_env,
        "api_key": settings.live.api_key_env,
        "api_secret": settings.live.api_secret_env,
        "api_passphrase": settings.live.api_passphrase_env,
        "telegram_bot_token": settings.telegram.bot_token_env,
    }
    advisors = settings.advisors.entries
    secrets.update({f"advisor {e.label}": e.api_key_env for e in advisors if e.api_key_env})
    view["secrets_from_environment"] = {
        name: f"{env} is {'set' if os.environ.get(env) else 'unset'}"
        for name, env in secrets.items()
    }
    return tomli_w.dumps(view)
