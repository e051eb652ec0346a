"""Parity report over a journal the engine wrote on the simulator."""

from __future__ import annotations

import asyncio
import csv
import os
from dataclasses import replace
from decimal import Decimal as D
from pathlib import Path

from rich.console import Console
from typer.testing import CliRunner

from polytui.cli import app
from polytui.config import LoadedConfig, write_config
from polytui.journal import Journal
from polytui.report import ParityRow, build_parity_rows, parity_table, summary_line, totals
from polytui.wiring import build_engine
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


def _row(**changes: object) -> ParityRow:
    base = ParityRow(
        filled_at="2026-12-01T17:58:44.123+00:00", wallet="0xabc", token_id="123456789012345",
        side="BUY", shares=D("40.84"), whale_price=D("0.61"), our_price=D("0.6200"),
        tax_cents=D("1.00"), tax_pct=D("1.64"), fee_usd=D("0.481095"), source="activity",
        latency_s=D("17.579"), outcome="open", market="Will Spain win on 2026-11-24?",
        outcome_name="Yes", seen_s=D("2.1"), to_fill_s=D("15.479"),
    )  # fmt: skip
    return replace(base, **changes)  # type: ignore[arg-type]


def test_report_at_80_columns_names_market_and_outcome_and_cuts_no_number() -> None:
    console = Console(width=80, record=True, color_system=None)
    console.print(parity_table([_row(), _row(outcome="won")], "paper", console.width))
    text = console.export_text()
    assert all(len(line) <= 80 for line in text.splitlines()), text
    assert "Will Spain" in text and "BUY Yes" in text
    for value in ("40.84", "0.620", "+1.0¢", "$0.48", "17.6s", "17:58:44", "won"):
        assert value in text, (value, text)
    wide = Console(width=160, record=True, color_system=None)
    wide.print(parity_table([_row()], "paper", wide.width))
    wide_text = wide.export_text()
    assert "2.1s" in wide_text and "15.5s" in wide_text and "2026-12-01 17:58:44" in wide_text
    assert summary_line(totals([_row()])) == (
        "1 fill · fees $0.48 · average tax +1.0¢ per share · won 0 · lost 0"
    )
