"""A world's settled past, profiled as a trader would profile it before starting the console.

A world with ``history_hours`` has wallets that traded before sim time 0. Before the engine
starts, :func:`profile_past` serves that past on loopback exactly as the simulator serves it
(:class:`polytui.sim.history.HistoryRoutes` for the data-api, Gamma ``/markets`` from the
world's public market records), with the data-api's clock held at the backtest's start so
nothing after it is visible, and runs ``polytui whales``' own session (history client, rate
limits, refresher, profile) for every watched wallet into the backtest's journal. The engine
then reads the saved profiles as its priors, as the console does at start. Nothing here reads a
wallet's archetype, skill or true edge: only what the data-api and Gamma publish.

The fetch runs on its own virtual-time loop, so the published rate limits cost no wall time.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aiohttp import web

from polytui.backtest.vclock import VirtualTimeLoop, run_virtual
from polytui.backtest.world import EPOCH_UNIX, ScenarioWorld
from polytui.sim.history import HistoryRoutes
from polytui.sim.wire import json_response
from polytui.sim.world import SimWorld


class _AtStart(SimWorld):
    """The simulator's clock held at sim time 0: the data-api serves the past and nothing more."""

    def now(self) -> float:
        return 0.0


class _NoLedger:
    """The console has traded nothing before the backtest starts."""

    def dataapi_trades(self, user: str) -> list[dict[str, Any]]:
        return []


@asynccontextmanager
async def serve_past(world: Any, hours: float, wall0: float = EPOCH_UNIX) -> AsyncIterator[str]:
    """Serve ``world``'s history (a world built with its past) and its Gamma records on
    loopback as of sim time 0 (unix time ``wall0``); yields the base URL (data-api at
    ``/data``, Gamma at ``/gamma``)."""
    from polytui.sim.worlds.legacy import scenario_of

    served = ScenarioWorld(scenario_of(world), hours, honest=world)
    served.sim.wall0 = wall0
    sim = _AtStart(served.scenario)
    sim.wall0 = wall0
    history = HistoryRoutes(sim, world, _NoLedger())
    history.throttle.clock = asyncio.get_running_loop().time  # the published limits, virtual

    async def markets(request: web.Request) -> web.Response:
        q = request.query
        tokens = set(q.getall("clob_token_ids", []))
        conditions = {c for v in q.getall("condition_ids", []) for c in v.split(",") if c}
        return json_response(served.gamma(tokens, conditions, 0.0))

    app = web.Application()
    app.add_routes([*history.routes(), web.get("/gamma/markets", markets)])
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        host, port = runner.addresses[0][:2]
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


async def _profile(
    settings: Any, world: Any, hours: float, wallets: list[str], wall0: float
) -> int:
    from polytui.feeds.history import HistoryError
    from polytui.whales.session import open_session

    async with serve_past(world, hours, wall0) as base:
        settings.history.data_api_url = f"{base}/data"
        settings.feeds.gamma_url = f"{base}/gamma"
        done = 0
        loop = asyncio.get_running_loop()
        async with open_session(
            settings, lambda *_: None, now_s=lambda: wall0, monotonic=loop.time
        ) as session:
            for wallet in wallets:
                try:
                    await session.refresher.refresh(wallet)
                except HistoryError:
                    continue  # no profile: the wallet starts from the global prior
                done += 1
        return done


def profile_past(
    settings: Any, world: Any, hours: float, data_dir: Path, wall0: float = EPOCH_UNIX
) -> int:
    """Profile every watched wallet of ``settings`` from ``world``'s served past into the
    journal under ``data_dir``, sim time 0 being unix ``wall0`` (the backtest's epoch, or
    the demo's start); returns how many profiles were saved (0 without a past)."""
    if not any(tr.t < 0 for tr in world.trades):
        return 0
    import copy

    local = copy.deepcopy(settings)
    local.storage.data_dir = data_dir
    wallets = [w.lower() for w in local.whales.wallets]
    return run_virtual(_profile(local, world, hours, wallets, wall0), VirtualTimeLoop())
