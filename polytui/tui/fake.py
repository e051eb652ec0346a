"""An in-memory EngineAPI for tests, screenshots and benchmarks of the console.

It holds hand-built domain objects, publishes on a real :class:`polytui.bus.EventBus`, records
every command it receives and answers them the way the engine does (pause and kill change the
risk flags, approve/reject move an intent out of the queue, close removes a position), so a
test can check that a key press reached the engine and that its effect came back on screen.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

from polytui import events as ev
from polytui.bus import EventBus, Subscription
from polytui.clock import Clock, FakeClock
from polytui.model import (
    CommandResult,
    EngineState,
    FeedStatus,
    IntentStatus,
    PnLSnapshot,
    Position,
    RiskSnapshot,
    Signal,
    SignalStatus,
    TradeIntent,
)
from polytui.tui.state import EMPTY_PNL


class FakeEngine:
    """EngineAPI over hand-built state; ``commands`` lists every (name, args) received."""

    def __init__(self, clock: Clock | None = None, *, mode: str = "paper", demo: bool = False):
        self.clock: Clock = clock or FakeClock()
        self.bus = EventBus()
        self.state = EngineState(mode=mode, demo=demo)
        self.signals: dict[str, Signal] = {}
        self.intents: dict[str, TradeIntent] = {}
        self.positions: list[Position] = []
        self.pnl: PnLSnapshot = EMPTY_PNL
        self.feeds: tuple[FeedStatus, ...] = ()
        self.risk = RiskSnapshot(limits=())
        self.commands: list[tuple[str, dict[str, Any]]] = []
        self.stopped = False
        # (shares, limit key): approvals above this size are cut the way RiskGuard cuts them.
        self.share_cap: tuple[Decimal, str] | None = None

    # --- EngineAPI ----------------------------------------------------------------------------

    def snapshot(self) -> ev.Snapshot:
        """Everything current, like the engine's snapshot."""
        return ev.Snapshot(
            state=self.state,
            positions=tuple(self.positions),
            intents=tuple(i for i in self.intents.values() if i.status is IntentStatus.PENDING),
            signals=tuple(self.signals.values()),
            pnl=self.pnl,
            feeds=self.feeds,
            risk=self.risk,
        )

    def subscribe(self, maxsize: int = 10_000) -> Subscription:
        """A real bounded bus subscription."""
        return self.bus.subscribe(maxsize)

    async def command(self, name: str, **args: Any) -> CommandResult:
        """Record the command and apply its effect; unknown names are answered, not raised."""
        self.commands.append((name, dict(args)))
        handler = getattr(self, f"_cmd_{name}", None)
        if handler is None:
            return CommandResult(False, f"unknown command {name!r}")
        result: CommandResult = handler(**args)
        return result

    async def stop(self) -> None:
        """Record that the console asked the engine to stop."""
        self.stopped = True

    def command_names(self) -> list[str]:
        """Names of the commands received, in order."""
        return [name for name, _ in self.commands]

    # --- commands -----------------------------------------------------------------------------

    def _flags(self, **flags: Any) -> None:
        self.state = replace(self.state, **flags)
        risk_flags = {k: v for k, v in flags.items() if k in ("paused", "killed", "halted")}
        self.risk = replace(self.risk, **risk_flags)
        self.bus.publish(ev.EngineStateChanged(self.state))
        self.bus.publish(ev.RiskChanged(self.risk))

    def _cmd_pause(self) -> CommandResult:
        self._flags(paused=True)
        return CommandResult(True, "new entries paused")

    def _cmd_resume(self) -> CommandResult:
        if self.state.killed:
            return CommandResult(False, "killed: reset before resuming")
        self._flags(paused=False)
        return CommandResult(True, "new entries resumed")

    def _cmd_kill(self) -> CommandResult:
        self._flags(killed=True, paused=True)
        for intent in list(self.intents.values()):
            if intent.status is IntentStatus.PENDING:
                self._decide(intent.id, IntentStatus.REJECTED, "kill switch")
        return CommandResult(True, "kill switch engaged: all entries stopped")

    def _cmd_reset_halt(self) -> CommandResult:
        self._flags(halted=False, halt_reason="")
        return CommandResult(True, "halt reset")

    def _cmd_status(self) -> CommandResult:
        return CommandResult(True, f"{self.state.mode}: {len(self.positions)} positions")

    def _cmd_approve(self, intent_id: str) -> CommandResult:
        intent = self.intents.get(intent_id)
        if intent is None or intent.status is not IntentStatus.PENDING:
            return CommandResult(False, f"no pending trade {intent_id}")
        shares, reason = intent.shares, "approved by operator"
        if self.share_cap is not None and intent.shares > self.share_cap[0]:
            shares = self.share_cap[0]
            reason = f"reduced to {shares} shares by {self.share_cap[1]}"
        self._decide(intent_id, IntentStatus.APPROVED, reason, shares)
        return CommandResult(True, f"approved {intent_id}: {shares} shares")

    def _cmd_reject(self, intent_id: str) -> CommandResult:
        intent = self.intents.get(intent_id)
        if intent is None or intent.status is not IntentStatus.PENDING:
            return CommandResult(False, f"no pending trade {intent_id}")
        self._decide(intent_id, IntentStatus.REJECTED, "rejected by operator")
        return CommandResult(True, f"rejected {intent_id}")

    def _cmd_close_position(self, token_id: str) -> CommandResult:
        before = len(self.positions)
        self.positions = [p for p in self.positions if p.token_id != token_id]
        if len(self.positions) == before:
            return CommandResult(False, f"no position in {token_id}")
        self.bus.publish(ev.PositionsChanged(tuple(self.positions)))
        return CommandResult(True, f"closing {token_id}")

    def _decide(
        self, intent_id: str, status: IntentStatus, reason: str, shares: Decimal | None = None
    ) -> None:
        intent = replace(self.intents[intent_id], status=status, reason=reason)
        if shares is not None:
            intent = replace(intent, shares=shares)
        self.intents[intent_id] = intent
        self.bus.publish(ev.IntentUpdated(intent))
        signal = self.signals.get(intent.signal_id)
        if signal is not None:
            self.put_signal(replace(signal, status=SignalStatus(status.value), reason=reason))

    # --- scenario building (publishes like the engine) ----------------------------------------

    def put_signal(self, signal: Signal) -> None:
        """Add or update a signal."""
        self.signals[signal.id] = signal
        self.bus.publish(ev.SignalUpdated(signal))

    def put_intent(self, intent: TradeIntent) -> None:
        """Add or update an intent."""
        self.intents[intent.id] = intent
        self.bus.publish(ev.IntentUpdated(intent))

    def set_positions(self, positions: list[Position]) -> None:
        """Replace the open positions."""
        self.positions = list(positions)
        self.bus.publish(ev.PositionsChanged(tuple(self.positions)))

    def set_pnl(self, pnl: PnLSnapshot) -> None:
        """Replace the P&L totals."""
        self.pnl = pnl
        self.bus.publish(ev.PnLChanged(pnl))

    def set_feeds(self, feeds: tuple[FeedStatus, ...]) -> None:
        """Replace the feed counters."""
        self.feeds = tuple(feeds)
        self.bus.publish(ev.FeedStatusChanged(self.feeds))

    def set_risk(self, risk: RiskSnapshot) -> None:
        """Replace the risk snapshot."""
        self.risk = risk
        self.bus.publish(ev.RiskChanged(risk))

    def set_state(self, **flags: Any) -> None:
        """Change engine flags (mode, paused, halted...)."""
        self._flags(**flags)

    def notice(self, level: str, message: str) -> None:
        """Publish a notice line."""
        self.bus.publish(ev.Notice(level, message))

    def expire_due(self) -> int:
        """Expire pending intents whose TTL has passed, as the approval queue does."""
        now = self.clock.now()
        due = [
            i.id
            for i in self.intents.values()
            if i.status is IntentStatus.PENDING and i.expires_at <= now
        ]
        for intent_id in due:
            self._decide(intent_id, IntentStatus.EXPIRED, "TTL passed")
        return len(due)
