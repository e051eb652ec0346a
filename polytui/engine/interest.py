"""What the engine still needs from the market feeds, asked by the feeds themselves.

The market channel keeps the books in use subscribed whatever their age; the resolver polls the
markets held or watched that have no result yet. Both questions are answered from the
portfolio, the strategy and the order desk, which exist before the feeds do, so ``wiring``
hands these answers to the feeds before the engine is built.
"""

from __future__ import annotations

from polytui.clock import Clock
from polytui.engine.orders import OrderDesk
from polytui.engine.ports import Portfolio, Strategy


class Interest:
    """Books in use and markets awaiting a result; ``settled`` is what settled this run."""

    def __init__(
        self, portfolio: Portfolio, strategy: Strategy, desk: OrderDesk, clock: Clock
    ) -> None:
        self.portfolio = portfolio
        self.strategy = strategy
        self.desk = desk
        self.clock = clock
        # Conditions already settled this run: every source may report the same result.
        self.settled: set[str] = set()

    def book_tokens_in_use(self) -> set[str]:
        """Tokens whose book the engine needs whatever their age: held positions, orders in
        flight and trades awaiting approval (the market channel keeps these subscribed)."""
        now = self.clock.now()
        tokens = {p.token_id for p in self.portfolio.positions_by_resolution(now)}
        tokens.update(buy.token_id for buy in self.desk.pending_buys())
        tokens.update(intent.token_id for intent in self.strategy.approvals.pending())
        return tokens

    def resolution_candidates(self) -> list[tuple[str, str]]:
        """(condition id, a token id) of every market held or watched and not yet settled: what
        the resolver polls once the market is past its end."""
        seen: dict[str, str] = {}
        for position in self.portfolio.positions_by_resolution(self.clock.now()):
            seen.setdefault(position.condition_id, position.token_id)
        for record in self.strategy.scorer.records.values():
            for token, (cid, *_rest) in record.open_buys.items():
                seen.setdefault(cid, token)
        return [(cid, token) for cid, token in seen.items() if cid not in self.settled]
