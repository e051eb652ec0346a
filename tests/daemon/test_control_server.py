"""The control server over a real Unix socket, in process, with a hand-built engine.

The daemon tests prove the same things end to end; these pin the protocol's edges quickly:
every bad line gets an answer, slow clients are dropped without slowing the publisher, the
socket is private, and RemoteEngine mirrors the engine and reconnects.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from polytui import events as ev
from polytui.clock import FakeClock
from polytui.control import ControlServer, RemoteEngine
from polytui.control.protocol import MAX_REQUEST_BYTES
from polytui.model import IntentStatus
from polytui.tui.fake import FakeEngine
from polytui.tui.fixtures import SCENARIO_START, build_scenario


@pytest.fixture
def sock_dir() -> Iterator[Path]:
    # Unix socket paths are short (108 bytes), so not under pytest's long tmp_path.
    base = Path(tempfile.mkdtemp(prefix="pcs", dir="/tmp"))
    yield base
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def engine() -> FakeEngine:
    return build_scenario(FakeClock(SCENARIO_START))


@pytest.fixture
async def server(engine: FakeEngine, sock_dir: Path) -> AsyncIterator[ControlServer]:
    srv = ControlServer(engine, sock_dir / "polytui" / "polytui.sock", info={"data_dir": "x"})
    await srv.start()
    yield srv
    await srv.close()


class RawClient:
    """A bare JSON-lines client over the socket, for protocol edge cases."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, path: Path) -> RawClient:
        reader, writer = await asyncio.open_unix_connection(str(path), limit=2**26)
        return cls(reader, writer)

    async def read(self, timeout: float = 5.0) -> dict[str, Any]:
        line = await asyncio.wait_for(self.reader.readline(), timeout)
        assert line, "server closed the connection"
        message: dict[str, Any] = orjson.loads(line)
        return message

    async def answer(self, timeout: float = 5.0) -> dict[str, Any]:
        """The next result or error, skipping streamed events."""
        while True:
            message = await self.read(timeout)
            if message["type"] in ("result", "error"):
                return message

    def send_raw(self, data: bytes) -> None:
        self.writer.write(data)

    def send(self, obj: Any) -> None:
        self.writer.write(orjson.dumps(obj) + b"\n")

    def close(self) -> None:
        self.writer.close()


async def test_hello_then_snapshot_then_events(server: ControlServer, engine: FakeEngine) -> None:
    client = await RawClient.open(server.path)
    hello = await client.read()
    assert hello["type"] == "hello" and hello["protocol"] == 1 and hello["pid"] == os.getpid()
    snapshot = await client.read()
    assert snapshot["type"] == "snapshot"
    assert len(snapshot["data"]["intents"]) == len(engine.snapshot().intents)
    engine.notice("info", "hello there")
    event = await client.read()
    assert event == {
        "type": "event",
        "event": "Notice",
        "data": {"level": "info", "message": "hello there", "component": "engine", "fields": {}},
    }
    client.close()


async def test_socket_is_0600_in_a_0700_directory(server: ControlServer) -> None:
    assert stat.S_IMODE(server.path.stat().st_mode) == 0o600
    assert stat.S_ISSOCK(server.path.stat().st_mode)
    assert stat.S_IMODE(server.path.parent.stat().st_mode) == 0o700


async def test_every_bad_line_is_answered_and_the_connection_survives(
    server: ControlServer, engine: FakeEngine
) -> None:
    client = await RawClient.open(server.path)
    client.send_raw(b"this is not json\n")
    assert (await client.answer())["message"].startswith("bad JSON")
    client.send_raw(b"[1, 2, 3]\n")
    assert "JSON object" in (await client.answer())["message"]
    client.send_raw(b"x" * (MAX_REQUEST_BYTES * 3) + b'"}\n')
    oversized = await client.answer()
    assert oversized["type"] == "error" and "longer than" in oversized["message"]
    client.send({"id": 1, "cmd": "launch_missiles"})
    assert await client.answer() == {
        "type": "error",
        "id": 1,
        "message": "unknown command 'launch_missiles'; known: "
        "approve, reject, pause, resume, kill, close_position, reset_halt, status",
    }
    client.send({"id": 2, "cmd": "approve"})
    assert (await client.answer())["message"] == "approve: missing argument 'intent_id'"
    client.send({"id": 3, "cmd": "approve", "args": {"intent_id": 42}})
    assert "must be a non-empty string" in (await client.answer())["message"]
    client.send({"id": 4, "cmd": "pause", "args": {"force": "yes"}})
    assert "unexpected argument" in (await client.answer())["message"]
    client.send({"id": {"nested": 1}, "cmd": "status"})
    assert "id must be" in (await client.answer())["message"]
    client.send({"id": "r5", "cmd": "approve", "args": {"intent_id": "int-nope"}})
    unknown = await client.answer()
    assert unknown["type"] == "result" and unknown["id"] == "r5" and unknown["ok"] is False
    # After all that, the same connection still runs commands.
    client.send({"id": 6, "cmd": "pause"})
    paused = await client.answer()
    assert paused["ok"] is True and paused["id"] == 6
    assert engine.command_names()[-1] == "pause"
    client.close()


