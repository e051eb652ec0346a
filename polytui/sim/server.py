"""The loopback exchange: every Polymarket protocol polytui speaks, on one 127.0.0.1 port.

Routes: ``/ws/market`` (CLOB market channel), ``/rtds`` (RTDS activity), ``/rpc`` (Polygon
JSON-RPC over WebSocket with ``eth_subscribe("logs")``), ``/gamma/…`` (Gamma), ``/data/…``
(data-api), ``/clob/…`` (CLOB REST, including the trading side in :mod:`polytui.sim.exchange`:
L1/L2 auth, signed V2 order entry, matching, cancels, open orders, trades) and ``/ws/user`` (the
authenticated user channel). Sim time runs ``speed`` times faster than the wall clock;
what happens is a pure function of (scenario, seed, sim time). Faults on demand: drop every
connection, go silent with sockets open, send garbage, and re-send a chain log as removed.

The server only assembles and drives the parts: one :class:`SimWorld` (clock, blocks, resolved
set, raw books) that every part reads, the :class:`Hub` of sockets, the market channel and RTDS
(:mod:`.market_ws`), the chain (:mod:`.rpc`), the read-only REST routes (:mod:`.rest`) and the
:class:`Exchange`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from aiohttp import web

from polytui.sim.exchange import Exchange
from polytui.sim.history import HistoryRoutes
from polytui.sim.history_ranks import RankRoutes
from polytui.sim.hub import Hub
from polytui.sim.market_ws import RTDS_DELAY_S, MarketChannel
from polytui.sim.rest import DATAAPI_DELAY_S, RestRoutes
from polytui.sim.rpc import CHAIN_DELAY_S, ChainRpc
from polytui.sim.scenario import Scenario, SimTrade, build_scenario
from polytui.sim.wire import EXCHANGE_V2, dumps, rtds_frame
from polytui.sim.world import BLOCK_S, SimWorld
from polytui.sim.worlds.legacy import scenario_of
from polytui.sim.worlds.world import World

__all__ = ["BLOCK_S", "CHAIN_DELAY_S", "DATAAPI_DELAY_S", "RTDS_DELAY_S", "TICK_S", "SimServer"]

log = logging.getLogger(__name__)

TICK_S = 0.25
GARBAGE = ['{"event_type": "book", "bids": 7}', "not json", "[1, 2", '{"price": "NaN"}', "{}"]


class SimServer:
    """Async context manager running the simulator until exit."""

    def __init__(
        self,
        scenario: str | Scenario = "demo",
        *,
        seed: int = 7,
        speed: float = 1.0,
        host: str = "127.0.0.1",
        port: int = 0,
        world: World | None = None,
    ) -> None:
        # A world (polytui.sim.worlds) is served through the scenario shapes; without one, the
        # named built-in scenario.
        self.truth_world = world
        # A scenario built elsewhere (a benchmark's own markets) is served as it is.
        if world is not None:
            self.scenario: Scenario = scenario_of(world)
        elif isinstance(scenario, str):
            self.scenario = build_scenario(scenario, seed)
        else:
            self.scenario = scenario
        self.speed = speed
        self.host = host
        self.port = port
        self.exchange_address = EXCHANGE_V2
        self.world = SimWorld(self.scenario, speed)
        self.hub = Hub()
        self.exchange = Exchange(self.world, self.hub)
        self.market = MarketChannel(self.world, self.hub, self.exchange.book)
        self.chain = ChainRpc(self.world, self.hub, self.exchange_address)
        self.rest = RestRoutes(self.world, self.exchange.book, self.exchange)
        # A world's history (past and present) on the data-api's history endpoints.
        self.history: HistoryRoutes | None = None
        if world is not None:
            self.history = HistoryRoutes(self.world, world, self.exchange)
        self.connections = self.hub.connections
        self.max_connections = self.hub.max_connections
        self.ground_truth: list[SimTrade] = self.market.ground_truth
        self._runner: web.AppRunner | None = None
        self._ticker: asyncio.Task[None] | None = None
        # Injected network latency (see inject_latency): every REST answer waits this long.
        self.rest_delay_s = 0.0

    # --- lifecycle ------------------------------------------------------------------------------

    async def __aenter__(self) -> SimServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Bind the port and start the clock."""
        app = web.Application(middlewares=[self._delayed])
        app.add_routes(
            [
                web.get("/ws/market", self.market.ws_clob),
                web.get("/rtds", self.market.ws_rtds),
                web.get("/rpc", self.chain.ws),
                *self.rest.routes(history=self.history is not None),
                *(
                    self.history.routes(RankRoutes(self.history.data).handlers())
                    if self.history
                    else []
                ),
                *self.exchange.routes(),
            ]
        )
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = _bound_port(self._runner, self.port)
        self.world.start()
        self._ticker = asyncio.create_task(self._tick_loop())

    @web.middleware
    async def _delayed(self, request: web.Request, handler: Any) -> web.StreamResponse:
        """Hold a REST answer ``rest_delay_s`` (WebSocket upgrades are not delayed)."""
        if self.rest_delay_s > 0 and request.headers.get("Upgrade", "").lower() != "websocket":
            await asyncio.sleep(self.rest_delay_s)
        response: web.StreamResponse = await handler(request)
        return response

    async def close(self) -> None:
        """Stop the clock and close every connection."""
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        self.chain.close()
        await self.exchange.close()
        await self.hub.close_all()
        if self._runner is not None:
            await self._runner.cleanup()

    # --- time and books (the world's, with the exchange's consumed liquidity) --------------------

    def now(self) -> float:
        """Sim seconds since start."""
        return self.world.now()

    def wall(self, sim_t: float) -> float:
        """Wall-clock unix time of sim time ``sim_t``."""
        return self.world.wall(sim_t)

    def book(self, token: str, t: float) -> dict[str, Any]:
        """The ``book`` event clients get for a known token at sim time ``t``."""
        return self.exchange.book(token, t)

    def rest_book(self, token: str) -> dict[str, Any] | None:
        """``GET /clob/book`` of a token now, or None for an unknown token."""
        return self.rest.rest_book(token)

    @property
    def http_requests(self) -> int:
        """Gamma, data-api and CLOB book requests answered."""
        return self.rest.requests + (self.history.requests if self.history else 0)

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
                "resolution_poll_s": 5.0,
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
        return await self.hub.close_all() + await self.exchange.drop_user_sockets()

    def go_silent(self, seconds: float) -> None:
        """Keep sockets open but send nothing for ``seconds`` of wall time."""
        self.hub.silent_until = time.monotonic() + seconds

    async def send_garbage(self, n: int = 5) -> None:
        """Send malformed frames to every client."""
        for client in list(self.hub.clients):
            for i in range(n):
                await self.hub.send(client, GARBAGE[i % len(GARBAGE)])

    def gamma_shows_fee(self, condition_id: str, fee: dict[str, object] | None) -> None:
        """Gamma's ``feeSchedule`` of a market says ``fee`` while the CLOB (``/clob-markets``
        ``fd`` and the matching engine) keeps charging the market's own schedule."""
        self.rest.gamma_fees[condition_id] = fee

    def serve_as_protocol_v2(self, condition_id: str) -> None:
        """Serve a market as Polymarket Protocol V2: Gamma ``version: "v2"`` with its trading
        ids in ``positionIds`` (``clobTokenIds`` holds other ids), and no CTFExchangeV2
        ``OrderFilled`` on chain for its trades (they settle through ExchangeV3)."""
        self.world.protocol_v2.add(condition_id)

    def stall_connections_above(self, assets: int | None) -> None:
        """A market-channel connection holding more than ``assets`` tokens gets no data frames
        (200 by default, like the real channel; None: never)."""
        self.market.stall_above = assets

    def stop_rtds_trades(self, gone: bool = True) -> None:
        """RTDS keeps accepting and answering ``PING`` but sends no ``activity/trades`` (the
        topic the docs no longer list, gone for good)."""
        self.market.rtds_trades_gone = gone

    def drop_pending_txs(self, n: int = 1) -> None:
        """The next ``n`` settlement transactions are seen pending, then leave the pool
        unmined: no ``OrderFilled`` log, no receipt (RTDS and the data-api still report the
        match)."""
        self.chain.mempool.drop_next += n

    def leave_block_lookups_unanswered(self, n: int = 1) -> None:
        """The next ``n`` ``eth_getBlockByNumber`` requests get no answer (the socket stays up)."""
        self.chain.unanswered_block_lookups += n

    def drop_market_resolved(self, drop: bool = True) -> None:
        """Resolve markets without sending ``market_resolved`` (REST still reports them)."""
        self.market.drop_resolved = drop

    def inject_latency(self, rest_s: float = 0.0, subscribe_s: float = 0.0) -> None:
        """A network between us and the exchange: every REST call (Gamma, data-api, CLOB) is
        answered ``rest_s`` after it arrives, and every market-channel subscription ``subscribe_s``
        after it is sent (answers are pipelined: twenty subscriptions cost one delay, not twenty).
        """
        self.rest_delay_s = rest_s
        self.market.answer_delay_s = subscribe_s

    async def publish_fills(self, trades: list[SimTrade]) -> None:
        """Send the RTDS frame of each whale fill now, one frame each, to every RTDS client
        (fills a benchmark or test makes up; their wallets must be the scenario's)."""
        now_ms = self.world.ms(self.world.now())
        for trade in trades:
            text = dumps(rtds_frame(self.scenario, trade, self.world.wall(trade.t), now_ms))
            for client in self.hub.of_kind("rtds"):
                await self.hub.send(client, text)

    async def reorg(self) -> int:
        """Re-send the newest chain log as ``removed: true``."""
        return await self.chain.reorg()

    # --- the clock ------------------------------------------------------------------------------

    async def _tick_loop(self) -> None:
        while True:
            try:
                if not self.hub.silent():
                    await self._tick(self.world.now())
            except Exception:
                log.exception("simulator tick failed")
            await asyncio.sleep(TICK_S)

    async def _tick(self, t: float) -> None:
        await self.market.publish_trades(t)
        self.chain.publish_pending(t, TICK_S * self.speed)
        await self.chain.publish_logs(t)
        await self.market.publish_resolutions(t)
        await self.market.publish_book_updates(t)
        await self.exchange.tick()
        await self.chain.notify_heads()


def _bound_port(runner: web.AppRunner, asked: int) -> int:
    """The port the OS gave us (``asked`` unless it was 0), from the runner's public addresses."""
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    return asked
