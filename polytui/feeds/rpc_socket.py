"""A node's WebSocket through web3, with subscription notifications handed over raw.

web3's ``WebSocketProvider`` formats every notification into AttributeDicts and HexBytes (~1 ms
for a log or a block header) and passes it through a queue to its message stream; a burst of
blocks queued there for tens of milliseconds. This provider parses each frame once with orjson
on arrival and hands a notification (``"method": "eth_subscription"``) straight to
``on_notification``, on web3's listener task; replies to requests (subscribe, getLogs, block
lookups) still take web3's path, so web3 keeps the connection, the request ids and timeouts.
A frame that is not JSON still ends the listener, and with it the caller's session.

web3 is imported when the first provider is made, so the console starts fast.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import orjson

Notify = Callable[[dict[str, Any]], None]


@functools.cache
def _provider_class() -> type[Any]:
    from web3 import WebSocketProvider

    class NotifyingProvider(WebSocketProvider):
        """``WebSocketProvider`` whose notifications go to ``on_notification`` unformatted."""

        def __init__(self, url: str, on_notification: Notify, **kwargs: Any) -> None:
            super().__init__(url, **kwargs)
            self.on_notification = on_notification

        async def socket_recv(self) -> Any:
            """The next reply for web3; notifications read on the way are handed over."""
            ws = self._ws
            if ws is None:
                raise ConnectionError("the provider is not connected")
            notify = self.on_notification
            while True:
                message = orjson.loads(await ws.recv())
                if type(message) is dict and message.get("method") == "eth_subscription":
                    notify(message)
                    continue
                return message

    return NotifyingProvider


def notifying_provider(url: str, on_notification: Notify, **kwargs: Any) -> Any:
    """A web3 WebSocket provider for ``url`` (``kwargs`` as web3's) that hands each
    subscription notification, as parsed JSON, to ``on_notification`` when it arrives."""
    return _provider_class()(url, on_notification, **kwargs)
