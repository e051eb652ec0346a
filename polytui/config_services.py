"""Validation of the optional services' sections: ``[telegram]``, ``[metrics]`` and ``[advisors]``.

Called by ``polytui.config_checks`` with its ``need`` and ``within``, so the errors are the
loader's own (they name the dotted key, e.g. ``advisors.entries[1].kind``). These checks sit
beside the loader rather than in ``remote/`` and ``advisors/``: config is imported by nearly
everything, so it must import nothing above it, and those packages import config.
"""

from __future__ import annotations

import re
from typing import Any, Protocol

from polytui.settings import TELEGRAM_EVENTS, Settings

DAY_S = 86400.0
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
HHMM_RE = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
ADVISOR_KINDS = ("anthropic", "openai")
MAX_ADVISOR_TIMEOUT_S = 600.0


class Check(Protocol):
    """``need(ok, key, problem)`` (``polytui.config_checks.Checks.need``)."""

    def __call__(self, ok: bool, key: str, problem: str) -> None: ...


class Range(Protocol):
    """``within(key, value, low, high, ...)`` (``polytui.config_checks.Checks.within``)."""

    def __call__(
        self,
        key: str,
        value: Any,
        low: Any,
        high: Any,
        *,
        low_open: bool = False,
        high_open: bool = False,
    ) -> None: ...


def split_listen(listen: str) -> tuple[str, int] | None:
    """``"HOST:PORT"`` → (host, port), or None when it is not of that form."""
    host, _, port = listen.rpartition(":")
    host = host.strip("[]")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        return None
    return host, int(port)


def validate_remote(s: Settings, need: Check, within: Range) -> None:
    """Refuse ``[telegram]`` and ``[metrics]`` values the remote services cannot run with."""
    t = s.telegram
    need(
        bool(ENV_NAME_RE.match(t.bot_token_env)),
        "telegram.bot_token_env",
        "must name an environment variable (the token itself never goes in config.toml)",
    )
    need(
        not t.enabled or bool(t.allowed_chat_ids),
        "telegram.allowed_chat_ids",
        "is required when [telegram] is enabled: list the chat ids allowed to use the bot",
    )
    for i, chat in enumerate(t.allowed_chat_ids):
        need(chat != 0, f"telegram.allowed_chat_ids[{i}]", "0 is not a Telegram chat id")
    need(
        t.api_base_url.startswith(("http://", "https://")),
        "telegram.api_base_url",
        "must be an http(s) URL",
    )
    for i, name in enumerate(t.events):
        need(
            name in TELEGRAM_EVENTS,
            f"telegram.events[{i}]",
            f"unknown event {name!r}; one of {', '.join(TELEGRAM_EVENTS)}",
        )
    within("telegram.feed_down_alert_s", t.feed_down_alert_s, 0, DAY_S, low_open=True)
    need(
        bool(HHMM_RE.match(t.summary_at_utc)),
        "telegram.summary_at_utc",
        f"must be a UTC time as HH:MM, got {t.summary_at_utc!r}",
    )
    within("telegram.poll_timeout_s", t.poll_timeout_s, 1, 50)
    within("telegram.queue_size", t.queue_size, 1, 100_000)
    listen = s.metrics.listen
    if listen:
        need(
            split_listen(listen) is not None,
            "metrics.listen",
            f"must be HOST:PORT (e.g. 127.0.0.1:9464) or empty, got {listen!r}",
        )


def validate_advisors(s: Settings, need: Check, within: Range) -> None:
    """Refuse advisor settings the engine cannot run with (``need`` / ``within`` raise)."""
    a = s.advisors
    within("advisors.budget_ms", a.budget_ms, 0, 60_000, low_open=True)
    within("advisors.max_shift", a.max_shift, 0, 1)
    within("advisors.max_spread", a.max_spread, 0, 1)
    within("advisors.max_output_tokens", a.max_output_tokens, 16, 100_000)
    within("advisors.daily_token_cap", a.daily_token_cap, 0, 10**12)
    within("advisors.daily_cost_cap_usd", a.daily_cost_cap_usd, 0, 10**9)
    labels: set[str] = set()
    for i, e in enumerate(a.entries):
        key = f"advisors.entries[{i}]"
        need(
            e.kind in ADVISOR_KINDS,
            f"{key}.kind",
            f"must be one of {', '.join(ADVISOR_KINDS)}, got {e.kind!r}",
        )
        need(bool(e.model.strip()), f"{key}.model", "names the model to ask; it is empty")
        need(
            not e.base_url or e.base_url.startswith(("http://", "https://")),
            f"{key}.base_url",
            "must be an http(s) URL (or empty for the SDK's default endpoint)",
        )
        need(
            not e.api_key_env or e.api_key_env.replace("_", "").isalnum(),
            f"{key}.api_key_env",
            "names an environment variable (letters, digits, _), never the key itself",
        )
        within(f"{key}.timeout_s", e.timeout_s, 0, MAX_ADVISOR_TIMEOUT_S, low_open=True)
        within(f"{key}.weight", e.weight, 0, 1000, low_open=True)
        within(f"{key}.usd_per_mtok_in", e.usd_per_mtok_in, 0, 10_000)
        within(f"{key}.usd_per_mtok_out", e.usd_per_mtok_out, 0, 10_000)
        need(e.label not in labels, f"{key}.name", f"{e.label!r} names two advisors")
        labels.add(e.label)
