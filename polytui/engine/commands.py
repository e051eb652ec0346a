"""The operator's commands (``polytui.api.COMMANDS``), run by the engine that owns the state.

Each command is answered, never raised: bad input gets a ``CommandResult`` that says why. A
flag a command changes is durable before the answer goes back (``StateStore.save_durably``).
The dispatch table is checked against ``COMMANDS`` when it is built, so the two cannot drift.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol

from polytui import datadir, display
from polytui.api import COMMANDS
from polytui.clock import Clock
from polytui.engine.ports import Broker, Journal, Portfolio, Strategy
from polytui.engine.publish import Publisher
from polytui.engine.store import StateStore
from polytui.model import CommandResult, EngineState, Order, SignalStatus
from polytui.settings import Settings
from polytui.strategy.pipeline import Record

log = logging.getLogger(__name__)

Handler = Callable[..., Awaitable[CommandResult]]


class CommandHost(Protocol):
    """What the commands need from the engine they run in."""

    settings: Settings
    mode: str
    journal: Journal
    strategy: Strategy
    broker: Broker
    portfolio: Portfolio
    clock: Clock
    store: StateStore
    publisher: Publisher

    @property
    def state(self) -> EngineState: ...

    async def approve(self, intent_id: str, *, by: str) -> CommandResult: ...

    def start_exit(self, order: Order, why: str) -> None: ...

    def journal_records(self, records: list[Record]) -> None: ...

    def publish_state(self) -> None: ...

    def notice(self, level: str, message: str, component: str = ...) -> None: ...


class Commands:
    """The handlers, by command name."""

    def __init__(self, host: CommandHost) -> None:
        self.host = host
        self.table: dict[str, Handler] = {
            "approve": self.approve,
            "reject": self.reject,
            "pause": self.pause,
            "resume": self.resume,
            "kill": self.kill,
            "close_position": self.close_position,
            "reset_halt": self.reset_halt,
            "status": self.status,
        }
        if set(self.table) != set(COMMANDS):
            raise RuntimeError(f"command table {sorted(self.table)} != {sorted(COMMANDS)}")

    async def run(self, name: str, **args: Any) -> CommandResult:
        """Run one operator command; bad input is answered, never raised."""
        handler = self.table.get(name)
        if handler is None:
            return CommandResult(False, f"unknown command {name!r}")
        try:
            return await handler(**args)
        except TypeError as exc:
            return CommandResult(False, f"{name}: bad arguments ({exc})")

    async def approve(self, intent_id: str) -> CommandResult:
        """Send a pending intent's order."""
        return await self.host.approve(str(intent_id), by="operator")

    async def reject(self, intent_id: str, reason: str = "rejected by operator") -> CommandResult:
        """Drop a pending intent."""
        host = self.host
        outcome = host.strategy.reject(str(intent_id), reason)
        host.journal_records(outcome.journal_records)
        host.store.save()
        if outcome.ok and outcome.intent is not None:
            host.publisher.intent(outcome.intent)
            host.publisher.signal_status(outcome.intent.id, SignalStatus.REJECTED, reason)
        return CommandResult(outcome.ok, outcome.message)

    async def pause(self) -> CommandResult:
        """No new entries until resumed."""
        self.host.strategy.risk.paused = True
        saved = await self.host.store.save_durably()
        self.host.publish_state()
        return CommandResult(True, "paused: no new entries" + saved)

    async def resume(self) -> CommandResult:
        """New entries again (not after the kill switch)."""
        if self.host.strategy.risk.killed:
            return CommandResult(False, "kill switch is on; restart to trade again")
        self.host.strategy.risk.paused = False
        saved = await self.host.store.save_durably()
        self.host.publish_state()
        return CommandResult(True, "resumed" + saved)

    async def kill(self) -> CommandResult:
        """Reject every pending intent, cancel open orders, stay off until a restart."""
        host = self.host
        rejected = host.strategy.kill(host.clock.now())
        host.journal_records(rejected.journal_records)
        for intent in rejected.intents:
            host.publisher.intent(intent)
            host.publisher.signal_status(intent.id, SignalStatus.REJECTED, "kill switch")
        cancelled = await self._cancel_open_orders()
        # Durable before it is acknowledged: in the journal, or else as a marker file that
        # needs no disk space, so a restart comes back paused either way.
        saved = await host.store.save_durably()
        folder = Path(host.journal.path).parent
        if saved and datadir.write_marker(folder):
            saved = f" (the journal cannot be written; saved as {folder / datadir.KILL_MARKER})"
        elif saved:
            host.publish_state()
            return CommandResult(
                False, f"kill switch on in memory but NOT saved{saved}; a restart would trade"
            )
        host.publish_state()
        return CommandResult(
            True, f"kill switch on: {len(rejected.intents)} pending rejected{cancelled}{saved}"
        )

    async def _cancel_open_orders(self) -> str:
        try:
            count = await self.host.broker.cancel_all()
        except Exception as exc:  # the switch stays on even when the exchange does not answer
            log.exception("cancel-all failed")
            self.host.notice("error", f"kill switch: cancelling open orders failed ({exc})")
            return ", cancelling open orders FAILED"
        return f", {count} open order(s) cancelled" if count else ""

    async def reset_halt(self) -> CommandResult:
        """Lift the daily-loss halt."""
        self.host.strategy.risk.reset_halt()
        await self.host.store.save_durably()
        self.host.publish_state()
        return CommandResult(True, "daily-loss halt reset")

    async def close_position(self, token_id: str) -> CommandResult:
        """Sell a whole position at the market."""
        host = self.host
        order = host.portfolio.close_position(str(token_id), host.clock.now())
        if order is None:
            return CommandResult(False, f"no open position in {token_id}")
        if host.strategy.risk.killed:
            return CommandResult(False, "kill switch is on; no orders are sent")
        host.start_exit(order, "closed by operator")
        return CommandResult(True, f"closing {display.shares(order.shares)} shares")

    async def status(self) -> CommandResult:
        """Mode, equity, cash, flags and the settings a reload changes, as they run now."""
        from polytui.config import settings_to_dict

        host = self.host
        pnl = host.portfolio.pnl()
        running = settings_to_dict(host.settings)
        return CommandResult(
            True,
            f"{host.mode}: equity {display.money(pnl.equity_usd)}, "
            f"cash {display.money(pnl.cash_usd)}",
            {
                "mode": host.mode,
                "paused": host.state.paused,
                "halted": host.state.halted,
                "settings": {k: running[k] for k in ("strategy", "risk", "approval")},
            },
        )
