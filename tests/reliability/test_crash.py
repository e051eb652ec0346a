"""Crash: kill -9 the headless engine at random points of a seeded run, restart, compare.

The simulator runs in this process for the whole test; the engine runs in a child process that
is SIGKILLed after a random time, N times, and started again on the same data directory (a
final start proves the journal still opens and the engine resumes). Then the journal is held
against the simulator's ground truth and against itself:

- signals: every watched-whale trade the simulator delivered from the first start to the final
  stop has a signal — also those delivered while no child was up, or too close to a kill to be
  committed: the next start catches them up (chain backfill from the saved block, data-api fills
  newer than the saved mark; the run is far shorter than ``[feeds] catch_up_s``) — and none has
  two (0 lost, 0 duplicated, so a caught-up trade is never a second signal);
- orders: no intent was sent to the broker twice (a restart never re-sends an order);
- fills: unique ids; each belongs to a journaled order; every order journaled as filled has its
  fill; the restored positions equal the sum of journaled fills (0 lost, 0 duplicated).

The child is ``polytui --daemon`` when the daemon is part of the build, else a small runner of the
same engine (``polytui.wiring.build_engine`` + ``asyncio.run(engine.run())``);
``POLYTUI_CRASH_TARGET=daemon|engine`` forces one. Sizes: 100 kills under ``make reliability``,
3 in ``make test``.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from polytui.config import apply_overrides, write_config
from polytui.journal import Journal, journal_path
from polytui.settings import Settings
from polytui.sim.server import CHAIN_DELAY_S, RTDS_DELAY_S, SimServer
from polytui.sim.worlds import build_world, builtin_spec
from tests.conftest import REPO
from tests.reliability.common import size, summary

SEED = 4242
KILLS = size(100, 3)
SPEED = 20.0
UP_S = (2.5, 6.0)  # how long a child runs before the kill (after it is connected)
GRACE_S = 3.0  # a trade delivered this long before a kill must be committed by then

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(120 + KILLS * 20)]

RUNNER = textwrap.dedent(
    """
    import asyncio, signal, sys
    from pathlib import Path
    from polytui.config import load_settings
    from polytui.wiring import build_engine

    async def main() -> None:
        engine = build_engine(load_settings(Path(sys.argv[1])))
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, lambda: loop.create_task(engine.stop()))
        await engine.run()
        engine.journal.close()

    asyncio.run(main())
    """
)


def daemon_available() -> bool:
    tracked = subprocess.run(
        ["git", "ls-files", "--error-unmatch", "polytui/daemon.py"],
        cwd=REPO,
        capture_output=True,
    )
    return tracked.returncode == 0


def target() -> str:
    forced = os.environ.get("POLYTUI_CRASH_TARGET")
    if forced in ("daemon", "engine"):
        return forced
    return "daemon" if daemon_available() else "engine"


def child_command(kind: str, config: Path) -> list[str]:
    if kind == "daemon":
        return [str(Path(sys.executable).parent / "polytui"), "--daemon", "--config", str(config)]
    return [sys.executable, "-c", RUNNER, str(config)]


def crash_settings(sim: SimServer, data_dir: Path) -> Settings:
    s = apply_overrides(Settings(), sim.settings_overrides())
    s.storage.data_dir = data_dir
    s.approval.policy = "auto"
    s.strategy.prior_edge, s.strategy.confidence_z = Decimal("0.2"), Decimal(0)
    s.paper.starting_balance_usd = Decimal(1_000_000)
    # Limits wide enough that orders keep flowing in every run, so kills land mid-order too.
    s.risk.max_total_exposure_usd = Decimal(500_000)
    s.risk.max_market_exposure_usd = Decimal(100_000)
    s.risk.max_open_positions = 1_000
    s.risk.max_daily_loss_usd = Decimal(500_000)
    s.paper.latency_ms = 50
    s.feeds.backoff_initial_s = 0.1
    s.feeds.backoff_cap_s = 0.5
    return s


class Run:
    def __init__(self, number: int, proc: asyncio.subprocess.Process) -> None:
        self.number = number
        self.proc = proc
        self.ready_at = 0.0
        self.stopped_at = 0.0


async def wait_ready(sim: SimServer, proc: asyncio.subprocess.Process, timeout: float) -> float:
    """The child is up when it holds its RTDS and chain connections with a logs subscription."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.returncode is not None:
            raise AssertionError(f"the child exited with {proc.returncode} before connecting")
        rpc = [c for c in sim.hub.clients if c.kind == "rpc" and c.subscriptions]
        if sim.connections["rtds"] == 1 and rpc:
            return time.monotonic()
        await asyncio.sleep(0.02)
    raise AssertionError("the child did not connect in time")


