"""A JSON-RPC WebSocket fan-out for latency benchmarks: every client gets each frame at once.

Two subscribers on their own connections to one anvil see the same notification up to ~40 ms
apart (p99, measured with two bare subscribers): the node's per-connection delivery, not either
client. This relay holds ONE upstream connection; identical ``eth_subscribe`` requests share one
upstream subscription, and each notification frame is forwarded byte for byte to every client
that asked for it, in the order they subscribed (so the first subscriber — the bench's bare
baseline — is never the one kept waiting). Other requests are forwarded with fresh ids and the
replies mapped back.

Run in its own process (so its work competes with neither subscriber):
``python -m bench.rpc_fanout ws://UPSTREAM PORT``; prints ``ready`` once listening.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import sys
from typing import Any

import websockets
from websockets.asyncio.server import ServerConnection


async def relay(upstream_url: str, port: int) -> None:
    """Serve on 127.0.0.1:``port`` until killed."""
    async with websockets.connect(upstream_url, max_size=None) as upstream:
        ids = itertools.count(1)
        waiting: dict[int, tuple[ServerConnection, Any, str | None]] = {}
        subs_by_params: dict[str, str] = {}
        fanout: dict[str, list[ServerConnection]] = {}

        async def from_upstream() -> None:
            async for raw in upstream:
                message = json.loads(raw)
                if message.get("method") == "eth_subscription":
                    for client in list(fanout.get(message["params"]["subscription"], [])):
                        with contextlib.suppress(websockets.ConnectionClosed):
                            await client.send(raw)
                    continue
                client, original_id, params_key = waiting.pop(message["id"])
                result = message.get("result")
                if params_key is not None and isinstance(result, str):
                    subs_by_params[params_key] = result
                    fanout.setdefault(result, []).append(client)
                message["id"] = original_id
                await client.send(json.dumps(message))

        async def serve(client: ServerConnection) -> None:
            async for raw in client:
                request = json.loads(raw)
                method, params = request.get("method"), request.get("params") or []
                if method == "eth_subscribe":
                    key = json.dumps(params, sort_keys=True)
                    shared = subs_by_params.get(key)
                    if shared is not None:
                        fanout[shared].append(client)
                        reply = {"jsonrpc": "2.0", "id": request["id"], "result": shared}
                        await client.send(json.dumps(reply))
                        continue
                elif method == "eth_unsubscribe" and params:
                    clients = fanout.get(params[0], [])
                    if client in clients:
                        clients.remove(client)
                    reply = {"jsonrpc": "2.0", "id": request["id"], "result": True}
                    await client.send(json.dumps(reply))
                    continue
                else:
                    key = None
                upstream_id = next(ids)
                waiting[upstream_id] = (client, request.get("id"), key)
                await upstream.send(json.dumps(dict(request, id=upstream_id)))
            for clients in fanout.values():
                if client in clients:
                    clients.remove(client)

        pump = asyncio.create_task(from_upstream())
        async with websockets.serve(serve, "127.0.0.1", port, max_size=None):
            print("ready", flush=True)
            await pump


if __name__ == "__main__":
    asyncio.run(relay(sys.argv[1], int(sys.argv[2])))
