"""The authenticated user channel ``/ws/user``: subscribers, and the order/trade events they get.

State: the open sockets, each with its key and the markets it asked for (none = all).
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from polytui.sim.exchange.auth import Auth, lower
from polytui.sim.exchange.records import ApiKey, SimFill, SimOrder
from polytui.sim.exchange.wire import order_event, trade_event
from polytui.sim.hub import Hub
from polytui.sim.wire import dumps


@dataclass(slots=True)
class UserSocket:
    """One authenticated user-channel subscriber."""

    ws: web.WebSocketResponse
    creds: ApiKey
    markets: set[str] = field(default_factory=set)


class UserChannel:
    """Fans the exchange's order and trade events out to the owners' sockets."""

    def __init__(self, auth: Auth, hub: Hub) -> None:
        self.auth = auth
        self.hub = hub
        self.sockets: list[UserSocket] = []

    async def ws(self, request: web.Request) -> web.WebSocketResponse:
        """``/ws/user``: the first JSON frame must authenticate, later ones (un)subscribe."""
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        entry: UserSocket | None = None
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    if msg.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
                        break
                    continue
                if msg.data == "PING":
                    await ws.send_str("PONG")
                    continue
                message = _json_object(msg.data)
                if message is None:
                    continue
                markets = {str(m).lower() for m in message.get("markets") or []}
                if entry is None:
                    creds = self.auth.ws(message.get("auth"))
                    if creds is None:
                        await ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"invalid auth")
                        break
                    entry = UserSocket(ws, creds, markets)
                    self.sockets.append(entry)
                    self.hub.connections["user"] += 1
                elif message.get("operation") == "unsubscribe":
                    entry.markets.difference_update(markets)
                else:
                    entry.markets.update(markets)
        finally:
            if entry is not None:
                self.sockets.remove(entry)
                self.hub.connections["user"] -= 1
        return ws

    async def close_all(self) -> int:
        """Close every socket (clients must reconnect and re-authenticate)."""
        sockets = [s.ws for s in self.sockets]
        for ws in sockets:
            with contextlib.suppress(Exception):
                await ws.close()
        return len(sockets)

    # --- events ---------------------------------------------------------------------------------

    async def order_update(self, order: SimOrder, kind: str) -> None:
        """Send an ``order`` event (PLACEMENT, UPDATE, CANCELLATION) of the order as it is now."""
        await self.send_order_event(order, order_event(order, kind))

    async def send_order_event(self, order: SimOrder, event: dict[str, Any]) -> None:
        """Send an ``order`` event built earlier (a PLACEMENT taken before the order matched)."""
        await self._send(order.address, order.market.condition_id, event)

    async def trade_update(self, fill: SimFill) -> None:
        """Send a ``trade`` event at the fill's current status."""
        await self._send(fill.order.address, fill.order.market.condition_id, trade_event(fill))

    async def _send(self, address: str, condition_id: str, event: dict[str, Any]) -> None:
        text = dumps(event)
        for socket in list(self.sockets):
            if lower(socket.creds.address) != address:
                continue
            if socket.markets and condition_id.lower() not in socket.markets:
                continue
            if not socket.ws.closed:
                with contextlib.suppress(Exception):
                    await socket.ws.send_str(text)


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        message = json.loads(text)
    except ValueError:
        return None
    return message if isinstance(message, dict) else None
