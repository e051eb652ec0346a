"""Strategy.reload (the daemon's SIGHUP) applies limits, policy, TTL and whales in place."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from polytui.clock import FakeClock
from polytui.config import apply_overrides
from polytui.settings import Settings
from polytui.strategy.pipeline import Strategy

WALLET = "0x" + "ab" * 20


def test_reload_applies_risk_limits_policy_ttl_and_whales_without_a_new_queue() -> None:
    strategy = Strategy(Settings(), FakeClock())
    queue = strategy.approvals
    new = apply_overrides(
        Settings(),
        {
            "risk": {"max_total_exposure_usd": "321"},
            "approval": {"policy": "auto", "ttl_s": 5.0, "per_wallet": {WALLET: "observe"}},
            "whales": {"wallets": [WALLET]},
        },
    )
    strategy.reload(new)
    assert strategy.approvals is queue  # pending intents survive a reload
    assert strategy.risk.settings.max_total_exposure_usd == Decimal(321)
    assert queue.ttl == timedelta(seconds=5)
    assert queue.policy_for("0x" + "cd" * 20) == "auto"
    assert queue.policy_for(WALLET) == "observe"
