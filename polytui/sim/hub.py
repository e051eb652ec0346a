"""The simulator's WebSocket clients: one accept/serve loop, sends, counts and the silence fault.

The market channel, RTDS and JSON-RPC differ only in what they answer; accepting a socket,
counting it, reading text (web3 sends JSON-RPC as binary frames) and forgetting it on close is
written once here.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

KINDS = ("clob", "rtds", "rpc", "user")


@dataclass(slots=True)
class Client:
    """One connected socket and what it subscribed to."""

    ws: web.WebSocketResponse
    kind: str
    tokens: set[str] = field(default_factory=set)
    sent_books: dict[str, tuple[dict[str, str], dict[str, str]]] = field(default_factory=dict)
    subscriptions: dict[str, dict[str, Any]] = field(default_factory=dict)


OnMessage = Callable[[Client, str], Awaitable[None]]


class Hub:
    """Every market-side socket (the user channel counts itself in ``connections`` too)."""

    def __init__(self) -> None:
        self.clients: list[Client] = []
        self.connections: dict[str, int] = dict.fromkeys(KINDS, 0)
        self.max_connections: dict[str, int] = dict.fromkeys(KINDS, 0)
        self.silent_until = 0.0

    def silent(self) -> bool:
        """Whether the silence fault is on (sockets stay open, nothing is sent)."""
        return time.monotonic() < self.silent_until

    def of_kind(self, kind: str) -> list[Client]:
        """The connected clients of one protocol."""
        return [c for c in self.clients if c.kind == kind]

    async def send(self, client: Client, text: str) -> None:
        """Send a text frame; a socket closing under us is the client's problem."""
        if client.ws.closed:
            return
        with contextlib.suppress(Exception):
            await client.ws.send_str(text)

    async def accept(
        self, request: web.Request, kind: str, on_message: OnMessage, *, first: str | None = None
    ) -> web.WebSocketResponse:
        """Upgrade, optionally send a first frame, then serve ``on_message`` until close."""
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        client = Client(ws, kind)
        if first is not None:
            await self.send(client, first)
        self.clients.append(client)
        self.connections[kind] += 1
        self.max_connections[kind] = max(self.max_connections[kind], self.connections[kind])
        try:
            async for msg in client.ws:
                if msg.type == WSMsgType.TEXT:
                    await on_message(client, msg.data)
                elif msg.type == WSMsgType.BINARY:
                    await on_message(client, msg.data.decode("utf-8", "replace"))
                elif msg.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
                    break
        finally:
            self.clients.remove(client)
            self.connections[kind] -= 1
        return ws

    async def close_all(self) -> int:
        """Close every socket; returns how many there were."""
        clients = list(self.clients)
        for client in clients:
            with contextlib.suppress(Exception):
                await client.ws.close()
        return len(clients)
