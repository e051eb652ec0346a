"""A second opinion on each pending buy: the engine's one entry point into the advisors.

The engine hands over a pending intent and a callback; the advisors are asked in a background
task (the engine's loop never waits on a model), and after at most ``budget_ms`` the callback
gets a :class:`Review`. The strategy applies it through ``Review.adjust``, the narrow hook: its
own win-probability estimate in, the estimate moved toward the consensus by at most
``max_shift`` out. A review never creates an intent; it is only asked about one that exists.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from polytui.advisors.consensus import Consensus, bounded_estimate, summary
from polytui.advisors.panel import AdvisorPanel
from polytui.model import Market, Side, TradeIntent
from polytui.settings import AdvisorSettings

log = logging.getLogger(__name__)

SYSTEM = (
    "You give a second opinion on one copy trade on Polymarket, a prediction market where a "
    "share of an outcome pays 1 USD if it wins and 0 if it loses. A wallet with the track record "
    "below just bought the outcome named in trade.outcome at trade.whale_price. Answer only with "
    "JSON matching the schema: probability = your probability (0 to 1) that this outcome wins; "
    "confidence = how much your probability should count (0 = a guess, 1 = certain); rationale "
    "= at most three sentences naming the facts you used. Use only the facts given. If they are "
    "not enough to do better than the market price, say so and give a low confidence."
)


@dataclass(frozen=True, slots=True)
class Review:
    """The consensus on one intent and the bound it may move the estimate by."""

    intent_id: str
    consensus: Consensus
    max_shift: Decimal
    max_spread: Decimal

    def adjust(self, estimate: Decimal) -> Decimal:
        """The strategy's estimate moved toward the consensus, within ``max_shift``."""
        return bounded_estimate(estimate, self.consensus, self.max_shift, self.max_spread)

    @property
    def note(self) -> str:
        """The consensus in one line."""
        return summary(self.consensus, self.max_spread)

    def to_record(self) -> dict[str, Any]:
        """The journal's ``advisor_consensus`` payload."""
        c = self.consensus
        return {
            "intent_id": self.intent_id,
            "probability": c.probability,
            "spread": c.spread,
            "asked": c.asked,
            "answered": c.answered,
            "max_shift": self.max_shift,
            "opinions": [
                {
                    "advisor": o.advisor,
                    "weight": o.weight,
                    "probability": o.probability,
                    "confidence": o.confidence,
                    "rationale": o.rationale,
                }
                for o in c.opinions
            ],
            "note": self.note,
        }


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.astimezone(UTC).isoformat(timespec="seconds")


def intent_request(
    intent: TradeIntent, market: Market | None, profile: Any, now: datetime
) -> dict[str, Any]:
    """What an advisor is told about one intent (plain JSON; prices as decimal text)."""
    doc: dict[str, Any] = {
        "now": _iso(now),
        "market": {
            "question": intent.market_question,
            "outcomes": [o.name for o in market.outcomes] if market is not None else [],
            "end_time": _iso(market.end_time) if market is not None else None,
            "tags": list(market.tags) if market is not None else [],
            # Gamma's description: the resolution rules in words.
            "rules": market.description if market is not None else "",
        },
        "trade": {
            "outcome": intent.outcome,
            "side": intent.side.value,
            "whale_price": str(intent.whale_price),
            "our_price": str(intent.sized_price),
            "our_shares": str(intent.shares),
            "strategy_confidence": str(intent.confidence),
        },
        "whale": {"wallet": intent.wallet, "profile": None},
    }
    if profile is not None:
        copy = profile.copy_at(float(profile.copy_latency_s))
        doc["whale"]["profile"] = {
            "settled_bets": profile.resolved,
            "wins": profile.wins,
            "edge_per_share": str(profile.record.edge),
            "edge_se": None if profile.record.se is None else str(profile.record.se),
            "realized_pnl_usd": str(profile.realized_pnl_usd),
            "roi": str(profile.roi),
            "copyable": profile.copyable,
            "why": profile.reason,
            "copy_edge_per_share": None if copy is None else str(copy.stat.edge),
            "playbooks": [p.sentence for p in profile.playbooks],
        }
    return doc


class SecondOpinions:
    """Asks the panel about pending buys and reports back through a callback."""

    def __init__(
        self,
        panel: AdvisorPanel,
        settings: AdvisorSettings,
        *,
        profiles: Callable[[str], Any] | None = None,
    ) -> None:
        self.panel = panel
        self.settings = settings
        self.profiles = profiles or (lambda wallet: None)
        self._tasks: set[asyncio.Task[None]] = set()

    def reload(self, settings: AdvisorSettings) -> str:
        """New budget, bound, spread and caps at once; a changed list of advisors (or their
        endpoints and keys) needs a restart, which the returned note says ("" otherwise)."""
        before = [
            (e.label, e.kind, e.model, e.base_url, e.api_key_env, e.timeout_s)
            for e in self.settings.entries
        ]
        after = [
            (e.label, e.kind, e.model, e.base_url, e.api_key_env, e.timeout_s)
            for e in settings.entries
        ]
        self.settings = settings
        self.panel.settings = settings
        by_label = {e.label: e for e in settings.entries}
        for advisor in self.panel.advisors:  # weights and prices apply at once
            advisor.entry = by_label.get(advisor.label, advisor.entry)
        if before != after:
            return "advisors: changed entries take effect at the next start"
        return ""

    def wants(self, intent: TradeIntent) -> bool:
        """True when this intent gets a second opinion (a buy, advisors on and usable)."""
        return self.settings.enabled and intent.side is Side.BUY and bool(self.panel.usable())

    def request(
        self, intent: TradeIntent, market: Market | None, done: Callable[[Review], None]
    ) -> None:
        """Ask about ``intent`` in the background; ``done`` gets the review within the budget."""
        try:
            profile = self.profiles(intent.wallet.lower())
        except Exception as exc:  # a profile is context, not a requirement
            log.warning("advisors: no profile for %s: %s", intent.wallet, type(exc).__name__)
            profile = None
        now = self.panel.clock.now()
        user = json.dumps(intent_request(intent, market, profile, now), indent=1)
        task = asyncio.create_task(self._ask(intent.id, user, done), name=f"review:{intent.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _ask(self, intent_id: str, user: str, done: Callable[[Review], None]) -> None:
        # Whatever goes wrong here, the engine gets its review: a pending decision never waits
        # on an advisor's bug.
        try:
            consensus = await self.panel.opinions(intent_id, SYSTEM, user)
        except Exception as exc:
            log.warning("advisors: review of %s failed: %s", intent_id, type(exc).__name__)
            consensus = Consensus(0, (), None, None)
        review = Review(intent_id, consensus, self.settings.max_shift, self.settings.max_spread)
        try:
            self.panel.sink("advisor_consensus", intent_id, review.to_record())
        except Exception as exc:
            log.warning("advisors: consensus of %s not journaled: %s", intent_id, exc)
        done(review)

    # The engine runs this as one of its feeds: health rows, and a clean close at shutdown.

    async def run(self) -> None:
        """Nothing to run: requests start per intent."""

    async def stop(self) -> None:
        """Cancel reviews in flight and close the SDK clients."""
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.panel.close()
