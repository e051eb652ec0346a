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

# The bounds and the names validation accepts, where callers have always imported them.
from polytui.config_checks import DAY_S as DAY_S
from polytui.config_checks import HOUR_S as HOUR_S
from polytui.config_checks import MAX_DURATION_S as MAX_DURATION_S
from polytui.config_checks import MAX_USD as MAX_USD
from polytui.config_checks import MIN_EXIT_GTD_S as MIN_EXIT_GTD_S
from polytui.config_checks import ORDER_TYPES as ORDER_TYPES
from polytui.config_checks import SIGNATURE_TYPES as SIGNATURE_TYPES
from polytui.config_checks import WALLET_RE as WALLET_RE
from polytui.config_checks import validate
from polytui.settings import POLICIES as POLICIES
from polytui.settings import Settings

APP_NAME = "polytui"
PRIVATE_KEY_RE = re.compile(r"^(0x)?[0-9a-fA-F]{64}$")
LIVE_HOLDERS = (
    "[live] private_key_env / api_secret_env (default POLYTUI_PRIVATE_KEY, POLYTUI_API_SECRET)"
)
SECRET_KEY_NAMES = (
    "private_key",
    "secret",
    "passphrase",
    "api_key",
    "password",
    "mnemonic",
    "token",
)


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
    settings: Settings = _build(Settings, raw, source, text, prefix="")
    _refuse_paper_cap_for_live(raw, settings, source, text)
    validate(settings, lambda key, problem: _fail(source, text, key, problem))
    return settings


def _refuse_paper_cap_for_live(raw: dict[str, Any], s: Settings, source: str, text: str) -> None:
    """A live config whose ``[paper] slippage_cap`` set its live limits, before ``[live]`` had
    the key, would now trade at another limit: refused, naming the line that keeps the old one.
    """
    paper, live = raw.get("paper", {}), raw.get("live", {})
    if (
        s.mode == "live"
        and "slippage_cap" in paper
        and "slippage_cap" not in live
        and s.paper.slippage_cap != s.live.slippage_cap
    ):
        raise _fail(
            source,
            text,
            "paper.slippage_cap",
            "no longer sets live order limits (only [live] slippage_cap does, default "
            f"{s.live.slippage_cap}); to keep the limits this config had, add "
            f'slippage_cap = "{s.paper.slippage_cap}" under [live]',
        )


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
    if isinstance(hint, type) and is_dataclass(hint):
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
