"""The demo says on screen what its settings do that a real configuration must not."""

from __future__ import annotations

from decimal import Decimal

from polytui.config import LoadedConfig
from polytui.demo import DEMO_FAITH, demo_environment
from polytui.settings import Settings
from polytui.tui.app import NO_WALLETS_HINT, first_run_hints


def test_the_demo_names_its_faith_in_unknown_wallets_and_a_real_config_does_not() -> None:
    with demo_environment() as loaded:
        hints = first_run_hints(loaded, demo=True)
        faith = loaded.settings.strategy.prior_edge
    assert hints == (DEMO_FAITH,)
    assert faith > 0 and f"prior_edge {faith}" in DEMO_FAITH
    real = first_run_hints(LoadedConfig(Settings(), None), demo=False)
    assert real == (NO_WALLETS_HINT,)
    assert Settings().strategy.prior_edge == Decimal(0)
