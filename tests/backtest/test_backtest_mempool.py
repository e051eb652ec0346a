"""The backtest with the mempool source: each fill's pending transaction reaches the real
parser at 0.65 s, before RTDS, and its log confirms it."""

from __future__ import annotations

from decimal import Decimal

from polytui.backtest.command import backtest_report
from polytui.config import LoadedConfig
from polytui.settings import Settings


def _faith() -> LoadedConfig:
    settings = Settings()
    settings.strategy.prior_edge, settings.strategy.confidence_z = Decimal("0.2"), Decimal(0)
    return LoadedConfig(settings, None)


def test_the_mempool_source_signals_first_beside_rtds() -> None:
    report = backtest_report(
        _faith(), scenario="demo", scenario_file=None, seed=7, hours=0.2, mempool=True
    )
    latency = report["signal_latency_s"]
    assert 0.6 <= latency["mempool"] <= 0.7, latency  # the pending tx, 0.65 s after the match
    assert latency.get("activity", 0) == 0 or latency["activity"] > latency["mempool"]
    assert report["copies"] > 0


def test_without_the_flag_the_backtest_has_no_mempool_source() -> None:
    report = backtest_report(_faith(), scenario="demo", scenario_file=None, seed=7, hours=0.1)
    assert "mempool" not in report["signal_latency_s"]
