"""Validation of ``[advisors]`` and its ``[[advisors.entries]]`` (from ``polytui.config_checks``).

Kept apart from the config loader so the loader stays one screenful per section; the errors are
the loader's own (they name the dotted key, e.g. ``advisors.entries[1].kind``).
"""

from __future__ import annotations

from typing import Any

KINDS = ("anthropic", "openai")
MAX_TIMEOUT_S = 600.0


def validate_advisors(s: Any, need: Any, within: Any) -> None:
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
        need(e.kind in KINDS, f"{key}.kind", f"must be one of {', '.join(KINDS)}, got {e.kind!r}")
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
        within(f"{key}.timeout_s", e.timeout_s, 0, MAX_TIMEOUT_S, low_open=True)
        within(f"{key}.weight", e.weight, 0, 1000, low_open=True)
        within(f"{key}.usd_per_mtok_in", e.usd_per_mtok_in, 0, 10_000)
        within(f"{key}.usd_per_mtok_out", e.usd_per_mtok_out, 0, 10_000)
        need(e.label not in labels, f"{key}.name", f"{e.label!r} names two advisors")
        labels.add(e.label)
