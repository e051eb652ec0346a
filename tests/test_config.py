"""Config: loading, validation errors that name the key, round trip, secrets refused."""

from __future__ import annotations

import dataclasses
import os
import re
import stat
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from polytui.config import (
    ConfigError,
    apply_overrides,
    load_settings,
    redacted_view,
    settings_to_dict,
    write_config,
)
from polytui.settings import Settings

REPO = Path(__file__).resolve().parent.parent


def _leaves(obj: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in obj.items():
        if isinstance(value, dict) and key not in ("aliases", "per_wallet"):
            out.update(_leaves(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def test_example_config_loads_and_equals_the_defaults() -> None:
    loaded = load_settings(REPO / "config.toml.example")
    example = _leaves(settings_to_dict(loaded.settings))
    defaults = _leaves(settings_to_dict(Settings()))
    missing = sorted(set(defaults) - set(example))
    # Optional keys (None by default) are documented as comments in the example.
    assert not [
        k for k in missing if dict(_leaves(settings_to_dict(Settings()))).get(k) is not None
    ]
    for key, value in defaults.items():
        assert example.get(key) == value, f"config.toml.example: {key} differs from the default"


def test_example_documents_every_key() -> None:
    text = (REPO / "config.toml.example").read_text()

    def names(cls: Any, prefix: str = "") -> list[str]:
        found = []
        for f in dataclasses.fields(cls):
            if dataclasses.is_dataclass(f.type) or isinstance(f.default_factory, type):
                factory = f.default_factory
                if dataclasses.is_dataclass(factory):
                    found += names(factory, f"{f.name}.")
                    continue
            found.append(f.name)
        return found

    for name in names(Settings):
        assert f"{name} =" in text or f"# {name} =" in text, f"{name} is not documented"


def test_missing_default_file_means_defaults_with_a_note(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    loaded = load_settings(None)
    assert loaded.settings == Settings() and "polytui init" in loaded.notes[0]


def test_round_trip_through_tomli_w(tmp_path: Path) -> None:
    s = Settings()
    s.whales.wallets = ["0x" + "ab" * 20]
    s.risk.max_daily_loss_usd = D("12.34")
    path = write_config(s, tmp_path / "c.toml")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert load_settings(path).settings == s


def test_init_never_overwrites_without_force(tmp_path: Path) -> None:
    path = write_config(Settings(), tmp_path / "c.toml")
    with pytest.raises(ConfigError, match="--force"):
        write_config(Settings(), path)
    write_config(Settings(), path, force=True)


@pytest.mark.parametrize(
    ("toml", "key", "problem"),
    [
        (
            "[risk]\nmax_open_positon = 3\n",
            "risk.max_open_positon",
            "did you mean 'risk.max_open_positions'",
        ),
        ('mode = "yolo"\n', "mode", "paper' or 'live"),
        ('[risk]\nmax_daily_loss_usd = "-5"\n', "risk.max_daily_loss_usd", "negative"),
        (
            '[risk]\nmin_entry_price = "0.9"\nmax_entry_price = "0.5"\n',
            "risk.min_entry_price",
            "above max_entry_price",
        ),
        ('[risk]\nmax_open_positions = "ten"\n', "risk.max_open_positions", "whole number"),
        ('[approval]\npolicy = "yes"\n', "approval.policy", "manual, auto, observe"),
        ('[whales]\nwallets = ["0x123"]\n', "whales.wallets[0]", "not a wallet address"),
        ('[strategy]\nkelly_fraction = "1.5"\n', "strategy.kelly_fraction", "(0, 1]"),
        ('[live]\nslippage_cap = "2"\n', "live.slippage_cap", "between 0 and 1"),
        (
            'mode = "live"\n[paper]\nslippage_cap = "0.05"\n',
            "paper.slippage_cap",
            "no longer sets live order limits (only [live] slippage_cap does, default 0.02); to "
            'keep the limits this config had, add slippage_cap = "0.05" under [live]',
        ),
    ],
)
def test_errors_name_the_key_and_the_problem(
    tmp_path: Path, toml: str, key: str, problem: str
) -> None:
    path = tmp_path / "c.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    message = str(info.value)
    assert str(path) in message and key in message and problem in message


@pytest.mark.parametrize(
    ("toml", "cap"),
    [
        ('[paper]\nslippage_cap = "0.05"\n', "0.05"),  # paper mode: the paper broker's cap
        ('mode = "live"\n[paper]\nslippage_cap = "0.02"\n', "0.02"),  # same as live's default
        ('mode = "live"\n[paper]\nslippage_cap = "0.05"\n[live]\nslippage_cap = "0.03"\n', "0.03"),
        ('mode = "live"\n', "0.02"),
    ],
)
def test_order_limits_take_the_slippage_cap_of_the_mode(
    tmp_path: Path, toml: str, cap: str
) -> None:
    path = tmp_path / "c.toml"
    path.write_text(toml)
    assert load_settings(path).settings.order_slippage_cap == D(cap)


def test_malformed_toml_reports_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('mode = "paper"\n[risk\n')
    with pytest.raises(ConfigError, match="line 2"):
        load_settings(path)


@pytest.mark.parametrize(
    "toml",
    [
        '[live]\nprivate_key = "0x' + "ab" * 32 + '"\n',
        '[live]\nfunder = "' + "cd" * 32 + '"\n',
        '[live]\napi_secret = "s3cret"\n',
    ],
)
def test_secrets_in_config_are_refused_without_echoing_them(tmp_path: Path, toml: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert "environment variable" in str(info.value)
    assert "abab" not in str(info.value) and "s3cret" not in str(info.value)


def test_redacted_view_shows_env_secrets_as_set_not_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLYTUI_PRIVATE_KEY", "0x" + "ef" * 32)
    view = redacted_view(Settings())
    assert "POLYTUI_PRIVATE_KEY is set" in view and "efef" not in view


def test_overrides_are_validated() -> None:
    with pytest.raises(ConfigError, match=r"feeds\.clob_ws_url"):
        apply_overrides(Settings(), {"feeds": {"clob_ws_url": "http://x"}})


# --- [advisors] ------------------------------------------------------------------------------


def test_advisors_are_off_by_default() -> None:
    from polytui.settings import Settings

    s = Settings()
    assert s.advisors.enabled is False and s.advisors.entries == []


def test_advisor_entries_load_from_an_array_of_tables() -> None:
    import tomllib

    from polytui.config import settings_from_dict

    raw = tomllib.loads(
        "[advisors]\nenabled = true\nbudget_ms = 800\n"
        '[[advisors.entries]]\nkind = "anthropic"\nmodel = "claude-x"\napi_key_env = "ANTHROPIC_API_KEY"\n'
        '[[advisors.entries]]\nkind = "openai"\nmodel = "llama3.1"\nbase_url = "http://localhost:11434/v1"\nweight = "0.5"\n'
    )
    s = settings_from_dict(raw)
    assert [e.label for e in s.advisors.entries] == ["anthropic:claude-x", "openai:llama3.1"]
    assert s.advisors.entries[1].weight == D("0.5") and s.advisors.budget_ms == 800


def test_advisor_key_in_the_file_is_refused_naming_api_key_env() -> None:
    from polytui.config import ConfigError, settings_from_dict

    raw = {"advisors": {"entries": [{"kind": "openai", "model": "m", "api_key": "sk-live-abcdef"}]}}
    with pytest.raises(ConfigError, match=r"advisors\.entries\[0\]\.api_key.*api_key_env"):
        settings_from_dict(raw)


@pytest.mark.parametrize(
    ("entry", "key"),
    [
        ({"kind": "gemini", "model": "m"}, "advisors.entries[0].kind"),
        ({"kind": "openai", "model": ""}, "advisors.entries[0].model"),
        (
            {"kind": "openai", "model": "m", "base_url": "localhost:11434"},
            "advisors.entries[0].base_url",
        ),
        ({"kind": "openai", "model": "m", "weight": 0}, "advisors.entries[0].weight"),
        (
            {"kind": "openai", "model": "m", "api_key_env": "sk-abc def"},
            "advisors.entries[0].api_key_env",
        ),
    ],
)
def test_bad_advisor_entry_names_its_key(entry: dict, key: str) -> None:
    from polytui.config import ConfigError, settings_from_dict

    with pytest.raises(ConfigError, match=re.escape(key)):
        settings_from_dict({"advisors": {"entries": [entry]}})


def test_advisor_key_env_is_redacted_from_logs() -> None:
    from polytui import redaction
    from polytui.settings import AdvisorEntry, Settings

    s = Settings()
    s.advisors.entries = [AdvisorEntry(kind="openai", model="m", api_key_env="MY_LLM_KEY")]
    assert "MY_LLM_KEY" in redaction.secret_env_names(s)
    redaction.register_secrets(["sk-very-secret-value-42"])
    assert "sk-very-secret" not in redaction.redact("calling with sk-very-secret-value-42")
