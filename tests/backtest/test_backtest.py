"""The backtest: virtual time, determinism, the books' identity, and the oracle."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

from polytui.backtest.command import backtest_report
from polytui.backtest.render import to_svg, to_text
from polytui.backtest.report import build_report, fill_pnl
from polytui.backtest.run import RunRecord
from polytui.backtest.vclock import VirtualTimeLoop, run_virtual
from polytui.backtest.world import ScenarioWorld, open_world
from polytui.config import LoadedConfig
from polytui.settings import Settings
from polytui.sim.scenario import build_scenario

DEFAULTS = LoadedConfig(Settings(), None)
# Copies from the first trade: unmeasured whales taken on faith, for tests of the machinery.
FAITH_TOML = '[strategy]\nprior_edge = "0.2"\nconfidence_z = "0"\n'


def _faith() -> LoadedConfig:
    settings = Settings()
    settings.strategy.prior_edge, settings.strategy.confidence_z = Decimal("0.2"), Decimal(0)
    return LoadedConfig(settings, None)


def test_the_virtual_loop_jumps_over_sleeps_and_timeouts() -> None:
    async def main() -> tuple[float, bool]:
        loop = asyncio.get_running_loop()
        await asyncio.sleep(3600)
        timed_out = False
        try:
            await asyncio.wait_for(asyncio.Event().wait(), timeout=86_400)
        except TimeoutError:
            timed_out = True
        return loop.time(), timed_out

    started = time.monotonic()
    virtual, timed_out = run_virtual(main(), VirtualTimeLoop())
    assert virtual == 3600 + 86_400 and timed_out
    assert time.monotonic() - started < 5  # 25 virtual hours, no wall-clock wait


def _backtest_json(seed: int, hash_seed: str, config: Path) -> str:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    out = subprocess.run(
        [
            str(Path(sys.executable).parent / "polytui"),
            "backtest",
            "--config",
            str(config),
            "--scenario",
            "demo",
            "--seed",
            str(seed),
            "--hours",
            "0.2",
            "--report",
            "json",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_two_runs_of_one_world_give_byte_identical_json(tmp_path: Path) -> None:
    config = tmp_path / "faith.toml"
    config.write_text(FAITH_TOML)
    first = _backtest_json(3, "1", config)
    second = _backtest_json(3, "2", config)  # another string-hash order too
    assert first == second
    report = json.loads(first)
    assert report["copies"] > 0 and report["policy"].startswith("auto")


def test_a_backtest_takes_far_less_wall_time_than_sim_time() -> None:
    started = time.monotonic()
    report = backtest_report(DEFAULTS, scenario="demo", scenario_file=None, seed=7, hours=0.5)
    wall = time.monotonic() - started
    assert report["equity"]["t_s"][-1] >= 1800
    # Every feed reads the engine's (virtual) clock: RTDS delivers 1.9 s after the match.
    assert 1.0 <= report["signal_latency_s"]["activity"] <= 3.0
    assert wall < 1800 / 6, f"{wall:.0f} s of wall time for 1800 sim s: something sleeps"


def test_the_books_balance_to_the_micro_dollar_and_fills_add_up() -> None:
    world = ScenarioWorld(build_scenario("demo", 11, horizon_s=3600), 1.0)
    from polytui.backtest.run import run_world

    record = run_world(world, _faith())
    assert record.fills, "the demo world should produce copies"
    report = build_report(world, record, Settings())
    acct = report["accounting"]
    assert Decimal(acct["residual_usd"]) == 0
    # Recompute cash from the fills and settlements alone.
    cash = record.start_usd
    held: dict[str, Decimal] = {}
    for f in record.fills:
        shares, price, fee = (Decimal(f[k]) for k in ("shares", "avg_price", "fee_usd"))
        sign = 1 if f["side"] == "BUY" else -1
        cash -= sign * shares * price + fee
        held[f["token_id"]] = held.get(f["token_id"], Decimal(0)) + sign * shares
    for m in world.markets:
        if m.end_s < world.horizon_s:
            cash += held.get(m.winner, Decimal(0))
    assert cash.quantize(Decimal("0.000001")) == Decimal(acct["cash_usd"])
    hold = sum(
        (fill_pnl(world, {**f, "condition_id": f["condition_id"]}) for f in record.fills),
        Decimal(0),
    )
    assert hold.quantize(Decimal("0.000001")) == Decimal(report["pnl"]["hold_to_resolution"])
    assert "books balance" in to_text(report) and to_svg(report).startswith("<svg")


def _mixed_edge_world() -> ScenarioWorld:
    """The demo's markets, where two watched wallets always buy the loser (negative edge)."""
    scenario = build_scenario("demo", 5, horizon_s=4 * 3600)
    bad = {w.wallet for w in scenario.whales if w.alias in ("noise-echo", "noise-fox")}
    bad |= {w.wallet for w in scenario.whales if w.alias.startswith("crowd-")}
    trades = []
    for tr in scenario.trades:
        market = scenario.market(tr.market)
        if tr.wallet in bad and tr.token_id == market.winner:
            loser = market.no_token if market.yes_wins else market.yes_token
            tr = replace(tr, token_id=loser, outcome="No" if market.yes_wins else "Yes")
        trades.append(tr)
    scenario.trades = trades
    return ScenarioWorld(scenario, 4.0)


