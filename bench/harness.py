"""What the flood benchmarks share: a throwaway engine, a stall meter, the smoke switch.

``StallMeter`` is a 1 ms ticker whose worst lag is the event loop's longest stall while a flood
runs, which is what the feeds and the other clients feel. ``throwaway_engine`` builds a real
engine (real SQLite journal) under a fresh directory and removes it afterwards.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from polytui.config import LoadedConfig
from polytui.settings import Settings
from polytui.wiring import build_engine

TICK_S = 0.001


class StallMeter:
    """The event loop's worst stall while the ``async with`` body runs."""

    def __init__(self) -> None:
        self.worst_s = 0.0
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> StallMeter:
        self._task = asyncio.create_task(self._tick())
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._stop.is_set():
            before = loop.time()
            await asyncio.sleep(TICK_S)
            self.worst_s = max(self.worst_s, loop.time() - before - TICK_S)

    @property
    def worst_ms(self) -> float:
        """The worst stall in milliseconds, to 0.1 ms."""
        return round(self.worst_s * 1000, 1)


@asynccontextmanager
async def throwaway_engine(prefix: str) -> AsyncIterator[tuple[Any, Path]]:
    """(engine, its base directory) with default settings; the journal is closed and the
    directory removed on the way out."""
    base = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    try:
        settings = Settings()
        settings.storage.data_dir = base / "data"
        engine = build_engine(LoadedConfig(settings, None))
        try:
            yield engine, base
        finally:
            engine.journal.close()
    finally:
        shutil.rmtree(base, ignore_errors=True)


def count_for(argv: list[str] | None, full: int, smoke: int) -> int:
    """``smoke`` with ``--smoke`` (``make test``'s reduced run), else ``full``."""
    return smoke if argv and "--smoke" in argv else full


def report(result: dict[str, Any], indent: int = 2) -> dict[str, Any]:
    """Print the figures as JSON and hand them to the runner."""
    print(json.dumps(result, indent=indent))
    return result
