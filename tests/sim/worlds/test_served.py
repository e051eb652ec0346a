"""The simulator serves a world: its prices, its books and its truth, over real sockets."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import httpx

from polytui.sim.server import SimServer
from polytui.sim.worlds import build_world, builtin_spec

CLI = [sys.executable, "-c", "from polytui.cli import main; main()"]


async def test_the_server_serves_the_worlds_prices_and_impacted_books() -> None:
    world = build_world(builtin_spec("demo"), seed=7, hours=0.5)
    async with SimServer(world=world, speed=1.0) as sim:
        base = f"http://127.0.0.1:{sim.port}"
        async with httpx.AsyncClient() as client:
            gamma = (await client.get(f"{base}/gamma/markets")).json()
            listed = {g["conditionId"] for g in gamma}
            assert {m.condition_id for m in world.markets} <= listed
            first = world.markets[0]
            record = next(g for g in gamma if g["conditionId"] == first.condition_id)
            yes = Decimal(json.loads(record["outcomePrices"])[0])
            assert abs(float(yes) - first.yes_price(sim.now())) < 0.01
        # The book every part of the server reads (market channel, CLOB REST, the exchange's
        # matching) is the world's, with the whale's impact in it.
        big = next(
            tr
            for tr in world.trades
            if tr.t > 2 and world.markets[tr.market].group.name == "btc-15m" and tr.levels >= 3
        )
        after = (int(big.t // 2) + 1) * 2.0  # the first block after the fill
        event = sim.world.raw_book(big.token_id, after)
        best_ask = min(Decimal(level["price"]) for level in event["asks"])
        world_best = world.book(big.token_id, after)[1][0][0]
        assert best_ask == Decimal(f"{world_best:.2f}")
        public = world.price(big.token_id, after)
        assert float(best_ask) >= public + 0.02


def test_polytui_sim_writes_the_truth_of_a_scenario_file(tmp_path: Path) -> None:
    spec = tmp_path / "tiny.toml"
    spec.write_text(
        'name = "tiny"\nhours = 0.2\n[[markets]]\ncount = 2\nduration_s = [60, 300]\n'
        '[[whales]]\narchetype = "informed_slow"\nwatched = true\nevery_s = 20\n'
        '[[whales]]\narchetype = "noise"\ncount = 2\nevery_s = 20\n'
    )
    truth = tmp_path / "truth.json"
    config = tmp_path / "sim.toml"
    proc = subprocess.Popen(
        [
            *CLI,
            "sim",
            "--scenario-file",
            str(spec),
            "--truth",
            str(truth),
            "--write-config",
            str(config),
            "--seed",
            "3",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "XDG_DATA_HOME": str(tmp_path / "data")},
    )
    try:
        deadline = time.monotonic() + 90
        while not (truth.exists() and config.exists()) and time.monotonic() < deadline:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.2)
        time.sleep(0.5)
        data = json.loads(truth.read_text())
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    assert data["world"] == "tiny" and data["seed"] == 3
    assert {"condition_id", "winner_token_id", "end"} <= set(data["markets"][0])
    archetypes = sorted(w["archetype"] for w in data["wallets"])
    assert archetypes == ["informed_slow", "noise", "noise"]
    for w in data["wallets"]:
        assert set(w) >= {"wallet", "archetype", "watched", "true_edge", "copy_edge"}
        assert set(w["copy_edge"]) == {"0.65", "2", "5", "15"}
    text = config.read_text()
    assert str(tmp_path / "data") in text  # the simulator's journal is not the trader's


def test_a_bad_scenario_file_is_named_without_a_traceback(tmp_path: Path) -> None:
    spec = tmp_path / "bad.toml"
    spec.write_text('[[markets]]\ndepth = "deep"\n')
    out = subprocess.run(
        [*CLI, "sim", "--scenario-file", str(spec)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2
    assert "markets[0].depth: must be a number" in out.stderr
    assert "Traceback" not in out.stderr
