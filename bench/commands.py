"""A flood of operator commands on one control connection: how long the loop is blocked.

10^4 pause/resume commands reach a real engine (real SQLite journal, WAL, fsync on every
acknowledgement) through the real control server on a Unix socket. Two ways, in the same run:
  - baseline: one request at a time, each waiting for its answer (one commit per command);
  - pipelined: all written at once, as a script would (the server answers what arrived in one
    read together, so they share one group commit; each answer is still durable when sent).
Figures: wall time, commits, and the longest stall of the event loop (a 1 ms ticker's worst lag),
which is what other clients and the feeds feel.

Run: ``python -m bench.commands`` (``--smoke``: 500 commands).
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

import orjson

from bench.harness import StallMeter, count_for, report, throwaway_engine
from polytui.control import ControlServer

COMMANDS = 10_000
SMOKE_COMMANDS = 500


async def _flood(count: int, pipelined: bool) -> dict[str, Any]:
    async with throwaway_engine("pbc") as (engine, base):
        sock = base / "run" / "polytui.sock"
        server = ControlServer(engine, sock, info={})
        await server.start()
        try:
            async with StallMeter() as stall:
                answered, wall_s, commits = await _send(engine, sock, count, pipelined)
        finally:
            await server.close()
            await engine.stop()
    return {
        "answered": answered,
        "wall_s": round(wall_s, 3),
        "commits": commits,
        "max_loop_stall_ms": stall.worst_ms,
    }


async def _send(engine: Any, sock: Path, count: int, pipelined: bool) -> tuple[int, float, int]:
    """(answered, wall seconds, journal commits) of ``count`` commands on one connection."""
    reader, writer = await asyncio.open_unix_connection(str(sock), limit=2**24)
    lines = [
        orjson.dumps({"id": i, "cmd": "pause" if i % 2 == 0 else "resume"}) + b"\n"
        for i in range(count)
    ]
    commits = engine.journal.commits
    start = time.perf_counter()
    if pipelined:
        writer.write(b"".join(lines))
        await writer.drain()
    answered = 0
    for line in lines:
        if not pipelined:
            writer.write(line)
            await writer.drain()
        while True:
            message = orjson.loads(await reader.readline())
            if message["type"] in ("result", "error"):
                answered += 1
                break
    wall_s = time.perf_counter() - start
    commits = engine.journal.commits - commits
    writer.close()
    return answered, wall_s, commits


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run, print and return the figures."""
    count = count_for(argv, COMMANDS, SMOKE_COMMANDS)
    baseline = asyncio.run(_flood(count, pipelined=False))
    pipelined = asyncio.run(_flood(count, pipelined=True))
    result = {
        "bench": "commands",
        "commands": count,
        "baseline_one_at_a_time": baseline,
        "pipelined": pipelined,
        "speedup": round(baseline["wall_s"] / max(pipelined["wall_s"], 1e-9), 1),
    }
    return report(result)


if __name__ == "__main__":
    main(sys.argv[1:])