async def wait_gone(sim: SimServer, timeout: float = 10) -> None:
    """The killed child's sockets are closed at the simulator."""
    deadline = time.monotonic() + timeout
    while sim.connections["rtds"] or sim.connections["rpc"] or sim.connections["clob"]:
        if time.monotonic() > deadline:
            raise AssertionError(f"a dead child still holds connections: {sim.connections}")
        await asyncio.sleep(0.02)


def first_seen_at(sim: SimServer, t: float) -> float:
    """Monotonic time the simulator first delivers a trade matched at sim time ``t``."""
    return sim.world.t0 + (t + min(RTDS_DELAY_S, CHAIN_DELAY_S)) / sim.speed


def analyse(sim: SimServer, path: Path, runs: list[Run]) -> dict[str, Any]:
    journal = Journal.open(path, mode="paper", backup=False)
    try:
        assert journal.integrity_ok()
        signals = list(journal.events(kinds=["signal"]))
        orders = list(journal.events(kinds=["order"]))
        fills = list(journal.events(kinds=["fill"]))
        settlements = list(journal.events(kinds=["settlement"]))
        portfolio = journal.get_state("portfolio") or {}
    finally:
        journal.close()

    watched = set(sim.whale_wallets)
    per_trade = Counter(
        (str(s.payload.get("tx_hash", "")).lower(), str(s.payload.get("wallet", "")).lower())
        for s in signals
    )
    duplicated_signals = {k: n for k, n in per_trade.items() if n > 1}
    # Downtime included: a restart catches up what was missed (all of it is inside the window).
    covered = (runs[0].ready_at + 0.5, runs[-1].stopped_at - GRACE_S)
    must_have = [
        (t.tx_hash.lower(), t.wallet)
        for t in sim.ground_truth
        if t.wallet in watched and covered[0] <= first_seen_at(sim, t.t) <= covered[1]
    ]
    while_down = [
        (t.tx_hash.lower(), t.wallet)
        for t in sim.ground_truth
        if t.wallet in watched
        and covered[0] <= first_seen_at(sim, t.t) <= covered[1]
        and not any(r.ready_at <= first_seen_at(sim, t.t) <= r.stopped_at for r in runs)
    ]
    lost_signals = [k for k in must_have if k not in per_trade]

    order_ids_by_intent: dict[str, set[str]] = defaultdict(set)
    last_status: dict[str, str] = {}
    for o in orders:
        if o.payload.get("intent_id"):
            order_ids_by_intent[o.payload["intent_id"]].add(o.payload["id"])
        last_status[o.payload["id"]] = o.payload["status"]
    duplicated_orders = {i: ids for i, ids in order_ids_by_intent.items() if len(ids) > 1}

    fill_ids = Counter(f.payload["id"] for f in fills)
    duplicated_fills = {i: n for i, n in fill_ids.items() if n > 1}
    orphan_fills = [f.payload["id"] for f in fills if f.payload["order_id"] not in last_status]
    filled_orders = {o for o, s in last_status.items() if s in ("filled", "partial")}
    with_fills = {f.payload["order_id"] for f in fills}
    lost_fills = sorted(filled_orders - with_fills)

    settled = {s.payload.get("condition_id") for s in settlements}
    from_fills: dict[str, Decimal] = defaultdict(Decimal)
    for f in fills:
        if f.payload.get("condition_id") in settled:
            continue
        sign = 1 if f.payload["side"] == "BUY" else -1
        from_fills[f.payload["token_id"]] += sign * Decimal(f.payload["shares"])
    held = {
        h["token_id"]: Decimal(h["shares"])
        for h in portfolio.get("holdings", [])
        if h.get("condition_id") not in settled
    }
    position_mismatch = {
        t: (held.get(t, Decimal(0)), n)
        for t, n in from_fills.items()
        if n != held.get(t, Decimal(0))
    }
    position_mismatch.update({t: (n, Decimal(0)) for t, n in held.items() if t not in from_fills})
    return {
        "signals": len(signals),
        "must_have": len(must_have),
        "while_down": len(while_down),
        "lost_signals": lost_signals,
        "duplicated_signals": duplicated_signals,
        "orders": len(last_status),
        "duplicated_orders": duplicated_orders,
        "fills": len(fills),
        "duplicated_fills": duplicated_fills,
        "orphan_fills": orphan_fills,
        "lost_fills": lost_fills,
        "position_mismatch": position_mismatch,
        "ground_truth": len(sim.ground_truth),
    }


