"""A market's result, applied once: positions paid, wallets scored, books released.

The WebSocket, the resolver and a restart may all report the same result; the first one
settles and the rest are counted. Run by the engine's single writer (from its inbox), so
the portfolio, the strategy and the journal change together, in one transaction.
"""

from __future__ import annotations

from polytui import display
from polytui.clock import Clock
from polytui.engine.interest import Interest
from polytui.engine.ports import Books, Journal, Portfolio, Strategy
from polytui.engine.publish import Publisher
from polytui.engine.store import StateStore
from polytui.engine.supervisor import FeedSupervisor
from polytui.model import Resolution


class Settlement:
    """Applies each market's result once."""

    def __init__(
        self,
        *,
        journal: Journal,
        portfolio: Portfolio,
        strategy: Strategy,
        books: Books,
        clock: Clock,
        interest: Interest,
        store: StateStore,
        supervisor: FeedSupervisor,
        publisher: Publisher,
    ) -> None:
        self.journal = journal
        self.portfolio = portfolio
        self.strategy = strategy
        self.books = books
        self.clock = clock
        self.interest = interest
        self.store = store
        self.supervisor = supervisor
        self.publisher = publisher
        self.repeated = 0  # results reported again after the first

    def apply(self, resolution: Resolution) -> None:
        """Settle positions and score wallets once per market, whichever source spoke first."""
        condition_id = resolution.condition_id
        if condition_id in self.interest.settled:
            self.repeated += 1
            return
        self.interest.settled.add(condition_id)
        winning_token_id = resolution.winning_token_id
        at = resolution.at or self.clock.now()
        pays = resolution.payout
        held = {
            p.token_id: p
            for p in self.portfolio.positions_by_resolution(at)
            if p.condition_id == condition_id
        }
        settled = self.portfolio.settle(condition_id, winning_token_id, pays)
        records = self.strategy.on_market_resolved(condition_id, winning_token_id, at, pays)
        if settled:
            text = display.settlement_text(resolution, held, settled)
            self.publisher.notice("info", text, "settlement")
        self.journal.append(
            "settlement",
            {
                "condition_id": condition_id,
                "winning_token_id": winning_token_id,
                "at": at.isoformat(),
                "source": resolution.source,
                "payouts": {token: str(value) for token, value in resolution.payouts},
                "positions": settled,
            },
            ref=condition_id,
            durable=True,
        )
        for kind, ref, payload in records:
            self.journal.append(kind, payload, ref=ref)
        self.store.save()
        self._release_books(resolution)
        self.publisher.market_resolved(condition_id, winning_token_id, at)
        self.publisher.portfolio_changed()

    def _release_books(self, resolution: Resolution) -> None:
        """A settled market's books are not needed any more."""
        if self.supervisor.channel is None:
            return
        tokens = {token for token, _value in resolution.payouts}
        for token in self.books.tokens():
            book = self.books.get(token)
            if book is not None and book.condition_id == resolution.condition_id:
                tokens.add(token)
        self.supervisor.unwatch(sorted(tokens))
