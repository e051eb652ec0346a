"""``polytui --demo``: the loopback exchange simulator plus the console, no network, no keys.

The simulator runs on its own event loop in a background thread (so a busy UI never slows the
"exchange"), the engine and the TUI share the main loop, paper mode, a temporary data directory
and manual approval. Nothing touches the real network.

The demo serves the honest ``demo`` world (``polytui/sim/worlds/builtin/demo.toml``): prices are
probabilities, whale fills move the book and fast traders chase them, and only some of the watched
wallets are worth copying, so the P&L, fees and latency tax the console shows after ten minutes
are what copying those wallets really earns. Its wallets trade for the first ``DEMO_HOURS`` sim
hours (a longer horizon would only delay the first frame: the world is built before it), and
traded for ``DEMO_HISTORY_HOURS`` before the start. Once the engine runs, that settled past is
built in a thread of its own (after the first frame, so it never delays it), served on loopback
as the backtest serves it, the watched wallets are profiled from it (``polytui whales``' own
session) and the strategy starts from those profiles, as a trader who ran ``polytui whales
rank`` first would. The strategy settings are the defaults.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import tempfile
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

DEMO_SCENARIO = "demo"
DEMO_SEED = 7
DEMO_HOURS = 4.0
DEMO_HISTORY_HOURS = 6.0  # settled past the demo's data-api serves, and its wallets are profiled on


class SimThread:
    """Runs a ``SimServer`` on its own loop in a daemon thread until stopped.

    ``world=True`` serves the built-in world named ``scenario`` (``polytui.sim.worlds``) with its
    wallets trading for ``hours``; otherwise the classic scenario of that name."""

    def __init__(
        self,
        scenario: str = DEMO_SCENARIO,
        seed: int = DEMO_SEED,
        speed: float = 1.0,
        *,
        world: bool = False,
        hours: float | None = None,
    ):
        self.scenario, self.seed, self.speed = scenario, seed, speed
        self.world, self.hours = world, hours
        self.sim: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="polytui-sim", daemon=True)

    def _main(self) -> None:
        self._loop = asyncio.new_event_loop()
        try:
            self._loop.run_until_complete(self._serve())
        except BaseException as exc:  # surfaced to the starting thread
            self._error = exc
            self._ready.set()
        finally:
            self._loop.close()

    async def _serve(self) -> None:
        from polytui.sim.server import SimServer

        self._stop = asyncio.Event()
        world = None
        if self.world:
            from polytui.sim.worlds import builtin_spec
            from polytui.sim.worlds.past import build_world_with_past

            spec = builtin_spec(self.scenario)
            world = build_world_with_past(spec, seed=self.seed, hours=self.hours)
        async with SimServer(self.scenario, seed=self.seed, speed=self.speed, world=world) as sim:
            self.sim = sim
            self._ready.set()
            await self._stop.wait()

    def begin(self) -> None:
        """Start the simulator thread without waiting for it."""
        if not self._thread.is_alive():
            self._thread.start()

    def start(self, timeout: float = 15.0) -> Any:
        """Start the simulator and return it once every endpoint listens."""
        self.begin()
        if not self._ready.wait(timeout):
            raise RuntimeError(f"the simulator did not start within {timeout:.0f} s")
        if self._error is not None:
            raise RuntimeError(f"the simulator failed to start: {self._error}")
        return self.sim

    def stop(self) -> None:
        """Stop the simulator and wait for its thread."""
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=5)


# Said on the demo's screen at start: where its wallets' priors come from.
DEMO_HISTORY = (
    f"demo: the watched wallets are profiled from the world's {DEMO_HISTORY_HOURS:g} h of settled "
    "history first (about twenty seconds); a wallet is copied once its history shows an edge "
    "that survives our delay, fees and spread, as with a real configuration"
)


@contextmanager
def demo_environment(
    scenario: str = DEMO_SCENARIO, seed: int = DEMO_SEED, sim_thread: SimThread | None = None
) -> Iterator[Any]:
    """Simulator running + settings pointing at it + a throw-away data dir."""
    from polytui.config import LoadedConfig, apply_overrides
    from polytui.settings import Settings

    sim_thread = sim_thread or SimThread(scenario, seed, world=True, hours=DEMO_HOURS)
    sim = sim_thread.start()
    with tempfile.TemporaryDirectory(prefix="polytui-demo-") as data_dir:
        settings = apply_overrides(Settings(), sim.settings_overrides())
        settings.mode = "paper"
        settings.approval.policy = "manual"
        # A livelier book than the defaults, so a newcomer sees copies within seconds; the
        # limits still bind and are shown in the risk pane.
        settings.paper.starting_balance_usd = Decimal(1000)
        settings.strategy.max_bet_usd = Decimal(25)
        settings.risk.max_total_exposure_usd = Decimal(200)
        settings.risk.max_market_exposure_usd = Decimal(50)
        settings.approval.ttl_s = 45.0
        settings.storage.data_dir = Path(data_dir)
        settings.daemon.socket_path = Path(data_dir) / "control.sock"
        for key, value in sim.environment().items():
            os.environ[key] = value
        try:
            yield LoadedConfig(settings=settings, path=None, notes=("demo mode", DEMO_HISTORY))
        finally:
            sim_thread.stop()


def run_demo(config_path: Path | None) -> int:
    """Entry point of ``polytui --demo`` (the config file, if any, is not needed)."""
    del config_path  # the demo always runs against its own simulator
    sim_thread = SimThread(world=True, hours=DEMO_HOURS)
    # The exchange starts in its thread while the console's modules load: the first frame
    # appears sooner than doing one after the other.
    sim_thread.begin()
    from polytui.tui.app import run_app

    try:
        with demo_environment(sim_thread=sim_thread) as loaded:
            wall0 = sim_thread.sim.world.wall0
            return run_app(loaded, live=False, demo=True, runner=lambda e: with_history(e, wall0))
    except RuntimeError as exc:
        print(f"polytui --demo: {exc}", file=sys.stderr)
        return 1


def _profile(settings: Any, wall0: float) -> dict[str, Any]:
    """Profile the watched wallets from the demo world's settled past (built after the first
    frame, served on loopback as the backtest serves it: the simulator's own data-api routes,
    clock held at the start ``wall0``) into the journal; returns their priors."""
    from polytui.backtest.past import profile_past
    from polytui.journal import Journal, journal_path
    from polytui.sim.worlds import builtin_spec
    from polytui.sim.worlds.past import build_world_with_past
    from polytui.strategy.prior import priors_from_journal

    spec = builtin_spec(DEMO_SCENARIO)
    world = build_world_with_past(
        spec, seed=DEMO_SEED, hours=DEMO_HOURS, past_hours=DEMO_HISTORY_HOURS
    )
    data = settings.storage.data_dir
    profile_past(settings, world, DEMO_HOURS, data, wall0)
    journal = Journal.open(journal_path(data, settings.mode), mode=settings.mode, backup=False)
    try:
        return priors_from_journal(journal, latency_s=settings.history.source_latency_s)
    finally:
        journal.close()


async def profile_from_history(engine: Any, wall0: float) -> None:
    """Beside the running engine: profile its watched wallets from their served history in a
    daemon thread (the console's loop stays free, and quitting never waits for it), then give
    the strategy their priors on the engine's loop, where it is the only writer."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[dict[str, Any]] = loop.create_future()

    def deliver(result: dict[str, Any] | None, error: BaseException | None) -> None:
        if done.done():
            return  # the engine stopped first
        if error is not None:
            done.set_exception(error)
        else:
            done.set_result(result or {})

    def work() -> None:
        try:
            result: dict[str, Any] | None = _profile(engine.settings, wall0)
            error: BaseException | None = None
        except Exception as exc:  # reported on the engine's loop
            result, error = None, exc
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody is waiting
            loop.call_soon_threadsafe(deliver, result, error)

    threading.Thread(target=work, name="polytui-demo-profiles", daemon=True).start()
    priors = await done
    engine.strategy.scorer.set_priors(priors)
    log.info("profiled %d watched wallets from their history", len(priors))


def with_history(engine: Any, wall0: float) -> Callable[[], Awaitable[None]]:
    """``engine.run`` with :func:`profile_from_history` beside it as a task (cancelled when the
    engine stops; a failure is logged, the engine keeps running)."""

    async def run() -> None:
        task = asyncio.create_task(profile_from_history(engine, wall0))
        task.add_done_callback(_log_failure)
        try:
            await engine.run()
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    return run


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("profiling the demo's wallets failed: %s", task.exception())
