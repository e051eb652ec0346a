"""The import contracts in pyproject.toml name every module they should.

A forbidden contract lists its source modules by hand; a top-level module added later would be
outside it, unchecked, with nothing failing. The layers contract is exhaustive (import-linter
refuses a module it does not place); these tests do the same for the two bans.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _top_level() -> set[str]:
    root = REPO / "polytui"
    names = {p.stem for p in root.glob("*.py") if p.stem != "__init__"}
    names |= {p.name for p in root.iterdir() if (p / "__init__.py").exists()}
    return {f"polytui.{n}" for n in names}


def _contract(name: str) -> dict:
    with (REPO / "pyproject.toml").open("rb") as handle:
        contracts = tomllib.load(handle)["tool"]["importlinter"]["contracts"]
    (found,) = [c for c in contracts if c["name"] == name]
    return found


def test_the_ui_ban_covers_every_module_but_the_console_and_its_entry_points() -> None:
    ban = _contract("Core layers never import the UI")
    allowed = {"polytui.tui", "polytui.cli", "polytui.demo"}
    assert set(ban["source_modules"]) == _top_level() - allowed
    assert ban["allow_indirect_imports"] is False


def test_the_simulator_ban_covers_every_module_but_its_users() -> None:
    ban = _contract("Only the backtest and the demo run the simulator")
    allowed = {"polytui.sim", "polytui.backtest", "polytui.demo", "polytui.cli"}
    assert set(ban["source_modules"]) == _top_level() - allowed
    assert ban["allow_indirect_imports"] is False
