"""A loopback WebSocket server for feed tests: replays frames and misbehaves on demand.

It counts concurrent connections (a client must never hold more than one), records what clients
send, and can drop every connection, go silent with the socket open, or send garbage.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import websockets


class ReplayServer:
    """``async with ReplayServer(on_connect_frames) as srv: srv.url``."""

    def __init__(
        self,
        on_connect: Callable[[], list[str]] = list,
        *,
        reply: Callable[[str], str | None] | None = None,
    ) -> None:
        self.on_connect = on_connect
        self.reply = reply or (lambda text: "PONG" if text == "PING" else None)
        self.received: list[str] = []
        self.connections = 0
        self.max_connections = 0
        self.total_connections = 0
        self.silent = False
        self._clients: set[Any] = set()
        self._server: Any = None
        self.url = ""

    async def __aenter__(self) -> ReplayServer:
        self._server = await websockets.serve(self._handle, "127.0.0.1", 0)
        port = next(iter(self._server.sockets)).getsockname()[1]
        self.url = f"ws://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._server.close()
        await self._server.wait_closed()

    async def _handle(self, ws: Any) -> None:
        self.connections += 1
        self.total_connections += 1
        self.max_connections = max(self.max_connections, self.connections)
        self._clients.add(ws)
        try:
            for frame in self.on_connect():
                await ws.send(frame)
            async for message in ws:
                self.received.append(message)
                answer = self.reply(message)
                if answer is not None and not self.silent:
                    await ws.send(answer)
        except websockets.ConnectionClosed:
            pass
        finally:
            self._clients.discard(ws)
            self.connections -= 1

    async def broadcast(self, frame: str) -> None:
        """Send a frame to every connected client."""
        for ws in list(self._clients):
            with contextlib.suppress(websockets.ConnectionClosed):
                await ws.send(frame)

    async def drop_all(self) -> None:
        """Close every connection abruptly."""
        for ws in list(self._clients):
            with contextlib.suppress(Exception):
                await ws.close(code=1011, reason="test drop")

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Poll until ``predicate()`` holds."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not predicate():
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError("condition not reached")
            await asyncio.sleep(0.01)