def test_the_oracle_beats_a_random_choice_of_wallets_where_copy_edge_is_known() -> None:
    world = _mixed_edge_world()
    truth = {w.wallet: w for w in world.truth()}
    assert any(w.copy_edge[2.0] > 0 for w in truth.values())
    assert any(w.copy_edge[2.0] < 0 for w in truth.values())
    record = RunRecord(policy="auto", latency_s=0.25, start_usd=Decimal(100))
    record.marked = [(0.0, Decimal(100)), (world.horizon_s, Decimal(100))]
    settings = Settings()
    settings.risk.max_total_exposure_usd = Decimal(1000)
    settings.paper.starting_balance_usd = Decimal(1000)
    record.start_usd = Decimal(1000)
    randoms = []
    for seed in range(4):
        report = build_report(world, record, settings, random_seed=seed)
        randoms.append(Decimal(report["random"]["pnl"]))
    oracle = Decimal(report["oracle"]["pnl"])
    assert report["oracle"]["copies"] > 0
    assert oracle > 0
    assert oracle >= sum(randoms) / len(randoms)
    assert set(report["oracle"]["wallets"]) == {
        w for w, t in truth.items() if world.copy_edge(w, 2.15) > 0
    }


def test_backtest_reads_the_config_whales_and_states_its_policy(tmp_path: Path) -> None:
    world = open_world("demo", None, 7, 600 / 3600)
    alpha = world.watched()[0][0]
    config = tmp_path / "c.toml"
    config.write_text(f'[whales]\nwallets = ["{alpha}"]\n[approval]\npolicy = "observe"\n')
    from polytui.config import load_settings

    report = backtest_report(
        load_settings(config), scenario="demo", scenario_file=None, seed=7, hours=600 / 3600
    )
    assert report["policy"].startswith("observe")
    assert report["copies"] == 0
    by_wallet = {w["wallet"]: w for w in report["whales"]}
    assert by_wallet[alpha]["watched"] and by_wallet[alpha]["signals"] > 0
    assert sum(w["signals"] for w in report["whales"] if w["wallet"] != alpha) == 0


def test_backtest_writes_the_truth_as_polytui_sim_does(tmp_path: Path) -> None:
    from polytui.sim.worlds import build_world, builtin_spec

    truth = tmp_path / "truth.json"
    out = subprocess.run(
        [
            str(Path(sys.executable).parent / "polytui"),
            "backtest",
            "--scenario",
            "demo",
            "--seed",
            "5",
            "--hours",
            "0.1",
            "--report",
            "json",
            "--truth",
            str(truth),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    document = json.loads(truth.read_text())
    world = build_world(builtin_spec("demo"), seed=5, hours=0.1)
    assert {m["condition_id"]: m["winner_token_id"] for m in document["markets"]} == {
        m.condition_id: m.winner for m in world.markets
    }
    assert document["world"] == "demo" and document["seed"] == 5
    report = json.loads(out.stdout)
    by_wallet = {w["wallet"].lower(): w for w in document["wallets"]}
    for whale in report["whales"]:
        stated = by_wallet[whale["wallet"]]
        assert stated["archetype"] == whale["archetype"]
        assert Decimal(whale["true_edge"]) == Decimal(repr(stated["true_edge"])).quantize(
            Decimal("0.0001")
        )
    # Its end times are on the backtest's clock, which starts at EPOCH_UNIX.
    from datetime import UTC, datetime

    from polytui.backtest.world import EPOCH_UNIX

    for m in document["markets"]:
        end = datetime.strptime(m["end"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
        assert abs(end.timestamp() - (EPOCH_UNIX + m["end_s"])) < 0.002


def test_backtest_refuses_a_truth_file_it_cannot_write(tmp_path: Path) -> None:
    out = subprocess.run(
        [
            str(Path(sys.executable).parent / "polytui"),
            "backtest",
            "--scenario",
            "demo",
            "--hours",
            "0.05",
            "--truth",
            str(tmp_path / "missing" / "truth.json"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert out.returncode == 2 and "cannot write --truth" in out.stderr, out.stderr
    assert "Traceback" not in out.stderr
