"""Loads config.toml into ``Settings``, validates it, and writes it for ``polytui init``.

Errors name the file, the dotted key and what is wrong (with the line when it can be found), so
a trader can fix a config without reading code. Secrets are refused: config may only name the
environment variable that holds one.
"""

from __future__ import annotations

import difflib
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

APP_NAME = "polytui"
WALLET_RE = re.compile(r"^0x[0-9a-fA-F]{40}$")
PRIVATE_KEY_RE = re.compile(r"^(0x)?[0-9a-fA-F]{64}$")
SECRET_KEY_NAMES = ("private_key", "secret", "passphrase", "api_key", "password", "mnemonic")
POLICIES = ("manual", "auto", "observe")
ORDER_TYPES = ("FAK", "FOK", "GTC", "GTD")
SIGNATURE_TYPES = ("EOA", "POLY_PROXY", "POLY_GNOSIS_SAFE")


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
    pattern = re.compile(rf"^\s*{re.escape(leaf)}\s*=", re.MULTILINE)
    match = pattern.search(text)
    if match is None:
        return ""
    return f" (line {text.count(chr(10), 0, match.start()) + 1})"


def _fail(source: str, text: str, key: str, problem: str) -> ConfigError:
    return ConfigError(f"{source}: {key}{_line_of(text, key)}: {problem}")


def _build(cls: type, raw: Any, source: str, text: str, prefix: str) -> Any:
    if not isinstance(raw, dict):
        raise _fail(source, text, prefix.rstrip(".") or "(top level)", "expected a table")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in fields(cls)}
    for key in raw:
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
        return float(value)
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
        named_secret = any(name in key.lower() for name in SECRET_KEY_NAMES)
        if key.lower().endswith("_env"):
            named_secret = False
        for item in values:
            looks_like_key = isinstance(item, str) and bool(PRIVATE_KEY_RE.match(item.strip()))
            if (named_secret and item not in ("", None)) or looks_like_key:
                raise _fail(
                    source,
                    text,
                    dotted,
                    "looks like a secret; secrets never go in config.toml — put it in the "
                    "environment variable named by [live] private_key_env / api_secret_env "
                    "(default POLYTUI_PRIVATE_KEY, POLYTUI_API_SECRET)",
                )


# --- validation ----------------------------------------------------------------------------


def _validate(s: Settings, source: str, text: str) -> None:
    def need(ok: bool, key: str, problem: str) -> None:
        if not ok:
            raise _fail(source, text, key, problem)

    need(s.mode in ("paper", "live"), "mode", f"must be 'paper' or 'live', got {s.mode!r}")
    for i, wallet in enumerate(s.whales.wallets):
        need(
            bool(WALLET_RE.match(wallet)),
            f"whales.wallets[{i}]",
            f"{wallet!r} is not a wallet address (0x followed by 40 hex digits)",
        )
    s.whales.wallets = [w.lower() for w in s.whales.wallets]
    s.whales.aliases = {k.lower(): v for k, v in s.whales.aliases.items()}
    need(s.whales.min_trade_usd >= 0, "whales.min_trade_usd", "must not be negative")
    st = s.strategy
    need(0 <= st.min_confidence <= 1, "strategy.min_confidence", "must be between 0 and 1")
    need(st.cluster_size >= 2, "strategy.cluster_size", "must be at least 2")
    need(st.cluster_window_s > 0, "strategy.cluster_window_s", "must be positive")
    need(st.dedup_ttl_s > 0, "strategy.dedup_ttl_s", "must be positive")
    need(0 < st.kelly_fraction <= 1, "strategy.kelly_fraction", "must be in (0, 1]")
    need(st.max_bet_usd > 0, "strategy.max_bet_usd", "must be positive")
    need(0 < st.prior_win_rate < 1, "strategy.prior_win_rate", "must be between 0 and 1")
    need(st.prior_weight >= 0, "strategy.prior_weight", "must not be negative")
    r = s.risk
    for name in (
        "max_total_exposure_usd",
        "max_market_exposure_usd",
        "max_daily_loss_usd",
        "min_time_to_resolution_s",
        "stale_feed_halt_s",
    ):
        need(getattr(r, name) >= 0, f"risk.{name}", "must not be negative")
    need(r.max_open_positions >= 0, "risk.max_open_positions", "must not be negative")
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
    need(a.ttl_s > 0, "approval.ttl_s", "must be positive")
    p = s.paper
    need(p.starting_balance_usd > 0, "paper.starting_balance_usd", "must be positive")
    need(p.latency_ms >= 0, "paper.latency_ms", "must not be negative")
    need(0 <= p.slippage_cap <= 1, "paper.slippage_cap", "must be between 0 and 1")
    need(p.order_type in ("FAK", "FOK"), "paper.order_type", "must be FAK or FOK")
    need(p.fallback_fee_rate >= 0, "paper.fallback_fee_rate", "must not be negative")
    need(s.storage.backups >= 1, "storage.backups", "must be at least 1")
    need(
        s.daemon.log_level.upper() in ("DEBUG", "INFO", "WARNING", "ERROR"),
        "daemon.log_level",
        "must be DEBUG, INFO, WARNING or ERROR",
    )
    need(s.daemon.stop_timeout_s > 0, "daemon.stop_timeout_s", "must be positive")
    lv = s.live
    need(
        lv.signature_type in SIGNATURE_TYPES,
        "live.signature_type",
        f"must be one of {', '.join(SIGNATURE_TYPES)}",
    )
    need(lv.order_type in ORDER_TYPES, "live.order_type", f"must be one of {ORDER_TYPES}")
    need(lv.exit_order_type in ORDER_TYPES, "live.exit_order_type", "unknown order type")
    need(lv.post_timeout_s > 0, "live.post_timeout_s", "must be positive")
    need(lv.confirm_timeout_s > 0, "live.confirm_timeout_s", "must be positive")
    need(lv.max_clock_skew_s > 0, "live.max_clock_skew_s", "must be positive")
    need(lv.exit_gtd_s >= 0, "live.exit_gtd_s", "must not be negative")
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
    for name in ("backoff_initial_s", "backoff_cap_s", "http_timeout_s", "dataapi_poll_s"):
        need(getattr(f, name) > 0, f"feeds.{name}", "must be positive")
    need(f.catch_up_s >= 0, "feeds.catch_up_s", "must not be negative (0 turns catch-up off)")


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
    }
    view["secrets_from_environment"] = {
        name: f"{env} is {'set' if os.environ.get(env) else 'unset'}"
        for name, env in secrets.items()
    }
    return tomli_w.dumps(view)
