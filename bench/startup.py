"""Start-up: ``polytui --help`` and the first frame of ``polytui --demo``.

Baselines measured in the same run: ``python -c pass`` for ``--help``, and the first frame of a
bare Textual app (one Static widget) for the demo, both started the same way. The demo's first
frame is read off a real terminal: the binary runs in a detached tmux session and the screen is
polled every 5 ms until the header's DEMO badge shows. Targets: 0.3 s / 1.0 s.

Run: ``python -m bench.startup`` (the demo figure needs tmux; it is skipped without it).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

RUNS = 7
FRAME_RUNS = 5
FRAME_TIMEOUT_S = 20.0

BARE_APP = """
from textual.app import App
from textual.widgets import Static

class Bare(App):
    def compose(self):
        yield Static("BARE FRAME")

Bare().run()
"""


def _time(cmd: list[str], runs: int = RUNS) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def _first_frame(cmd: str, marker: str) -> float:
    """Seconds from starting ``cmd`` in a 160×48 tmux pane until ``marker`` is on screen."""
    session = f"polytui-bench-{os.getpid()}-{time.monotonic_ns()}"
    tmux = ["tmux", "-L", session]
    start = time.perf_counter()
    subprocess.run(
        [*tmux, "new-session", "-d", "-s", session, "-x", "160", "-y", "48", cmd],
        check=True,
        env={**os.environ, "TERM": "xterm-256color"},
    )
    try:
        while True:
            screen = subprocess.run(
                [*tmux, "capture-pane", "-p", "-t", session], capture_output=True, text=True
            ).stdout
            elapsed = time.perf_counter() - start
            if marker in screen:
                return elapsed
            if elapsed > FRAME_TIMEOUT_S:
                raise RuntimeError(f"{marker!r} not on screen after {FRAME_TIMEOUT_S:g} s")
            time.sleep(0.005)
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)


def _frames(cmd: str, marker: str, runs: int = FRAME_RUNS) -> float:
    return statistics.median(_first_frame(cmd, marker) for _ in range(runs))


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run, print and return the figures."""
    smoke = "--smoke" in (argv or [])  # make test: one run of each
    runs, frame_runs = (1, 1) if smoke else (RUNS, FRAME_RUNS)
    binary = str(Path(sys.executable).parent / "polytui")
    bare = _time([sys.executable, "-c", "pass"], runs)
    help_s = _time([binary, "--help"], runs)
    figures = [
        {
            "figure": "polytui --help",
            "value": round(help_s, 3),
            "unit": "s",
            "baseline": round(bare, 3),
            "ratio": round(help_s / bare, 2),
            "target": "<= 0.3 s",
        }
    ]
    if shutil.which("tmux"):
        with tempfile.TemporaryDirectory() as home:
            # A fresh HOME: no config file, no data dir, as on a new machine.
            env = f"env -u NO_COLOR HOME={home} XDG_DATA_HOME={home}/data"
            with open(Path(home) / "bare_app.py", "w") as script:
                script.write(BARE_APP)
            bare_frame = _frames(
                f"{env} {sys.executable} {home}/bare_app.py", "BARE FRAME", frame_runs
            )
            demo_frame = _frames(f"{env} {binary} --demo", "DEMO", frame_runs)
        figures.append(
            {
                "figure": "polytui --demo first frame",
                "value": round(demo_frame, 3),
                "unit": "s",
                "baseline": round(bare_frame, 3),
                "ratio": round(demo_frame / bare_frame, 2),
                "target": "<= 1.0 s",
            }
        )
    result = {"bench": "startup", "figures": figures}
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
