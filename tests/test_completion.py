"""Shell completion through Typer: the installed script prints its completion code, and the
completion protocol completes polytui's own commands and options."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# The console script itself: completion scripts are keyed by the program's name.
POLYTUI = Path(sys.executable).parent / "polytui"


def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    if not POLYTUI.exists():
        pytest.fail(f"{POLYTUI} missing: install the package (make install)")
    return subprocess.run(
        [str(POLYTUI), *args], env={**os.environ, **env}, capture_output=True, text=True,
        timeout=30,
    )  # fmt: skip


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_show_completion_prints_the_script_for_each_shell(shell: str) -> None:
    out = run("--show-completion", shell, _TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION="1")
    assert out.returncode == 0, out.stderr
    assert f"_POLYTUI_COMPLETE=complete_{shell}" in out.stdout.replace(" ", "")


def test_bash_completion_completes_commands_and_subcommands() -> None:
    out = run(_POLYTUI_COMPLETE="complete_bash", COMP_WORDS="polytui wha", COMP_CWORD="1")
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["whales"]
    out = run(_POLYTUI_COMPLETE="complete_bash", COMP_WORDS="polytui whales ", COMP_CWORD="2")
    assert {"discover", "rank", "show", "add", "remove", "list"} <= set(out.stdout.split())
    out = run(_POLYTUI_COMPLETE="complete_bash", COMP_WORDS="polytui --da", COMP_CWORD="1")
    assert out.stdout.split() == ["--daemon"]


def test_install_completion_is_offered_in_help() -> None:
    out = run("--help")
    assert "--install-completion" in out.stdout and "--show-completion" in out.stdout
