"""Builds the advisors for an engine: panel, review hook, health rows, the daily ledger."""

from __future__ import annotations

from typing import Any

from polytui.advisors.panel import AdvisorPanel
from polytui.advisors.second_opinion import SecondOpinions
from polytui.clock import Clock
from polytui.model import FeedStatus
from polytui.settings import Settings


class AdvisorHealth:
    """One advisor as a row of the health pane (the engine treats it as a feed)."""

    def __init__(self, panel: AdvisorPanel, index: int) -> None:
        self.panel = panel
        self.index = index

    async def run(self) -> None:
        """Nothing runs: the advisor is asked per intent."""

    async def stop(self) -> None:
        """The review hook closes the clients."""

    def status(self) -> FeedStatus:
        """This advisor's counters."""
        return self.panel.statuses()[self.index]


def build_advisors(
    settings: Settings, journal: Any, clock: Clock, clients: dict[str, Any] | None = None
) -> tuple[SecondOpinions | None, dict[str, AdvisorHealth]]:
    """The engine's second opinions when ``[advisors]`` is on, and their health rows by name
    (``clients`` replace the SDKs: the backtest's recorded answers). (None, {}) when off."""
    advisors = settings.advisors
    if not advisors.enabled or not advisors.entries:
        return None, {}

    def sink(kind: str, ref: str, payload: dict[str, Any]) -> None:
        journal.append(kind, payload, ref=ref)

    panel = AdvisorPanel(advisors, sink=sink, clock=clock, clients=clients)
    panel.restore_ledger(journal)

    def profile(wallet: str) -> Any:
        from polytui.whales.profile import WalletProfile

        raw = journal.wallet_profiles().get(wallet)
        return None if raw is None else WalletProfile.from_record(raw)

    rows = {
        f"advisor {advisor.label}": AdvisorHealth(panel, i)
        for i, advisor in enumerate(panel.advisors)
    }
    return SecondOpinions(panel, advisors, profiles=profile), rows
