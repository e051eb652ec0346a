"""CLI: commands through Typer's runner and the real installed binary."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from polytui.cli import app

runner = CliRunner()
BIN = Path(sys.executable).parent / "polytui"


def test_init_then_config_check(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    result = runner.invoke(app, ["init", "--path", str(path)])
    assert result.exit_code == 0 and path.exists()
    again = runner.invoke(app, ["init", "--path", str(path)])
    assert again.exit_code == 2 and "--force" in again.output
    check = runner.invoke(app, ["config", "check", "--config", str(path)])
    assert check.exit_code == 0 and 'mode = "paper"' in check.output


def test_broken_config_exits_2_naming_the_key(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[paper]\nlatency_ms = -1\n")
    result = runner.invoke(app, ["config", "check", "--config", str(path)])
    assert result.exit_code == 2
    assert "paper.latency_ms" in result.output and "Traceback" not in result.output


def test_live_flag_without_live_mode_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    runner.invoke(app, ["init", "--path", str(path)])
    result = runner.invoke(app, ["--live", "--config", str(path)])
    assert result.exit_code == 2 and 'mode = "live"' in result.output


def test_real_binary_help_version_and_errors(tmp_path: Path) -> None:
    help_out = subprocess.run([BIN, "--help"], capture_output=True, text=True, timeout=30)
    assert help_out.returncode == 0 and "--demo" in help_out.stdout
    version = subprocess.run([BIN, "--version"], capture_output=True, text=True, timeout=30)
    assert version.stdout.startswith("polytui ")
    bad = tmp_path / "bad.toml"
    bad.write_text("[risk\n")
    result = subprocess.run(
        [BIN, "config", "check", "--config", str(bad)], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2 and "not valid TOML" in result.stderr
    assert "Traceback" not in result.stderr


def test_help_loads_no_ui_or_network_stack() -> None:
    code = (
        "import sys; from polytui.cli import app; "
        "print(sorted(m for m in ('textual', 'web3', 'httpx', 'websockets') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_misspelled_table_is_named_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('mode = "paper"\n\n[riks]\nmax_open_positions = 3\n')
    result = subprocess.run(
        [BIN, "config", "check", "--config", str(path)], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2
    assert "riks (line 3): unknown key; did you mean 'risk'?" in result.stderr


def test_replay_of_a_missing_file_says_so_in_words(tmp_path: Path) -> None:
    missing = tmp_path / "nope.jsonl"
    result = subprocess.run(
        [BIN, "replay", str(missing)], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2
    assert (
        result.stderr.strip() == f"polytui replay: cannot read {missing}: No such file or directory"
    )


def test_a_one_shot_with_no_daemon_explains_on_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_RUNTIME_DIR": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "d")}
    result = subprocess.run([BIN, "status"], capture_output=True, text=True, timeout=30, env=env)
    assert result.returncode == 3
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert "no daemon is running" in lines[0] and "start one with `polytui --daemon`" in lines[0]
