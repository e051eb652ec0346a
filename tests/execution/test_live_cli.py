"""Gates to live trading and `polytui keys derive`, through the real binary in subprocesses."""

from __future__ import annotations

import asyncio
import os
import pty
import stat
import subprocess
import sys
from pathlib import Path

from polytui.sim.server import SimServer
from tests.execution.live_helpers import ADDRESS, PRIVATE_KEY

BIN = Path(sys.executable).parent / "polytui"
SECRET_VARS = ("POLYTUI_PRIVATE_KEY", "POLYTUI_API_KEY", "POLYTUI_API_SECRET")


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLYTUI_")}
    env.update(HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "cfg"), **extra)
    return env


def _config(tmp_path: Path, mode: str) -> Path:
    path = tmp_path / f"{mode}.toml"
    path.write_text(f'mode = "{mode}"\n[storage]\ndata_dir = "{tmp_path / "data"}"\n')
    return path


def _run(args: list[str], tmp_path: Path, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(tmp_path),
        stdin=subprocess.DEVNULL,
        **kw,  # type: ignore[arg-type]
    )


def test_live_needs_mode_flag_and_confirmation(tmp_path: Path) -> None:
    paper, live = _config(tmp_path, "paper"), _config(tmp_path, "live")
    # 1. --live with a paper config.
    first = _run(["--live", "--config", str(paper)], tmp_path)
    assert first.returncode == 2 and 'mode = "live"' in first.stderr
    # 2. live config and --live, but no terminal to type LIVE at.
    second = _run(["--live", "--config", str(live)], tmp_path)
    assert second.returncode == 2 and "no terminal" in second.stderr
    # 3. the daemon without --yes-live.
    third = _run(["--daemon", "--live", "--config", str(live)], tmp_path)
    assert third.returncode == 2 and "--yes-live" in third.stderr
    for result in (first, second, third):
        assert "Traceback" not in result.stderr
    assert not (tmp_path / "data" / "live.db").exists()


def _with_terminal(args: list[str], typed: str, tmp_path: Path) -> tuple[int, str]:
    """Run the binary with a pseudo-terminal as stdin and type ``typed`` at the prompt."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [str(BIN), *args],
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(tmp_path),
    )
    os.close(slave)
    os.write(master, typed.encode())
    try:
        _, err = proc.communicate(timeout=60)
    finally:
        os.close(master)
    return proc.returncode, err


def test_typed_confirmation_at_a_terminal(tmp_path: Path) -> None:
    live = str(_config(tmp_path, "live"))
    code, err = _with_terminal(["--live", "--config", live], "live please\n", tmp_path)
    assert code == 2 and "Type LIVE" in err and "not confirmed" in err
    # The right word passes the gate; the next gate is the credentials, named but not shown.
    code, err = _with_terminal(["--live", "--config", live], "LIVE\n", tmp_path)
    assert code == 1 and "POLYTUI_PRIVATE_KEY" in err and "not confirmed" not in err
    assert "Traceback" not in err


async def _keys_derive(sim: SimServer, tmp_path: Path, *extra: str) -> tuple[int, str, str]:
    config = tmp_path / "sim.toml"
    config.write_text(f'[feeds]\nclob_rest_url = "{sim.urls["clob_rest_url"]}"\n')
    proc = await asyncio.create_subprocess_exec(
        str(BIN),
        "keys",
        "derive",
        "--config",
        str(config),
        *extra,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        stdin=asyncio.subprocess.DEVNULL,
        env=_env(tmp_path, POLYTUI_PRIVATE_KEY=PRIVATE_KEY),
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_keys_derive_prints_exports_or_writes_a_private_file(
    sim: SimServer, tmp_path: Path
) -> None:
    expected = sim.exchange.api_key(ADDRESS)
    code, out, err = await _keys_derive(sim, tmp_path)
    assert code == 0, err
    assert f"export POLYTUI_API_KEY={expected.key}" in out
    assert f"export POLYTUI_API_SECRET={expected.secret}" in out
    assert f"export POLYTUI_API_PASSPHRASE={expected.passphrase}" in out
    assert PRIVATE_KEY[2:] not in out + err
    # Again (the key exists now: create fails, derive answers), this time into a 0600 file.
    target = tmp_path / "live.env"
    target.write_text("old\n")
    target.chmod(0o644)
    code, out, err = await _keys_derive(sim, tmp_path, "--write", str(target))
    assert code == 0, err
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert f"export POLYTUI_API_SECRET={expected.secret}" in target.read_text()
    assert expected.secret not in out + err and "mode 0600" in out


async def test_keys_derive_without_a_key_names_the_variable(tmp_path: Path) -> None:
    result = _run(["keys", "derive"], tmp_path)
    assert result.returncode == 2 and "POLYTUI_PRIVATE_KEY" in result.stderr
    assert all(name not in result.stdout for name in SECRET_VARS[1:])
