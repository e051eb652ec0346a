"""``python -m polytui.tui.screenshots OUTDIR``: SVG screenshots of the real console.

The app runs headless on the seeded scenario (polytui.tui.fixtures) with a frozen clock, so the
screenshots are the same on every machine; ``make screenshots`` writes them to ``screenshots/``
for the README.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from polytui.clock import FakeClock
from polytui.tui.app import PolytuiApp
from polytui.tui.fixtures import ALIASES, SCENARIO_START, build_dense

# The terminal sizes the console is laid out for (and snapshot-tested at).
SIZES = ((80, 24), (100, 30), (120, 40), (160, 48), (220, 60))

# (file name, terminal size, keys pressed before the shot, engine mode)
SHOTS: tuple[tuple[str, tuple[int, int], tuple[str, ...], str], ...] = (
    *((f"console-{w}x{h}.svg", (w, h), (), "paper") for w, h in SIZES),
    ("compact-positions-80x24.svg", (80, 24), ("tab", "tab"), "paper"),
    ("approval-dialog.svg", (120, 40), ("tab", "enter"), "paper"),
    ("kill-confirm.svg", (120, 40), ("K",), "paper"),
    ("help.svg", (120, 40), ("question_mark",), "paper"),
    ("live-mode-160x48.svg", (160, 48), ("p",), "live"),
)


async def take(path: Path, size: tuple[int, int], keys: Sequence[str], mode: str) -> None:
    """Run the console at ``size``, press ``keys`` and save one SVG to ``path``."""
    clock = FakeClock(SCENARIO_START)
    engine = build_dense(clock, mode=mode)
    app = PolytuiApp(engine, clock=clock, aliases=ALIASES, tick_s=3600)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        for key in keys:
            await pilot.press(key)
            commands = [w for w in app.workers if w.group == "commands"]
            if commands:  # an empty list would mean "every worker", the event pump included
                await app.workers.wait_for_complete(commands)
            app.pump_now()
            await pilot.pause()
        app.pump_now()
        await pilot.pause()
        app.save_screenshot(path.name, str(path.parent))


async def take_all(out_dir: Path) -> list[Path]:
    """Every screenshot in ``SHOTS``, written to ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, size, keys, mode in SHOTS:
        path = out_dir / name
        await take(path, size, keys, mode)
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m polytui.tui.screenshots OUTDIR", file=sys.stderr)
        return 2
    for path in asyncio.run(take_all(Path(args[0]))):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
