"""One engine per journal, whatever starts it: a console and a daemon, or two consoles, on one
data dir never run together (each would copy every whale trade against its own portfolio).

The consoles are the real binary inside tmux; the second process of each pair is refused before
it opens the journal, in one line naming the first one's pid.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.daemon.harness import CLI, DaemonProcess
from tests.tui.test_tmux import BINARY, tmux_session

pytestmark = pytest.mark.tmux


@pytest.fixture
def daemon(sim: Any, tmp_path: Path) -> Iterator[DaemonProcess]:
    proc = DaemonProcess(sim, tmp_path)
    try:
        yield proc
    finally:
        proc.stop()


def _console_command(d: DaemonProcess) -> list[str]:
    env = [f"{k}={v}" for k, v in d.env.items() if k.startswith(("POLYTUI_", "XDG_RUNTIME"))]
    return ["env", *env, str(BINARY), "--config", str(d.config)]


def _wait_owner(d: DaemonProcess, role: str, timeout_s: float = 20.0) -> int:
    """The pid the data dir's lock names, once a process of ``role`` holds it."""
    pidfile = d.data_dir / "daemon.pid"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        words = pidfile.read_text().split() if pidfile.exists() else []
        if len(words) == 2 and words[1] == role:
            return int(words[0])
        time.sleep(0.1)
    raise AssertionError(f"no {role} took the data dir lock within {timeout_s} s")


def _second(d: DaemonProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args, "--config", str(d.config)],
        env=d.env,
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )


def _needs_tmux() -> None:
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    assert BINARY.exists(), f"{BINARY} is missing: run `make install`"


def test_a_daemon_after_a_console_refuses_naming_the_consoles_pid(daemon: DaemonProcess) -> None:
    _needs_tmux()
    with tmux_session(_console_command(daemon)) as tmux:
        tmux.wait_for(lambda s: "RUNNING" in s or "PAUSED" in s, timeout_s=20)
        pid = _wait_owner(daemon, "console")
        out = _second(daemon, "--daemon")
        assert out.returncode == 1, out.stderr
        [line] = out.stderr.strip().splitlines()
        assert f"console (pid {pid}) is already using {daemon.data_dir}" in line
        assert "polytui attach" in line and "Traceback" not in out.stderr
        assert tmux.exit_code() is None  # the console trades on, alone
        tmux.send("q")
        deadline = time.monotonic() + 15
        while tmux.exit_code() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert tmux.exit_code() == 0
    assert not (daemon.data_dir / "daemon.pid").exists()  # the console let go of the dir
    daemon.start()  # and now the daemon may have it


def test_two_consoles_on_one_data_dir_the_second_is_refused(daemon: DaemonProcess) -> None:
    _needs_tmux()
    with tmux_session(_console_command(daemon)) as tmux:
        tmux.wait_for(lambda s: "RUNNING" in s or "PAUSED" in s, timeout_s=20)
        pid = _wait_owner(daemon, "console")
        out = _second(daemon)
        assert out.returncode == 1, out.stderr
        [line] = out.stderr.strip().splitlines()
        assert f"console (pid {pid}) is already using" in line and "polytui attach" in line
        assert tmux.exit_code() is None


def test_a_console_after_a_daemon_refuses_and_points_at_attach(daemon: DaemonProcess) -> None:
    daemon.start()
    assert _wait_owner(daemon, "daemon") == daemon.pid
    out = _second(daemon)
    assert out.returncode == 1, out.stderr
    [line] = out.stderr.strip().splitlines()
    assert f"daemon (pid {daemon.pid}) is already using" in line
    assert "reach it with `polytui attach`" in line and "Traceback" not in out.stderr
    assert daemon.proc is not None and daemon.proc.poll() is None