async def test_a_client_that_does_not_read_is_dropped_without_slowing_the_engine(
    engine: FakeEngine, sock_dir: Path
) -> None:
    srv = ControlServer(
        engine, sock_dir / "polytui" / "polytui.sock", backlog=1000, slow_client_s=0.3
    )
    await srv.start()
    try:
        sleeper = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sleeper.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sleeper.connect(str(srv.path))  # never reads
        healthy = RemoteEngine(srv.path)
        await healthy.connect()
        sub = healthy.subscribe()
        await asyncio.sleep(0.1)
        assert srv.clients == 2
        blob = "x" * 2000
        publish_s = 0.0  # time inside publish only: what the engine would spend
        for i in range(3000):
            started = time.perf_counter()
            engine.notice("info", f"{i} {blob}")
            publish_s += time.perf_counter() - started
            if i % 20 == 0:
                await asyncio.sleep(0)
        deadline = time.monotonic() + 5
        while srv.dropped_clients < 1 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert srv.dropped_clients == 1
        assert publish_s < 0.5, f"publishing 3,000 events took {publish_s:.2f} s"
        # The well-behaved client still streams and gets answers.
        assert (await healthy.command("status")).ok
        seen = 0
        while seen < 3000:
            events = await sub.wait(2)
            assert events, "the healthy client stopped receiving"
            seen += sum(isinstance(e, ev.Notice) and blob in e.message for e in events)
        await healthy.close()
        sleeper.close()
    finally:
        await srv.close()


async def test_remote_engine_mirrors_state_and_commands(
    server: ControlServer, engine: FakeEngine
) -> None:
    remote = RemoteEngine(server.path)
    await remote.connect()
    assert remote.connected
    assert remote.snapshot() == engine.snapshot()
    sub = remote.subscribe()
    intent = next(iter(engine.snapshot().intents))
    result = await remote.command("approve", intent_id=intent.id)
    assert result.ok and result.message.startswith(f"approved {intent.id}")
    deadline = time.monotonic() + 3
    while any(i.id == intent.id for i in remote.snapshot().intents):
        assert time.monotonic() < deadline, "the approval never reached the mirror"
        await sub.wait(0.2)
    assert engine.intents[intent.id].status is IntentStatus.APPROVED
    assert remote.snapshot().intents == engine.snapshot().intents
    bad = await remote.command("nonsense")
    assert not bad.ok and "unknown command" in bad.message
    await remote.close()
    await asyncio.sleep(0.05)
    assert server.clients == 0


async def test_remote_engine_reconnects_when_the_server_comes_back(
    engine: FakeEngine, sock_dir: Path
) -> None:
    path = sock_dir / "polytui" / "polytui.sock"
    first = ControlServer(engine, path)
    await first.start()
    remote = RemoteEngine(path, reconnect_initial_s=0.05)
    await remote.connect()
    sub = remote.subscribe()
    await first.close("daemon stopping")
    deadline = time.monotonic() + 3
    while remote.connected and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert not remote.connected
    assert not (await remote.command("status")).ok
    second = ControlServer(engine, path)
    await second.start()
    started = time.monotonic()
    assert await remote.wait_connected(5)
    reconnect_s = time.monotonic() - started
    events = sub.drain()
    notices = [e.message for e in events if isinstance(e, ev.Notice)]
    assert any("lost the daemon" in n and "daemon stopping" in n for n in notices)
    assert any(n.startswith("reconnected to the daemon") for n in notices)
    assert any(isinstance(e, ev.Snapshot) for e in events)
    assert (await remote.command("status")).ok
    assert reconnect_s < 2.0
    await remote.close()
    await second.close()


async def test_a_stale_socket_file_is_replaced_and_a_live_one_is_not(
    engine: FakeEngine, sock_dir: Path
) -> None:
    path = sock_dir / "polytui" / "polytui.sock"
    path.parent.mkdir(mode=0o700)
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(path))
    stale.close()  # the file stays, nobody listens: what SIGKILL leaves behind
    srv = ControlServer(engine, path)
    await srv.start()
    other = ControlServer(engine, path)
    with pytest.raises(Exception, match="another process is listening"):
        await other.start()
    await srv.close()
    assert not path.exists()


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to connect as another uid")
async def test_a_peer_with_another_uid_is_refused(server: ControlServer) -> None:
    # Open the directory and socket up so only SO_PEERCRED stands in the way.
    os.chmod(server.path.parent.parent, 0o755)
    os.chmod(server.path.parent, 0o755)
    os.chmod(server.path, 0o666)
    code = (
        "import os, socket, sys; os.setgid(65534); os.setuid(65534); "
        "s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); "
        "print(s.makefile().readline())"
    )
    out = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", code, str(server.path)],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert "refused" in out.stdout, out.stderr
    assert server.clients == 0


async def test_a_client_that_half_closes_gets_its_answer_then_eof(server: ControlServer) -> None:
    # What `echo '{"id": 1, "cmd": "pause"}' | socat - UNIX-CONNECT:…` does.
    reader, writer = await asyncio.open_unix_connection(str(server.path), limit=2**26)
    writer.write(b'{"id": 1, "cmd": "pause"}\n')
    writer.write_eof()
    lines = []
    while line := await asyncio.wait_for(reader.readline(), 5):
        lines.append(orjson.loads(line))
    assert [m["type"] for m in lines][:2] == ["hello", "snapshot"]
    assert any(m["type"] == "result" and m["ok"] for m in lines)
    writer.close()
    await asyncio.sleep(0.05)
    assert server.clients == 0
