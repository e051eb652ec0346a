"""What the entry and reconsider steps read from the strategy facade, as a Protocol.

``entry_intent`` and ``reconsider`` take the ``Strategy`` they serve; naming its type directly
would make them import ``pipeline``, which imports them (a cycle even when the import is only
for type checking). They depend on this instead, and ``Strategy`` satisfies it by shape.
"""

from __future__ import annotations

from typing import Protocol

from polytui.clock import Clock
from polytui.model import Market
from polytui.settings import Settings
from polytui.strategy.approvals import ApprovalQueue
from polytui.strategy.capital import Capital
from polytui.strategy.risk import RiskGuard
from polytui.strategy.scoring import WalletScorer


class StrategyParts(Protocol):
    """The strategy's settings, clock and parts, and the two lookups the steps ask it for."""

    settings: Settings
    clock: Clock
    approvals: ApprovalQueue
    capital: Capital
    risk: RiskGuard
    scorer: WalletScorer

    def watches(self, wallet: str) -> bool:
        """Whether ``wallet`` is on the watch list."""
        ...

    def market_of(self, intent_id: str) -> Market | None:
        """The market a pending intent was sized in (None when unknown)."""
        ...
