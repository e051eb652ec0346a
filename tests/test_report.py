"""Parity report over a journal the engine wrote on the simulator."""

from __future__ import annotations

import asyncio
import csv
import os
from decimal import Decimal as D
from pathlib import Path

from typer.testing import CliRunner

from polytui.cli import app
from polytui.config import LoadedConfig, write_config
from polytui.engine import build_engine
from polytui.journal import Journal
from polytui.report import build_parity_rows
from tests.test_engine_e2e import engine_settings, wait_until


async def test_report_reads_a_journal_produced_by_the_engine(tmp_path: Path) -> None:
    from polytui.sim.server import SimServer

    async with SimServer("demo", seed=7, speed=3) as sim:
        os.environ.update(sim.environment())
        settings = engine_settings(sim, tmp_path, "auto")
        engine = build_engine(LoadedConfig(settings, None))
        task = asyncio.create_task(engine.run())
        await wait_until(lambda: engine.journal.count("fill") >= 1, 30)
        await engine.stop()
        await task
        engine.journal.close()
    journal = Journal.open(tmp_path / "paper.db", mode="paper", backup=False)
    rows = build_parity_rows(journal.events())
    journal.close()
    assert rows
    row = rows[0]
    assert row.whale_price > 0 and row.our_price > 0
    assert row.tax_cents == ((row.our_price - row.whale_price) * 100).quantize(D("0.01"))
    assert row.latency_s is not None and row.latency_s > 0
    assert row.outcome in ("open", "won", "lost")

    config = tmp_path / "c.toml"
    write_config(settings, config)
    out = tmp_path / "r.csv"
    result = CliRunner().invoke(app, ["report", "--config", str(config), "--csv", str(out)])
    assert result.exit_code == 0, result.output
    with out.open() as handle:
        records = list(csv.DictReader(handle))
    assert len(records) == len(rows) and records[0]["whale_price"] == str(row.whale_price)
    table = CliRunner().invoke(app, ["report", "--config", str(config)])
    assert table.exit_code == 0 and "Copied trades" in table.output
