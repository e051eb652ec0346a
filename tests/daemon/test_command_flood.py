"""A flood of commands on one control connection: every answer durable, in order, few fsyncs.

A real engine with its real SQLite journal behind the real control server on a Unix socket.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from polytui.config import LoadedConfig
from polytui.control import ControlServer
from polytui.control.server import COMMANDS_PER_COMMIT
from polytui.settings import Settings
from polytui.wiring import build_engine

COMMANDS = 2_000


@pytest.fixture
def sock_dir() -> Iterator[Path]:
    # Unix socket paths are short (108 bytes), so not under pytest's long tmp_path.
    base = Path(tempfile.mkdtemp(prefix="pcf", dir="/tmp"))
    yield base
    shutil.rmtree(base, ignore_errors=True)


async def test_commands_sent_together_share_a_commit_and_are_answered_in_order(
    tmp_path: Path, sock_dir: Path
) -> None:
    settings = Settings()
    settings.storage.data_dir = tmp_path / "data"
    engine = build_engine(LoadedConfig(settings, None))
    server = ControlServer(engine, sock_dir / "polytui" / "polytui.sock", info={})
    await server.start()
    try:
        reader, writer = await asyncio.open_unix_connection(
            str(sock_dir / "polytui" / "polytui.sock"), limit=2**24
        )
        names = ["pause" if i % 2 == 0 else "resume" for i in range(COMMANDS - 1)] + ["pause"]
        commits_before = engine.journal.commits
        writer.write(
            b"".join(orjson.dumps({"id": i, "cmd": n}) + b"\n" for i, n in enumerate(names))
        )
        await writer.drain()
        answers = []
        while len(answers) < COMMANDS:
            message = orjson.loads(await asyncio.wait_for(reader.readline(), 30))
            if message["type"] in ("result", "error"):
                answers.append(message)
        writer.close()
        commits = engine.journal.commits - commits_before
    finally:
        await server.close()
        await engine.stop()
    assert [a["id"] for a in answers] == list(range(COMMANDS))
    assert all(a["type"] == "result" and a["ok"] for a in answers), answers[:3]
    assert engine.strategy.risk.paused  # the last command sent wins
    # One commit per slice of requests that arrived together, not one per command.
    assert 1 <= commits <= COMMANDS // COMMANDS_PER_COMMIT + 5, commits
