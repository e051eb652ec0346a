"""The loopback exchange: every Polymarket protocol polytui speaks, on one 127.0.0.1 port.

Routes: ``/ws/market`` (CLOB market channel), ``/rtds`` (RTDS activity), ``/rpc`` (Polygon
JSON-RPC over WebSocket with ``eth_subscribe("logs")``), ``/gamma/…`` (Gamma), ``/data/…``
(data-api), ``/clob/…`` (CLOB REST, including the trading side in :mod:`polytui.sim.trading`:
L1/L2 auth, signed V2 order entry, matching, cancels, open orders, trades) and ``/ws/user`` (the
authenticated user channel). Sim time runs ``speed`` times faster than the wall clock;
what happens is a pure function of (scenario, seed, sim time). Faults on demand: drop every
connection, go silent with sockets open, send garbage, and re-send a chain log as removed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from aiohttp import WSMsgType, web

from polytui.sim.scenario import Scenario, SimMarket, SimTrade, build_scenario
from polytui.sim.trading import Exchange
from polytui.sim.wire import (
    EXCHANGE_V2,
    book_event,
    dataapi_row,
    dumps,
    gamma_record,
    json_response,
    last_trade_event,
    order_filled_log,
    price_change_event,
    resolved_event,
    rtds_frame,
    stable_hash,
)

log = logging.getLogger(__name__)

TICK_S = 0.25
RTDS_DELAY_S = 1.9
CHAIN_DELAY_S = 2.2
DATAAPI_DELAY_S = 5.0
BLOCK_S = 2.0


@dataclass(slots=True)
class _Client:
    ws: web.WebSocketResponse
    kind: str
    tokens: set[str] = field(default_factory=set)
    sent_books: dict[str, tuple[dict[str, str], dict[str, str]]] = field(default_factory=dict)
    subscriptions: dict[str, dict[str, Any]] = field(default_factory=dict)


class SimServer:
    """Async context manager running the simulator until exit."""

    def __init__(
        self,
        scenario: str = "demo",
        *,
        seed: int = 7,
        speed: float = 1.0,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.scenario: Scenario = build_scenario(scenario, seed)
        self.speed = speed
        self.host = host
        self.port = port
        self.exchange_address = EXCHANGE_V2
        self._clients: list[_Client] = []
        self._runner: web.AppRunner | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._t0 = 0.0
        self._wall0 = 0.0
        self._silent_until = 0.0
        self._sent_rtds = 0
        self._sent_chain = 0
        self._last_trade_sent = 0
        self._resolved: set[int] = set()
        self._logs: list[dict[str, Any]] = []
        self._last_head = -1
        self.ground_truth: list[SimTrade] = []
        self.connections: dict[str, int] = {"clob": 0, "rtds": 0, "rpc": 0, "user": 0}
        self.max_connections: dict[str, int] = {"clob": 0, "rtds": 0, "rpc": 0, "user": 0}
        self.http_requests = 0
        self.trading = Exchange(self)

    # --- lifecycle ------------------------------------------------------------------------------

    async def __aenter__(self) -> SimServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Bind the port and start the clock."""
        app = web.Application()
        app.add_routes(
            [
                web.get("/ws/market", self._ws_clob),
                web.get("/rtds", self._ws_rtds),
                web.get("/rpc", self._ws_rpc),
                web.get("/gamma/markets", self._gamma_markets),
                web.get("/data/trades", self._data_trades),
                web.get("/data/activity", self._data_trades),
                web.get("/data/positions", self._data_positions),
                web.get("/data/v1/leaderboard", self._data_leaderboard),
                web.get("/clob/book", self._clob_book),
                web.post("/clob/books", self._clob_books),
                web.get("/clob/time", self._clob_time),
                web.get("/clob/ok", self._clob_ok),
                *self.trading.routes(),
            ]
        )
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server
        assert server is not None and server.sockets
        self.port = server.sockets[0].getsockname()[1]
        self._t0 = time.monotonic()
        self._wall0 = time.time()
        self._ticker = asyncio.create_task(self._tick_loop())

    async def close(self) -> None:
        """Stop the clock and close every connection."""
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        await self.trading.close()
        for client in list(self._clients):
            with contextlib.suppress(Exception):
                await client.ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # --- time -----------------------------------------------------------------------------------

    def now(self) -> float:
        """Sim seconds since start."""
        return (time.monotonic() - self._t0) * self.speed

    def wall(self, sim_t: float) -> float:
        """Wall-clock unix time of sim time ``sim_t``."""
        return self._wall0 + sim_t / self.speed

    def _ms(self, sim_t: float) -> int:
        return int(self.wall(sim_t) * 1000)

    # --- configuration for clients --------------------------------------------------------------

    @property
    def urls(self) -> dict[str, str]:
        """Every endpoint's URL."""
        base = f"{self.host}:{self.port}"
        return {
            "clob_ws_url": f"ws://{base}/ws/market",
            "rtds_ws_url": f"ws://{base}/rtds",
            "rpc_ws_url": f"ws://{base}/rpc",
            "gamma_url": f"http://{base}/gamma",
            "data_api_url": f"http://{base}/data",
            "clob_rest_url": f"http://{base}/clob",
            "clob_user_ws_url": f"ws://{base}/ws/user",
        }

    @property
    def whale_wallets(self) -> list[str]:
        """The wallets a trader would watch in this scenario."""
        return [w.wallet for w in self.scenario.whales if w.watched]

    def settings_overrides(self) -> dict[str, Any]:
        """Nested settings pointing polytui at this simulator."""
        urls = self.urls
        return {
            "feeds": {
                "clob_ws_url": urls["clob_ws_url"],
                "rtds_ws_url": urls["rtds_ws_url"],
                "gamma_url": urls["gamma_url"],
                "data_api_url": urls["data_api_url"],
                "clob_rest_url": urls["clob_rest_url"],
                "clob_user_ws_url": urls["clob_user_ws_url"],
                "exchange_addresses": [self.exchange_address],
                "backoff_cap_s": 2.0,
                "dataapi_poll_s": 5.0,
            },
            "whales": {
                "wallets": self.whale_wallets,
                "aliases": {w.wallet: w.alias for w in self.scenario.whales if w.watched},
            },
        }

    def environment(self) -> dict[str, str]:
        """Environment variables a client needs (the chain RPC URL)."""
        return {"POLYTUI_POLYGON_WS": self.urls["rpc_ws_url"]}

    # --- faults ---------------------------------------------------------------------------------

    async def drop_all(self) -> int:
        """Close every WebSocket connection (clients must reconnect)."""
        clients = list(self._clients)
        for client in clients:
            with contextlib.suppress(Exception):
                await client.ws.close()
        return len(clients) + await self.trading.drop_user_sockets()

    def go_silent(self, seconds: float) -> None:
        """Keep sockets open but send nothing for ``seconds`` of wall time."""
        self._silent_until = time.monotonic() + seconds

    async def send_garbage(self, n: int = 5) -> None:
        """Send malformed frames to every client."""
        junk = ['{"event_type": "book", "bids": 7}', "not json", "[1, 2", '{"price": "NaN"}', "{}"]
        for client in list(self._clients):
            for i in range(n):
                await self._send(client, junk[i % len(junk)])

    async def reorg(self) -> int:
        """Re-send the newest chain log as ``removed: true``."""
        if not self._logs:
            return 0
        removed = dict(self._logs[-1], removed=True)
        self._logs.pop()
        await self._notify_logs([removed])
        return 1

    # --- the clock ------------------------------------------------------------------------------

    async def _tick_loop(self) -> None:
        while True:
            try:
                if time.monotonic() >= self._silent_until:
                    await self._tick(self.now())
            except Exception:
                log.exception("simulator tick failed")
            await asyncio.sleep(TICK_S)

    async def _tick(self, t: float) -> None:
        trades = self.scenario.trades
        while self._last_trade_sent < len(trades) and trades[self._last_trade_sent].t <= t:
            trade = trades[self._last_trade_sent]
            self._last_trade_sent += 1
            self.ground_truth.append(trade)
            market = self.scenario.market(trade.market)
            event = last_trade_event(market, trade, self._ms(trade.t))
            await self._broadcast_clob([event], {trade.token_id})
        while self._sent_rtds < len(trades) and trades[self._sent_rtds].t + RTDS_DELAY_S <= t:
            trade = trades[self._sent_rtds]
            self._sent_rtds += 1
            frame = rtds_frame(self.scenario, trade, self.wall(trade.t), self._ms(t))
            text = dumps(frame)
            for client in self._of_kind("rtds"):
                await self._send(client, text)
        while self._sent_chain < len(trades) and trades[self._sent_chain].t + CHAIN_DELAY_S <= t:
            trade = trades[self._sent_chain]
            self._sent_chain += 1
            entry = order_filled_log(
                trade,
                exchange=self.exchange_address,
                block_hash=self._block_hash(trade.block),
                log_index=self._sent_chain,
            )
            self._logs.append(entry)
            await self._notify_logs([entry])
        for market in self.scenario.markets:
            if market.index not in self._resolved and t >= market.end_s:
                self._resolved.add(market.index)
                await self._broadcast_clob(
                    [resolved_event(market, self._ms(t))], {market.yes_token, market.no_token}
                )
        await self._book_updates(t)
        await self.trading.tick()
        await self._notify_heads()

    def _block_hash(self, block: int) -> str:
        return f"0x{stable_hash('block', block, self.scenario.seed):064x}"

    # --- CLOB market WS -------------------------------------------------------------------------

    def _of_kind(self, kind: str) -> list[_Client]:
        return [c for c in self._clients if c.kind == kind]

    async def _send(self, client: _Client, text: str) -> None:
        if client.ws.closed:
            return
        with contextlib.suppress(Exception):
            await client.ws.send_str(text)

    async def _broadcast_clob(self, events: list[dict[str, Any]], tokens: set[str]) -> None:
        for client in self._of_kind("clob"):
            if client.tokens & tokens:
                await self._send(client, dumps(events))

    def _book(self, token: str, t: float) -> dict[str, Any]:
        index = self.scenario.token_index()
        market, is_yes = index[token]
        mid = market.yes_price(t) if is_yes else Decimal(1) - market.yes_price(t)
        step = int(t // BLOCK_S)
        return self.trading.adjust_book(book_event(market, token, mid, step, self._ms(t)), step)

    async def _send_books(self, client: _Client, tokens: list[str], t: float) -> None:
        events = []
        for token in tokens:
            if token not in self.scenario.token_index():
                continue
            event = self._book(token, t)
            client.sent_books[token] = _levels_of(event)
            events.append(event)
        await self._send(client, dumps(events))

    async def _book_updates(self, t: float) -> None:
        index = self.scenario.token_index()
        for client in self._of_kind("clob"):
            by_market: dict[str, tuple[SimMarket, list[tuple[str, str, str, str]]]] = {}
            for token in sorted(client.tokens):
                if token not in index or token not in client.sent_books:
                    continue
                market, _ = index[token]
                new = _levels_of(self._book(token, t))
                old = client.sent_books[token]
                changes = _diff(token, old, new)
                client.sent_books[token] = new
                if changes:
                    by_market.setdefault(market.condition_id, (market, []))[1].extend(changes)
            for market, changes in by_market.values():
                await self._send(client, dumps(price_change_event(market, changes, self._ms(t))))

    async def _ws_clob(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        client = _Client(ws, "clob")
        await self._serve(client, self._on_clob_message)
        return ws

    async def _on_clob_message(self, client: _Client, text: str) -> None:
        if text == "PING":
            if time.monotonic() >= self._silent_until:
                await self._send(client, "PONG")
            return
        try:
            message = json.loads(text)
        except ValueError:
            return
        if not isinstance(message, dict):
            return
        tokens = [str(t) for t in message.get("assets_ids") or []]
        operation = message.get("operation", "subscribe")
        if operation == "unsubscribe":
            client.tokens.difference_update(tokens)
            for token in tokens:
                client.sent_books.pop(token, None)
            return
        new = [t for t in tokens if t not in client.tokens]
        client.tokens.update(new)
        if new:
            await self._send_books(client, new, self.now())
        elif "operation" not in message:
            await self._send(client, "[]")

    # --- RTDS -----------------------------------------------------------------------------------

    async def _ws_rtds(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        client = _Client(ws, "rtds")
        await self._send(client, "")  # the first frame is empty (PROTOCOL.md §1c)
        await self._serve(client, self._on_rtds_message)
        return ws

    async def _on_rtds_message(self, client: _Client, text: str) -> None:
        if text == "PING" and time.monotonic() >= self._silent_until:
            await self._send(client, "")

    # --- JSON-RPC -------------------------------------------------------------------------------

    async def _ws_rpc(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        client = _Client(ws, "rpc")
        await self._serve(client, self._on_rpc_message)
        return ws

    async def _on_rpc_message(self, client: _Client, text: str) -> None:
        try:
            request = json.loads(text)
        except ValueError:
            await self._send(client, dumps(_rpc_error(None, -32700, "parse error")))
            return
        batch = request if isinstance(request, list) else [request]
        replies = [self._rpc(client, r) for r in batch if isinstance(r, dict)]
        await self._send(client, dumps(replies if isinstance(request, list) else replies[0]))

    def _rpc(self, client: _Client, request: dict[str, Any]) -> dict[str, Any]:
        rid = request.get("id")
        method = request.get("method")
        params = request.get("params") or []
        head = self._head_block()
        if method == "eth_chainId":
            return _rpc_result(rid, "0x89")
        if method == "net_version":
            return _rpc_result(rid, "137")
        if method == "eth_blockNumber":
            return _rpc_result(rid, hex(head))
        if method == "eth_getBlockByNumber":
            number = params[0] if params else "latest"
            n = head if number in ("latest", "pending", "safe", "finalized") else int(number, 16)
            return _rpc_result(rid, self._block(n))
        if method == "eth_subscribe" and params and params[0] in ("logs", "newHeads"):
            sub_id = hex(stable_hash("sub", id(client), len(client.subscriptions)) | 1 << 60)
            if params[0] == "newHeads":
                client.subscriptions[sub_id] = {"_heads": True}
            else:
                client.subscriptions[sub_id] = params[1] if len(params) > 1 else {}
            return _rpc_result(rid, sub_id)
        if method == "eth_unsubscribe":
            return _rpc_result(rid, client.subscriptions.pop(params[0], None) is not None)
        if method == "eth_getLogs":
            flt = params[0] if params else {}
            lo = _block_num(flt.get("fromBlock"), head)
            hi = _block_num(flt.get("toBlock"), head)
            found = [
                entry
                for entry in self._logs
                if lo <= int(entry["blockNumber"], 16) <= hi and _matches(entry, flt)
            ]
            return _rpc_result(rid, found)
        return _rpc_error(rid, -32601, f"method {method} not supported by the simulator")

    def _head_block(self) -> int:
        first = self.scenario.trades[0].block if self.scenario.trades else 84_950_000
        return first + int(self.now() // BLOCK_S)

    def _block(self, number: int) -> dict[str, Any]:
        first = self.scenario.trades[0].block if self.scenario.trades else 84_950_000
        sim_t = (number - first) * BLOCK_S
        return {
            "number": hex(number),
            "hash": self._block_hash(number),
            "parentHash": self._block_hash(number - 1),
            "timestamp": hex(int(self.wall(max(0.0, sim_t)))),
            "transactions": [],
        }

    async def _notify_heads(self) -> None:
        head = self._head_block()
        if head == self._last_head:
            return
        self._last_head = head
        block = self._block(head)
        for client in self._of_kind("rpc"):
            for sub_id, flt in client.subscriptions.items():
                if flt.get("_heads"):
                    note = {
                        "jsonrpc": "2.0",
                        "method": "eth_subscription",
                        "params": {"subscription": sub_id, "result": block},
                    }
                    await self._send(client, dumps(note))

    async def _notify_logs(self, entries: list[dict[str, Any]]) -> None:
        for client in self._of_kind("rpc"):
            for sub_id, flt in client.subscriptions.items():
                if flt.get("_heads"):
                    continue
                for entry in entries:
                    if _matches(entry, flt):
                        note = {
                            "jsonrpc": "2.0",
                            "method": "eth_subscription",
                            "params": {"subscription": sub_id, "result": entry},
                        }
                        await self._send(client, dumps(note))

    # --- shared WS loop -------------------------------------------------------------------------

    async def _serve(self, client: _Client, on_message: Any) -> None:
        kind = client.kind
        self._clients.append(client)
        self.connections[kind] += 1
        self.max_connections[kind] = max(self.max_connections[kind], self.connections[kind])
        try:
            async for msg in client.ws:
                if msg.type == WSMsgType.TEXT:
                    await on_message(client, msg.data)
                elif msg.type == WSMsgType.BINARY:  # web3 sends JSON-RPC as binary frames
                    await on_message(client, msg.data.decode("utf-8", "replace"))
                elif msg.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
                    break
        finally:
            self._clients.remove(client)
            self.connections[kind] -= 1

    # --- HTTP -----------------------------------------------------------------------------------

    def _gamma(self, market: SimMarket) -> dict[str, Any]:
        t = self.now()
        return gamma_record(
            market,
            end_wall=self.wall(market.end_s),
            resolved=market.index in self._resolved,
            yes_mid=market.yes_price(t),
        )

    async def _gamma_markets(self, request: web.Request) -> web.Response:
        self.http_requests += 1
        tokens = set(request.query.getall("clob_token_ids", []))
        conditions = set(",".join(request.query.getall("condition_ids", [])).split(",")) - {""}
        slug = request.query.get("slug")
        found = [
            self._gamma(m)
            for m in self.scenario.markets
            if (not tokens or tokens & {m.yes_token, m.no_token})
            and (not conditions or m.condition_id in conditions)
            and (slug is None or m.slug == slug)
        ]
        return json_response(found)

    async def _data_trades(self, request: web.Request) -> web.Response:
        self.http_requests += 1
        user = request.query.get("user", "").lower()
        t = self.now()
        rows = [
            dataapi_row(self.scenario, tr, self.wall(tr.t))
            for tr in self.scenario.trades
            if tr.t + DATAAPI_DELAY_S <= t and (not user or tr.wallet == user)
        ]
        if user:
            rows = sorted(rows + self.trading.dataapi_trades(user), key=lambda r: r["timestamp"])
        limit = int(request.query.get("limit", "100"))
        return json_response(list(reversed(rows))[:limit])

    async def _data_positions(self, request: web.Request) -> web.Response:
        self.http_requests += 1
        return json_response(self.trading.positions(request.query.get("user", "")))

    async def _data_leaderboard(self, request: web.Request) -> web.Response:
        self.http_requests += 1
        board = [
            {
                "rank": str(i + 1),
                "proxyWallet": w.wallet,
                "userName": w.alias,
                "vol": 100000,
                "pnl": int(10000 * w.skill),
                "profileImage": "",
                "xUsername": "",
                "verifiedBadge": False,
            }
            for i, w in enumerate(sorted(self.scenario.whales, key=lambda w: -w.skill))
        ]
        return json_response(board)

    def _rest_book(self, token: str) -> dict[str, Any] | None:
        if token not in self.scenario.token_index():
            return None
        event = self._book(token, self.now())
        market, _ = self.scenario.token_index()[token]
        return {
            "market": market.condition_id,
            "asset_id": token,
            "timestamp": event["timestamp"],
            "hash": event["hash"],
            "bids": event["bids"],
            "asks": event["asks"],
            "min_order_size": "5",
            "tick_size": "0.01",
            "neg_risk": False,
            "last_trade_price": "",
        }

    async def _clob_book(self, request: web.Request) -> web.Response:
        self.http_requests += 1
        book = self._rest_book(request.query.get("token_id", ""))
        if book is None:
            return json_response(
                {"error": "No orderbook exists for the requested token id"}, status=404
            )
        return json_response(book)

    async def _clob_books(self, request: web.Request) -> web.Response:
        self.http_requests += 1
        try:
            body = await request.json()
        except ValueError:
            return json_response({"error": "invalid body"}, status=400)
        books = [
            self._rest_book(str(item.get("token_id", "")))
            for item in body
            if isinstance(item, dict)
        ]
        return json_response([b for b in books if b is not None])

    async def _clob_time(self, request: web.Request) -> web.Response:
        return web.Response(text=str(int(time.time())))

    async def _clob_ok(self, request: web.Request) -> web.Response:
        return web.Response(text="OK")


def _levels_of(event: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    return (
        {lvl["price"]: lvl["size"] for lvl in event["bids"]},
        {lvl["price"]: lvl["size"] for lvl in event["asks"]},
    )


def _diff(
    token: str,
    old: tuple[dict[str, str], dict[str, str]],
    new: tuple[dict[str, str], dict[str, str]],
) -> list[tuple[str, str, str, str]]:
    changes: list[tuple[str, str, str, str]] = []
    for side, before, after in (("BUY", old[0], new[0]), ("SELL", old[1], new[1])):
        for price in sorted(set(before) | set(after)):
            size = after.get(price, "0")
            if before.get(price) != size:
                changes.append((token, price, size, side))
    return changes


def _rpc_result(rid: Any, result: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": rid, "result": result}


def _rpc_error(rid: Any, code: int, message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": rid, "error": {"code": code, "message": message}}


def _block_num(raw: Any, head: int) -> int:
    if raw in (None, "latest", "pending", "safe", "finalized"):
        return head
    if raw == "earliest":
        return 0
    return int(raw, 16) if isinstance(raw, str) else int(raw)


def _matches(entry: dict[str, Any], flt: dict[str, Any]) -> bool:
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
