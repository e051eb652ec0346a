"""Puts the advisors into an engine: panel, review hook, health rows, the daily ledger."""

from __future__ import annotations

from typing import Any

from polytui.advisors.panel import AdvisorPanel
from polytui.advisors.second_opinion import SecondOpinions
from polytui.model import FeedStatus


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


def attach_advisors(engine: Any, journal: Any, clients: dict[str, Any] | None = None) -> None:
    """Give ``engine`` its second opinions when ``[advisors]`` is on (``clients`` replace the
    SDKs: the backtest's recorded answers)."""
    settings = engine.settings.advisors
    if not settings.enabled or not settings.entries:
        return

    def sink(kind: str, ref: str, payload: dict[str, Any]) -> None:
        journal.append(kind, payload, ref=ref)

    panel = AdvisorPanel(settings, sink=sink, clock=engine.clock, clients=clients)
    panel.restore_ledger(journal)

    def profile(wallet: str) -> Any:
        from polytui.whales.profile import WalletProfile

        raw = journal.wallet_profiles().get(wallet)
        return None if raw is None else WalletProfile.from_record(raw)

    engine.advisors = SecondOpinions(panel, settings, profiles=profile)
    for i, advisor in enumerate(panel.advisors):
        engine.feeds[f"advisor {advisor.label}"] = AdvisorHealth(panel, i)
