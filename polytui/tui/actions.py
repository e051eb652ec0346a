"""The console's operator actions: commands to the engine, their toasts, and the dialogs.

:class:`ConsoleActions` is the base of the app; it holds what a key does (pause, approve,
reject, kill, close, quit, the detail dialogs) while polytui.tui.app lays out the panes and
pumps events. Every command goes to the engine through :class:`polytui.api.EngineAPI`.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual.app import App
from textual.binding import Binding
from textual.notifications import SeverityLevel
from textual.worker import Worker

from polytui.api import EngineAPI
from polytui.clock import Clock
from polytui.model import CommandResult, TradeIntent
from polytui.tui import fmt
from polytui.tui.approvals import ttl_s
from polytui.tui.arm import ApprovalArm
from polytui.tui.details import feed_lines, intent_lines, position_lines, signal_lines
from polytui.tui.modals import ApprovalDialog, ConfirmModal, DetailModal, HelpScreen
from polytui.tui.pane import Pane
from polytui.tui.signals import SignalsPane
from polytui.tui.state import ConsoleState

if TYPE_CHECKING:
    from polytui.tui.whales import Progress, WhaleRow, WhalesBackend

log = logging.getLogger(__name__)

# How long quitting waits for a hosted engine to stop cleanly before cancelling it.
SHUTDOWN_S = 5.0
# Toast titles for the engine's command names.
TITLES = {
    "approve": "Approve",
    "reject": "Reject",
    "pause": "Pause",
    "resume": "Resume",
    "kill": "Kill switch",
    "close_position": "Close position",
}
# RiskGuard's names for the limits that can cut a trade, as the Risk pane names them.
LIMIT_NAMES = {
    "max_market_exposure_usd": "market exposure",
    "max_total_exposure_usd": "total exposure",
    "cash": "cash",
}


class FixedWatchList:
    """A Whales backend whose watch list cannot change: rows and refresh as ``inner``, while
    add and remove answer ``why`` (the demo watches the simulator's wallets, and must never
    write the trader's config.toml)."""

    def __init__(self, inner: WhalesBackend, why: str) -> None:
        self.inner = inner
        self.why = why
        self.latency_s = inner.latency_s

    def rows(self) -> list[WhaleRow]:
        """The inner backend's rows."""
        return self.inner.rows()

    async def refresh(self, wallet: str, progress: Progress) -> str:
        """The inner backend's refresh."""
        return await self.inner.refresh(wallet, progress)

    def add(self, wallet: str, alias: str, policy: str | None) -> str:
        """Refused: the list is fixed."""
        return self.why

    def remove(self, wallet: str) -> str:
        """Refused: the list is fixed."""
        return self.why


@dataclass(frozen=True, slots=True)
class Sent:
    """What a command was about, so its toast can name the market and spot a cut size."""

    intent: TradeIntent | None = None


class ConsoleActions(App[int]):
    """The keys' actions, independent of the layout (see :class:`polytui.tui.app.PolytuiApp`)."""

    engine: EngineAPI
    state: ConsoleState
    clock: Clock
    arm: ApprovalArm
    aliases: dict[str, str]
    active_pane: str
    hosted: bool
    whales: WhalesBackend | None

    def pane(self, name: str) -> Pane:
        """One pane by name (``signals``, ``approvals``, ``positions``, ...)."""
        return self.query_one(f"#{name}", Pane)

    def pump_now(self) -> None:
        """Apply pending events now (the app implements it)."""
        raise NotImplementedError

    def log_line(self, level: str, message: str, component: str = "console") -> None:
        """Write one line to the log pane (the app implements it)."""
        raise NotImplementedError

    # --- commands -----------------------------------------------------------------------------

    def send(self, name: str, **args: Any) -> Worker[CommandResult]:
        """Send one command to the engine in a worker; the answer becomes a toast."""
        intent = self.state.intents.get(str(args.get("intent_id", "")))
        return self.run_worker(
            self._command(name, args, Sent(intent)), name=f"command:{name}", group="commands",
            exit_on_error=False,
        )  # fmt: skip

    async def _command(self, name: str, args: dict[str, Any], sent: Sent) -> CommandResult:
        try:
            result = await self.engine.command(name, **args)
        except Exception as exc:  # the engine answers bad input itself; this is a lost link
            log.exception("command %s failed", name)
            result = CommandResult(False, f"{name} failed: {exc}")
        # Show the command's effect now rather than at the next batch: the operator is watching.
        self.pump_now()
        message = self._describe(name, result, sent)
        title = TITLES.get(name, name)
        severity: SeverityLevel = "information" if result.ok else "error"
        self.notify(message, title=title, severity=severity, markup=False)  # [x, y] is text
        self.log_line("info" if result.ok else "error", f"{title.lower()}: {message}")
        return result

    def _describe(self, name: str, result: CommandResult, sent: Sent) -> str:
        """The engine's answer in a trader's words: which trade, and whether it was cut."""
        intent = sent.intent
        if intent is None:
            return result.message
        what = f"{intent.side.value} {intent.outcome} in {fmt.clip(intent.market_question, 40)}"
        if name != "approve" or not result.ok:
            return f"{result.message} · {what}"
        done = self.state.decided.get(intent.id)
        if done is None or done.shares >= intent.shares:
            return f"approved {fmt.shares(intent.shares)} shares · {what}"
        return (
            f"approved {fmt.shares(done.shares)} of {fmt.shares(intent.shares)} shares"
            f"{self._cut_by(done.reason)} · {what}"
        )

    def _cut_by(self, reason: str) -> str:
        """`` (market exposure $50.00 cap)`` from RiskGuard's "reduced ... by <limit>"."""
        key = reason.rsplit(" by ", 1)[-1].strip() if " by " in reason else ""
        name = LIMIT_NAMES.get(key, key)
        if not name:
            return ""
        cap = next((lim for lim in self.state.risk.limits if lim.name == name), None)
        return f" ({name} {fmt.money(cap.limit)} cap)" if cap else f" ({name})"

    def action_toggle_pause(self) -> None:
        """Pause new entries, or resume them when paused."""
        self.send("resume" if self.paused else "pause")

    @property
    def paused(self) -> bool:
        """New entries are paused (by the operator or the engine)."""
        return self.state.engine.paused or self.state.risk.paused

    @property
    def killed(self) -> bool:
        """The kill switch is on."""
        return self.state.engine.killed or self.state.risk.killed

    def _selected_intent(self) -> str | None:
        key = self.pane("approvals").selected_key()
        if key is None or key not in self.state.intents:
            self.notify("no pending trade selected", severity="warning")
            return None
        return key

    def action_approve(self) -> None:
        """Approve the selected pending trade (ignored right after a prompt appears)."""
        intent_id = self._selected_intent()
        if intent_id is None:
            return
        if not self.arm.ready():
            self.notify("approval key ignored: a new trade just appeared", severity="warning")
            return
        self._approve(intent_id)

    def _approve(self, intent_id: str) -> None:
        intent = self.state.intents.get(intent_id)
        if intent is not None and ttl_s(intent, self.clock.now()) <= 0:
            self.notify(f"{intent_id} expired: its price is stale", severity="warning")
            return
        self.send("approve", intent_id=intent_id)

    def action_reject(self) -> None:
        """Reject the selected pending trade."""
        intent_id = self._selected_intent()
        if intent_id is not None:
            self.send("reject", intent_id=intent_id)

    def action_kill(self) -> None:
        """Kill switch, after a confirmation that says exactly what it does."""

        def answered(yes: bool | None) -> None:
            if yes:
                self.send("kill")
            else:
                self.notify("kill cancelled")

        pending = len(self.state.intents)
        plural = "s" if pending != 1 else ""
        rejects = f"reject the {pending} pending trade{plural}, " if pending else ""
        message = (
            f"Cancel open orders, {rejects}and stop every new entry until the engine restarts?"
            "\nOpen positions stay open; close them with c."
        )
        self.push_screen(ConfirmModal("Kill switch", message), answered)

    def action_close_position(self) -> None:
        """Close the selected position, after a confirmation with the expected proceeds."""
        token_id = self.pane("positions").selected_key()
        position = next((p for p in self.state.positions if p.token_id == token_id), None)
        if position is None:
            self.notify("no position selected", severity="warning")
            return
        if self.killed:
            self.notify("kill switch is on; no orders are sent", severity="error")
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.send("close_position", token_id=position.token_id)
            else:
                self.notify("close cancelled")

        lines = [f"Sell {fmt.shares(position.shares)} {position.outcome} shares at the market in"]
        lines.append(f"“{position.market_question or position.condition_id}”.")
        if position.mark_price is not None:
            proceeds = position.shares * position.mark_price
            realized = proceeds - position.cost_usd
            lines.append(
                f"Best bid {fmt.price(position.mark_price)}: about {fmt.money(proceeds)} back,"
                f" realized {fmt.signed_money(realized)} before fees."
            )
        self.push_screen(ConfirmModal("Close position", "\n".join(lines)), answered)

    def action_filter(self) -> None:
        """Filter the signals pane."""
        self.set_active("signals")
        self.query_one(SignalsPane).open_filter()

    def set_active(self, name: str) -> None:
        """Make ``name`` the pane the keys act on (the app implements it)."""
        raise NotImplementedError

    def action_help(self) -> None:
        """Show every key."""
        self.push_screen(HelpScreen(self.key_table()))

    def action_hide_keys_panel(self) -> None:
        """Close Textual's Keys side panel (esc, only while it is open)."""
        self.action_hide_help_panel()

    def action_whales(self) -> None:
        """Open the Whales screen: watched wallets and candidates ranked by copy edge."""
        if self.whales is None:
            self.notify("the Whales screen needs a config (run polytui init)", severity="warning")
            return
        from polytui.tui.whales import WhalesScreen

        self.push_screen(WhalesScreen(self.whales))

    def key_table(self) -> list[tuple[str, str, str]]:
        """(key, action name, tooltip) for help and the README, straight from the bindings."""
        keys: list[tuple[str, str, str]] = []
        for binding in self.BINDINGS:
            assert isinstance(binding, Binding)
            if binding.id == "resume":
                continue  # the same key as Pause, listed once
            description, tooltip = binding.description, binding.tooltip
            if binding.id == "pause":
                description, tooltip = "Pause / Resume", "Pause new entries, or resume them"
            keys.append((self.get_key_display(binding), description, tooltip))
        keys.insert(3, ("enter", "Detail", "Open the detail / approval dialog (y / n / esc)"))
        keys.append(("ctrl+p", "Palette", "Command palette: every action by name"))
        return keys

    def palette_commands(self) -> list[tuple[str, str, str]]:
        """(name, action, help) of every console action, for the command palette."""
        commands = [
            (f"{b.description} ({self.get_key_display(b)})", b.action, b.tooltip)
            for b in self.BINDINGS
            if isinstance(b, Binding)
        ]
        commands.append(("Detail (enter)", "open", "Open the detail / approval dialog"))
        return commands

    def action_request_quit(self) -> None:
        """Quit; asks first while live orders are open (attached, quitting only detaches)."""
        if not self.hosted or not self.state.live_orders_open:
            self._quit()
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._quit()

        message = "Live orders are still open. Quit anyway? (the engine stops with the console)"
        self.push_screen(ConfirmModal("Quit", message), answered)

    def _quit(self) -> None:
        self.run_worker(
            self._stop_engine_and_exit(), name="shutdown", group="ui", exit_on_error=False
        )

    async def _stop_engine_and_exit(self) -> None:
        """Ask a hosted engine to stop (in-flight fills finish, the journal flushes), give it
        a few seconds, then cancel whatever still runs and exit. Attached, it only detaches."""
        feeds = [w for w in self.workers if w.group == "feeds" and w.is_running]
        if feeds and self.hosted:
            self.notify("stopping the engine…")
            try:
                await self.engine.stop()
                await asyncio.wait_for(self.workers.wait_for_complete(feeds), SHUTDOWN_S)
            except (TimeoutError, Exception):  # quitting must always work
                log.warning("engine did not stop within %.0f s; cancelling", SHUTDOWN_S)
        self.workers.cancel_group(self, "feeds")
        self.exit(0)

    # --- dialogs ------------------------------------------------------------------------------

    def on_pane_opened(self, event: Pane.Opened) -> None:
        self.open_detail(event.pane, event.key)

    def action_open(self) -> None:
        """Open the detail / approval dialog of the active pane's selected row."""
        key = self.pane(self.active_pane).selected_key()
        if key is not None:
            self.open_detail(self.active_pane, key)

    def open_detail(self, pane: str, key: str) -> None:
        """The approval dialog for a pending trade, a read-only detail for anything else."""
        now = self.clock.now()
        if pane == "approvals" and key in self.state.intents:
            self._open_approval(self.state.intents[key])
        elif pane == "signals" and key in self.state.signals:
            signal = self.state.signals[key]
            self.push_screen(DetailModal("Signal", signal_lines(signal, self.aliases)))
        elif pane == "positions":
            position = next((p for p in self.state.positions if p.token_id == key), None)
            if position is not None:
                self.push_screen(DetailModal("Position", position_lines(position, now)))
        elif pane == "health":
            feed = next((f for f in self.state.feeds if f.name == key), None)
            if feed is not None:
                self.push_screen(DetailModal(f"Feed {feed.name}", feed_lines(feed)))

    def _open_approval(self, intent: TradeIntent) -> None:
        def decided(approve: bool | None) -> None:
            if approve:
                self._approve(intent.id)
            elif approve is False:
                self.send("reject", intent_id=intent.id)
            # None: closed with esc, nothing decided

        title = f"Approve {intent.side.value} {intent.outcome}?"
        signal = self.state.signals.get(intent.signal_id)
        if signal is not None and signal.pending_tx:
            title += " (whale trade not yet mined)"
        lines = intent_lines(intent, self.state, self.clock.now(), self.aliases)
        self.push_screen(ApprovalDialog(title, lines, self.arm), decided)
