"""Polygon JSON-RPC over WebSocket (``/rpc``): ``OrderFilled`` logs, heads, ``eth_getLogs``,
pending transactions.

Each scenario trade's settlement transaction is pending ``PENDING_DELAY_S`` after it happens
(``newPendingTransactions`` subscribers get it, full or as a hash) and lands on chain
``CHAIN_DELAY_S`` after it, in the block the scenario gave it; subscribers get
``eth_subscription`` notes filtered with eth log-filter semantics.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from polytui.sim.hub import Client, Hub
from polytui.sim.pending import PENDING_DELAY_S, Mempool
from polytui.sim.wire import dumps, order_filled_log, stable_hash
from polytui.sim.world import SimWorld

CHAIN_DELAY_S = 2.2
NAMED_BLOCKS = ("latest", "pending", "safe", "finalized")

Handler = Callable[[Client, Any, list[Any]], Any]


class ChainRpc:
    """The chain as a JSON-RPC node: the logs already mined, head notes, subscriptions."""

    def __init__(self, world: SimWorld, hub: Hub, exchange_address: str) -> None:
        self.world = world
        self.hub = hub
        self.exchange_address = exchange_address
        self.logs: list[dict[str, Any]] = []
        self.sent = 0  # scenario trades already put on chain
        self.mempool = Mempool(exchange_address)
        self.mined: dict[str, dict[str, Any]] = {}  # tx hash → its log
        self._timers: set[asyncio.Task[None]] = set()
        self._last_head = -1
        self.unanswered_block_lookups = 0  # the next N eth_getBlockByNumber get no answer
        self._methods: dict[str, Handler] = {
            "eth_chainId": lambda c, rid, p: _result(rid, "0x89"),
            "net_version": lambda c, rid, p: _result(rid, "137"),
            "eth_blockNumber": lambda c, rid, p: _result(rid, hex(self.world.head_block())),
            "eth_getBlockByNumber": self._get_block,
            "eth_subscribe": self._subscribe,
            "eth_unsubscribe": lambda c, rid, p: _result(
                rid, c.subscriptions.pop(p[0], None) is not None
            ),
            "eth_getLogs": self._get_logs,
            "eth_getTransactionByHash": lambda c, rid, p: _result(
                rid, self.mempool.by_hash(str(p[0]).lower(), self.mined)
            ),
            "eth_getTransactionReceipt": lambda c, rid, p: _result(
                rid, self.mempool.receipt(str(p[0]).lower(), self.mined)
            ),
            "eth_getTransactionCount": lambda c, rid, p: _result(
                rid, hex(self.mempool.mined_count(str(p[0]), set(self.mined)))
            ),
        }

    async def ws(self, request: web.Request) -> web.WebSocketResponse:
        """``/rpc``."""
        return await self.hub.accept(request, "rpc", self._on_message)

    # --- what the clock sends -------------------------------------------------------------------

    async def publish_logs(self, t: float) -> None:
        """Put every trade older than ``CHAIN_DELAY_S`` on chain and notify subscribers."""
        trades = self.world.scenario.trades
        while self.sent < len(trades) and trades[self.sent].t + CHAIN_DELAY_S <= t:
            trade = trades[self.sent]
            self.sent += 1
            market = self.world.scenario.market(trade.market)
            if market.condition_id in self.world.protocol_v2:
                continue  # settled through ExchangeV3: no CTFExchangeV2 OrderFilled for it
            if trade.tx_hash in self.mempool.dropped:
                continue  # its transaction left the pool unmined: no log, ever
            entry = order_filled_log(
                trade,
                exchange=self.exchange_address,
                block_hash=self.world.block_hash(trade.block),
                log_index=self.sent,
            )
            self.logs.append(entry)
            self.mined[trade.tx_hash] = entry
            await self.notify_logs([entry])

    def publish_pending(self, t: float, ahead_s: float) -> None:
        """Announce, each at its own moment, the settlement transactions that become pending
        before sim time ``t + ahead_s`` (the clock ticks coarser than the delay)."""
        trades = self.world.scenario.trades
        mempool = self.mempool
        while (
            mempool.sent < len(trades) and trades[mempool.sent].t + PENDING_DELAY_S <= t + ahead_s
        ):
            trade = trades[mempool.sent]
            mempool.sent += 1
            market = self.world.scenario.market(trade.market)
            if market.condition_id in self.world.protocol_v2:
                continue  # sent to ExchangeV3, not to this exchange
            due = self.world.wall(trade.t + PENDING_DELAY_S)
            tx = mempool.transaction(trade, market.condition_id, self.world.ms(trade.t))
            timer = asyncio.create_task(self._pending_at(due, tx))
            self._timers.add(timer)
            timer.add_done_callback(self._timers.discard)

    async def _pending_at(self, due_wall: float, tx: dict[str, Any]) -> None:
        await asyncio.sleep(max(0.0, due_wall - time.time()))
        if self.hub.silent():
            return
        for client in self.hub.of_kind("rpc"):
            for sub_id, flt in client.subscriptions.items():
                if flt.get("_pending"):
                    note = _note(sub_id, tx if flt.get("_full") else tx["hash"])
                    await self.hub.send(client, dumps(note))

    def close(self) -> None:
        """Cancel the announcements still waiting for their moment."""
        for timer in list(self._timers):
            timer.cancel()

    async def reorg(self) -> int:
        """Re-send the newest chain log as ``removed: true``."""
        if not self.logs:
            return 0
        removed = dict(self.logs.pop(), removed=True)
        await self.notify_logs([removed])
        return 1

    async def notify_heads(self) -> None:
        """A ``newHeads`` note when the head moved."""
        head = self.world.head_block()
        if head == self._last_head:
            return
        self._last_head = head
        block = self._block(head)
        for client in self.hub.of_kind("rpc"):
            for sub_id, flt in list(client.subscriptions.items()):
                if flt.get("_heads"):
                    await self.hub.send(client, dumps(_note(sub_id, block)))

    async def notify_logs(self, entries: list[dict[str, Any]]) -> None:
        """Send each log to every ``logs`` subscription it matches."""
        for client in self.hub.of_kind("rpc"):
            for sub_id, flt in list(client.subscriptions.items()):
                if flt.get("_heads") or flt.get("_pending"):
                    continue
                for entry in entries:
                    if matches(entry, flt):
                        await self.hub.send(client, dumps(_note(sub_id, entry)))

    # --- requests -------------------------------------------------------------------------------

    async def _on_message(self, client: Client, text: str) -> None:
        if self.hub.silent():
            return  # the silence fault: the node answers nothing, its socket stays open
        try:
            request = json.loads(text)
        except ValueError:
            await self.hub.send(client, dumps(_error(None, -32700, "parse error")))
            return
        batch = request if isinstance(request, list) else [request]
        if self.unanswered_block_lookups and any(
            isinstance(r, dict) and r.get("method") == "eth_getBlockByNumber" for r in batch
        ):
            self.unanswered_block_lookups -= 1
            return  # a node that has stopped answering: the socket stays open, silent
        replies = [self._call(client, r) for r in batch if isinstance(r, dict)]
        await self.hub.send(client, dumps(replies if isinstance(request, list) else replies[0]))

    def _call(self, client: Client, request: dict[str, Any]) -> dict[str, Any]:
        rid = request.get("id")
        method = request.get("method")
        handler = self._methods.get(str(method))
        if handler is None:
            return _error(rid, -32601, f"method {method} not supported by the simulator")
        reply: dict[str, Any] = handler(client, rid, request.get("params") or [])
        return reply

    def _get_block(self, client: Client, rid: Any, params: list[Any]) -> dict[str, Any]:
        number = params[0] if params else "latest"
        head = self.world.head_block()
        return _result(rid, self._block(head if number in NAMED_BLOCKS else int(number, 16)))

    def _subscribe(self, client: Client, rid: Any, params: list[Any]) -> dict[str, Any]:
        kinds = ("logs", "newHeads", "newPendingTransactions")
        if not params or params[0] not in kinds:
            return _error(rid, -32601, "method eth_subscribe not supported by the simulator")
        sub_id = hex(stable_hash("sub", id(client), len(client.subscriptions)) | 1 << 60)
        if params[0] == "newHeads":
            client.subscriptions[sub_id] = {"_heads": True}
        elif params[0] == "newPendingTransactions":
            client.subscriptions[sub_id] = {"_pending": True, "_full": params[1:2] == [True]}
        else:
            client.subscriptions[sub_id] = params[1] if len(params) > 1 else {}
        return _result(rid, sub_id)

    def _get_logs(self, client: Client, rid: Any, params: list[Any]) -> dict[str, Any]:
        flt = params[0] if params else {}
        head = self.world.head_block()
        lo = _block_num(flt.get("fromBlock"), head)
        hi = _block_num(flt.get("toBlock"), head)
        found = [
            entry
            for entry in self.logs
            if lo <= int(entry["blockNumber"], 16) <= hi and matches(entry, flt)
        ]
        return _result(rid, found)

    def _block(self, number: int) -> dict[str, Any]:
        return {
            "number": hex(number),
            "hash": self.world.block_hash(number),
            "parentHash": self.world.block_hash(number - 1),
            "timestamp": hex(int(self.world.wall(self.world.block_time(number)))),
            "transactions": [],
        }


def _note(sub_id: str, result: Any) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "method": "eth_subscription",
        "params": {"subscription": sub_id, "result": result},
    }


def _result(rid: Any, result: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": rid, "result": result}


def _error(rid: Any, code: int, message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": rid, "error": {"code": code, "message": message}}


def _block_num(raw: Any, head: int) -> int:
    if raw in (None, *NAMED_BLOCKS):
        return head
    if raw == "earliest":
        return 0
    return int(raw, 16) if isinstance(raw, str) else int(raw)


def matches(entry: dict[str, Any], flt: dict[str, Any]) -> bool:
    """eth log filter semantics: address (one or list) and positional topics (None = any)."""
    address = flt.get("address")
    if address:
        allowed = {a.lower() for a in (address if isinstance(address, list) else [address])}
        if entry["address"].lower() not in allowed:
            return False
    for i, want in enumerate(flt.get("topics") or []):
        if want is None:
            continue
        options = {w.lower() for w in (want if isinstance(want, list) else [want])}
        topics = entry["topics"]
        if i >= len(topics) or topics[i].lower() not in options:
            return False
    return True