async def test_kill_9_at_random_points_loses_and_doubles_nothing(tmp_path: Path) -> None:
    kind = target()
    rng = random.Random(SEED)
    env = dict(os.environ, XDG_RUNTIME_DIR=str(tmp_path / "run"), POLYTUI_FULL="")
    (tmp_path / "run").mkdir(mode=0o700)
    data = tmp_path / "data"
    runs: list[Run] = []
    # The demo world, its wallets trading for as long as the kills can take (~12 s each at most).
    world = build_world(builtin_spec("demo"), seed=SEED, hours=SPEED * (KILLS * 12 + 60) / 3600)
    sim = SimServer("demo", seed=SEED, speed=SPEED, world=world)
    async with sim:
        env.update(sim.environment())
        config = write_config(crash_settings(sim, data), tmp_path / "config.toml", force=True)
        log = (tmp_path / "child.log").open("ab")
        try:
            for number in range(KILLS + 1):
                proc = await asyncio.create_subprocess_exec(
                    *child_command(kind, config), env=env, stdout=log, stderr=log, cwd=tmp_path
                )
                run = Run(number, proc)
                runs.append(run)
                run.ready_at = await wait_ready(sim, proc, 30)
                if number < KILLS:
                    await asyncio.sleep(rng.uniform(*UP_S))
                    run.stopped_at = time.monotonic()
                    proc.send_signal(signal.SIGKILL)
                    assert await proc.wait() == -signal.SIGKILL
                else:  # the last start: let it settle, then a clean stop
                    await asyncio.sleep(GRACE_S + 1)
                    run.stopped_at = time.monotonic()
                    proc.send_signal(signal.SIGTERM)
                    code = await asyncio.wait_for(proc.wait(), 30)
                    assert code == 0, f"clean stop after {KILLS} kills exited {code}"
                await wait_gone(sim)
        finally:
            log.close()
            for run in runs:
                if run.proc.returncode is None:
                    run.proc.kill()
                    await run.proc.wait()
        result = analyse(sim, journal_path(data, "paper"), runs)
    summary(
        "crash",
        target=kind,
        kills=KILLS,
        whale_trades=result["ground_truth"],
        must_have_signals=result["must_have"],
        of_them_while_down=result["while_down"],
        signals=result["signals"],
        lost_signals=len(result["lost_signals"]),
        duplicated_signals=len(result["duplicated_signals"]),
        orders=result["orders"],
        duplicated_orders=len(result["duplicated_orders"]),
        fills=result["fills"],
        duplicated_fills=len(result["duplicated_fills"]),
        orphan_fills=len(result["orphan_fills"]),
        lost_fills=len(result["lost_fills"]),
        position_mismatches=len(result["position_mismatch"]),
    )
    for key in (
        "lost_signals",
        "duplicated_signals",
        "duplicated_orders",
        "duplicated_fills",
        "orphan_fills",
        "lost_fills",
        "position_mismatch",
    ):
        assert not result[key], f"{key}: {result[key]}"
    assert result["must_have"] > 0 and result["fills"] > 0, "the run proved nothing"
    assert result["while_down"] > 0, "no trade happened while down: catch-up was not tested"
