"""The engine's saved state: strategy and portfolio, into the journal, and back at start.

The journal's events remain the record; this is the state a restart resumes from (queue,
scores, flags, positions). Operator commands that change a flag wait until it is durable, and
those answered in one turn of the loop share one fsync.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

from polytui import datadir
from polytui.engine.ports import Journal, Portfolio, Strategy


class StateStore:
    """Saves and restores the strategy's and the portfolio's state."""

    def __init__(self, journal: Journal, strategy: Strategy, portfolio: Portfolio) -> None:
        self.journal = journal
        self.strategy = strategy
        self.portfolio = portfolio
        self._group_commit: asyncio.Future[bool] | None = None
        self._due = False  # a save waits for the next tick (save_soon)
        self._announced_fault = ""  # the journal's last write failure, as last announced

    def fault(self) -> str:
        """Why the journal cannot be written now ("" while it can): new entries halt."""
        return str(self.journal.fault or "")

    def save(self) -> bool:
        """Save strategy and portfolio state with the journal's next commit."""
        self._stage()
        return self.journal.flush()

    def save_soon(self) -> None:
        """Save with the next tick (``save_due``), once for every change made meanwhile: a
        burst of decisions never queues behind one commit each."""
        self._due = True

    def save_due(self) -> None:
        """Stage what ``save_soon`` asked for (the tick's flush commits it)."""
        if self._due:
            self._stage()

    async def save_durably(self) -> str:
        """Save before a command is answered: "" when durable, else why not.

        Group commit: the commands answered in one turn of the loop share one fsync, and each
        waits for it without holding the loop, so a flood of pause/resume lines neither costs
        one synchronous fsync apiece in a row nor starves the other clients meanwhile.
        """
        self._stage()
        if self._group_commit is None:
            future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
            self._group_commit = future
            asyncio.get_running_loop().call_soon(self._commit_group, future)
        if await asyncio.shield(self._group_commit) is False:
            return f" (not saved: {self.fault()}; retried every second)"
        return ""

    def _stage(self) -> None:
        self._due = False
        self.journal.set_state("strategy", self.strategy.export_state())
        self.journal.set_state("portfolio", self.portfolio.export_state())

    def _commit_group(self, future: asyncio.Future[bool]) -> None:
        self._group_commit = None
        try:
            durable = self.journal.flush(force=True) is not False
        except Exception as exc:  # a bug in the journal must answer the commands, not hang them
            future.set_exception(exc)
            return
        future.set_result(durable)

    def record_equity(self, now: datetime) -> None:
        """Snapshot equity and cash (the equity curve), and take the day's backup if due."""
        self.portfolio.record_equity()
        pnl = self.portfolio.pnl()
        self.journal.record_equity(now, pnl.equity_usd, pnl.cash_usd)
        self.journal.maybe_daily_backup(now)

    def restore(self, now: datetime) -> str:
        """Resume queue, scores, flags and positions saved by the previous run; returns a
        warning for the operator ("" when none)."""
        strategy_state = self.journal.get_state("strategy")
        if strategy_state:
            self.strategy.restore_state(strategy_state, now)
        portfolio_state = self.journal.get_state("portfolio")
        if portfolio_state:
            self.portfolio.restore_state(portfolio_state)
        folder = Path(self.journal.path or ".").parent
        if not (self.journal.path and datadir.marker_present(folder)):
            return ""
        # A kill acknowledged while the journal could not be written: come back paused.
        self.strategy.risk.paused = True
        if self.save() is not False:
            datadir.clear_marker(folder)
        return "the kill switch was on when the journal failed: paused"

    def fault_changed(self) -> str | None:
        """The journal's fault when it changed since the last call ("" once it clears), else
        None. Once writes work again with a flag on, its fallback (the kill marker) goes."""
        fault = self.fault()
        if fault == self._announced_fault:
            return None
        self._announced_fault = fault
        if not fault and (self.strategy.risk.killed or self.strategy.risk.paused):
            datadir.clear_marker(Path(self.journal.path).parent)
        return fault
