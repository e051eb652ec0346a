"""The real ``polytui --demo`` binary inside tmux: panes fill, ``p`` pauses, ``q`` quits."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.tmux

BINARY = REPO / ".venv" / "bin" / "polytui"
# The wrapper prints this when the command ends and keeps the pane open to read it.
EXITED = re.compile(r"\[exited (\d+)\]")
# A signal row: its time, then a BUY or SELL further along the line.
SIGNAL_ROW = re.compile(r"\d\d:\d\d:\d\d .*\b(BUY|SELL)\b")


class Tmux:
    """A private tmux server (its own socket) running one command in a detached session."""

    def __init__(self, name: str) -> None:
        self.socket = f"polytui-test-{os.getpid()}-{name}"
        self.session = name

    def tmux(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["tmux", "-L", self.socket, "-f", "/dev/null", *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )

    def capture(self) -> str:
        """The visible pane as plain text."""
        return self.tmux("capture-pane", "-p", "-t", self.session).stdout

    def exit_code(self) -> int | None:
        """The command's exit status once it has ended, else None."""
        match = EXITED.search(self.capture())
        return None if match is None else int(match.group(1))

    def send(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", self.session, *keys)

    def wait_for(self, predicate: Callable[[str], bool], timeout_s: float) -> str:
        """Poll the screen until ``predicate`` holds; fail with the last screen otherwise."""
        deadline = time.monotonic() + timeout_s
        screen = ""
        while time.monotonic() < deadline:
            screen = self.capture()
            if predicate(screen):
                return screen
            if EXITED.search(screen):
                raise AssertionError(f"the command ended early; last screen:\n{screen}")
            time.sleep(0.2)
        raise AssertionError(f"timed out after {timeout_s} s; last screen:\n{screen}")


@contextmanager
def tmux_session(command: Sequence[str], size: tuple[int, int] = (120, 40)) -> Iterator[Tmux]:
    """Run ``command`` in a detached tmux session of ``size``; always killed afterwards."""
    tmux = Tmux("console")
    # Keep the pane open after the command ends so its last words and status can be read.
    wrapped = f'{shlex.join(command)}; echo; echo "[exited $?]"; sleep 60'
    # COLUMNS / LINES (xdist workers export 80 x 24) would override the tmux window's size.
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLUMNS", "LINES")}
    env["TERM"] = "xterm-256color"
    result = subprocess.run(
        ["tmux", "-L", tmux.socket, "-f", "/dev/null", "new-session", "-d", "-s", tmux.session,
         "-x", str(size[0]), "-y", str(size[1]), wrapped],
        env=env, capture_output=True, text=True, timeout=10, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    try:
        yield tmux
    finally:
        tmux.tmux("kill-server")


def has_signal_row(screen: str) -> bool:
    """True once the signals pane shows at least one whale signal."""
    return any(SIGNAL_ROW.search(line) for line in screen.splitlines())


CLOCK = re.compile(r"(\d\d):(\d\d):(\d\d) UTC")
ROW_TIME = re.compile(r"[│┃] (\d\d):(\d\d):(\d\d)  ")
# Two values run together: a digit or % or ¢ straight before a letter or a $ (``$1,000.00Cash``).
RUN_TOGETHER = re.compile(r"[\d%¢][A-Za-z$]")


def seconds_of(match: re.Match[str]) -> int:
    hours, minutes, secs = (int(g) for g in match.groups())
    return hours * 3600 + minutes * 60 + secs


def pnl_cells(screen: str) -> list[str]:
    """The P&L pane's inner text, line by line (the rightmost pane of the bottom row)."""
    lines = screen.splitlines()
    top = next(i for i, line in enumerate(lines) if "P&L ─" in line or "P&L ━" in line)
    cells = []
    for line in lines[top + 1 :]:
        if "╰" in line or "┗" in line:
            break
        cells.append(re.split(r"[│┃]", line.rstrip())[-2])
    return cells


def test_demo_at_120x40_keeps_the_newest_signal_on_top_and_pnl_values_apart() -> None:
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    assert BINARY.exists(), f"{BINARY} is missing: run `make install`"
    with tmux_session([str(BINARY), "--demo"], size=(120, 40)) as tmux:
        tmux.wait_for(lambda s: "DEMO" in s and has_signal_row(s), timeout_s=40)
        time.sleep(60)
        # A capture can catch a frame half drawn (or a toast over the pane's title): read the
        # first whole frame, one with the P&L pane's top border.
        screen = tmux.wait_for(
            lambda s: any("P&L ─" in line or "P&L ━" in line for line in s.splitlines()),
            timeout_s=15,
        )
        clock = CLOCK.search(screen)
        assert clock is not None, screen
        rows = [seconds_of(m) for m in ROW_TIME.finditer(screen)]
        assert rows, screen
        assert rows == sorted(rows, reverse=True), "newest first"
        # The demo signals every few seconds: the top row is recent, not the first one seen.
        assert seconds_of(clock) - rows[0] < 20, f"the newest signal is not on screen:\n{screen}"
        cells = pnl_cells(screen)
        assert any("Equity" in c for c in cells), screen
        for cell in cells:
            assert not RUN_TOGETHER.search(cell), f"values run together in {cell!r}:\n{screen}"
        tmux.send("q")


def test_demo_binary_fills_panes_pauses_and_quits_in_tmux() -> None:
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    assert BINARY.exists(), f"{BINARY} is missing: run `make install`"
    with tmux_session([str(BINARY), "--demo"]) as tmux:
        tmux.wait_for(lambda s: "DEMO" in s and has_signal_row(s), timeout_s=40)
        tmux.send("p")
        tmux.wait_for(lambda s: "PAUSED" in s, timeout_s=5)
        tmux.send("q")
        deadline = time.monotonic() + 10
        while tmux.exit_code() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert tmux.exit_code() == 0, "q must quit the paper-mode demo without asking"
