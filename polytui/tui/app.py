"""The console app: hosts the engine as a worker, renders its events, sends operator commands.

It talks to the engine only through :class:`polytui.api.EngineAPI` (snapshot, a bounded
subscription, commands), so it is the same app whether it hosts the engine or is attached to a
daemon. Panes live in their own modules; this one wires them, the keys and the event pump.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container
from textual.screen import ModalScreen
from textual.widgets import Footer, Static
from textual.worker import Worker, WorkerState

from polytui.api import EngineAPI
from polytui.bus import Subscription
from polytui.clock import Clock, SystemClock
from polytui.model import CommandResult
from polytui.tui.approvals import ApprovalsPane, ttl_s
from polytui.tui.arm import ApprovalArm
from polytui.tui.commands import ConsoleCommands
from polytui.tui.details import feed_lines, intent_lines, position_lines, signal_lines
from polytui.tui.header import StatusBar
from polytui.tui.health import STALE_AFTER_S, HealthPane
from polytui.tui.logpane import LogPane
from polytui.tui.modals import ApprovalDialog, ConfirmModal, DetailModal, HelpScreen
from polytui.tui.pane import Pane
from polytui.tui.pnl import PnLPane
from polytui.tui.positions import PositionsPane
from polytui.tui.risk import RiskPane
from polytui.tui.signals import SignalsPane
from polytui.tui.state import Changes, ConsoleState

log = logging.getLogger(__name__)

# Below this width the console shows one pane at a time with fewer columns.
COMPACT_WIDTH = 120
# Batches are applied at most this often (~10 redraws a second); events coalesce meanwhile.
REFRESH_S = 0.1
# Panes with big tables redraw at most this often (seconds); the rest follow every batch.
MIN_REDRAW_S = {"positions": 1.0, "signals": 0.5, "health": 0.5}
# How long quitting waits for a hosted engine to stop cleanly before cancelling it.
SHUTDOWN_S = 5.0
# Countdowns (TTL, resolution, clock) advance on this tick.
TICK_S = 1.0
PANE_ORDER = ("signals", "approvals", "positions", "health", "risk", "pnl")

EngineRunner = Callable[[], Awaitable[None]]


class PolytuiApp(App[int]):
    """Header, six panes, a log and the footer; every key answers with a toast."""

    CSS_PATH = "polytui.tcss"
    TITLE = "polytui"
    COMMANDS = App.COMMANDS | {ConsoleCommands}
    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]] | None] = [
        (0, "-narrow"),
        (COMPACT_WIDTH, "-wide"),
    ]
    VERTICAL_BREAKPOINTS: ClassVar[list[tuple[int, str]] | None] = [(0, "-short"), (44, "-tall")]

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("p", "toggle_pause", "Pause", id="pause", tooltip="Pause / resume new entries"),
        Binding("a", "approve", "Approve", id="approve", tooltip="Approve the selected trade"),
        Binding("x", "reject", "Reject", id="reject", tooltip="Reject the selected trade"),
        Binding("K", "kill", "Kill", id="kill", tooltip="Kill switch: stop all trading"),
        Binding("c", "close_position", "Close", id="close", tooltip="Close selected position"),
        Binding("slash", "filter", "Filter", id="filter", tooltip="Filter whale signals"),
        Binding("question_mark", "help", "Help", id="help", tooltip="Show every key"),
        Binding("q", "request_quit", "Quit", id="quit", tooltip="Quit the console"),
        # Priority so they beat the screen's focus-chain tab; disabled under modals.
        Binding(
            "tab", "next_pane", "Next pane", id="next_pane", show=False, priority=True,
            tooltip="Move to the next pane",
        ),
        Binding(
            "shift+tab", "previous_pane", "Previous pane", id="previous_pane", show=False,
            priority=True, tooltip="Move to the previous pane",
        ),
    ]  # fmt: skip

    CONSOLE_ACTIONS = frozenset(
        {
            *("toggle_pause", "approve", "reject", "kill", "close_position", "filter"),
            *("help", "request_quit", "next_pane", "previous_pane", "open"),
        }
    )

    def __init__(
        self,
        engine: EngineAPI,
        *,
        run_engine: EngineRunner | None = None,
        connect: EngineRunner | None = None,
        clock: Clock | None = None,
        aliases: dict[str, str] | None = None,
        stale_after_s: float = STALE_AFTER_S,
        tick_s: float = TICK_S,
    ) -> None:
        super().__init__()
        self.engine = engine
        self.run_engine = run_engine
        self.connect_engine = connect
        self.clock: Clock = clock or SystemClock()
        self.aliases = dict(aliases or {})
        self.stale_after_s = stale_after_s
        self.tick_s = tick_s
        self.state = ConsoleState()
        self.arm = ApprovalArm(self.clock.monotonic)
        self.active_pane = PANE_ORDER[0]
        self._sub: Subscription | None = None
        self._owed: set[str] = set()
        self._drawn_at: dict[str, float] = {}

    # --- layout -------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        yield Static("", id="pane-tabs")
        with Container(id="panes"):
            yield SignalsPane(aliases=self.aliases)
            yield ApprovalsPane(id="approvals")
            yield PositionsPane(id="positions")
            yield HealthPane(stale_after_s=self.stale_after_s)
            yield RiskPane(id="risk")
            yield PnLPane(id="pnl")
            yield LogPane(id="log")
        yield Footer()

    def pane(self, name: str) -> Pane:
        """One pane by name (``signals``, ``approvals``, ``positions``, ...)."""
        return self.query_one(f"#{name}", Pane)

    async def on_mount(self) -> None:
        if self.connect_engine is not None:
            await self.connect_engine()
        # Subscribe before the snapshot so nothing published in between is lost; replaying an
        # event the snapshot already holds is harmless (every update is keyed).
        self._sub = self.engine.subscribe(maxsize=10_000)
        self._apply(self.state.load(self.engine.snapshot()))
        self._set_active(PANE_ORDER[0])
        self.run_worker(self._pump(), name="events", group="ui", exit_on_error=False)
        # The engine starts after the first frame is painted: opening the feeds imports web3
        # and connects, which would otherwise hold the first frame back.
        self.call_after_refresh(self._start_engine)
        self.set_interval(self.tick_s, self.tick)
        self.log_line("info", f"console started ({self.state.engine.mode} mode)")

    def _start_engine(self) -> None:
        if self.run_engine is not None:
            self.run_worker(self.run_engine, name="engine", group="feeds", exit_on_error=False)

    def on_unmount(self) -> None:
        if self._sub is not None:
            self._sub.close()

    # --- rendering ----------------------------------------------------------------------------

    async def _pump(self) -> None:
        """Drain the subscription in batches, at most ~10 times a second."""
        assert self._sub is not None
        while not self._sub.closed:
            # Wake at the refresh rate while a throttled pane still owes a redraw.
            events = await self._sub.wait(timeout=REFRESH_S if self._owed else 1.0)
            self._apply(self.state.apply(events), throttle=True)
            await asyncio.sleep(REFRESH_S)

    def pump_now(self) -> None:
        """Apply whatever is pending and redraw every owed pane now (after operator commands,
        and in tests and benchmarks)."""
        if self._sub is not None:
            self._apply(self.state.apply(self._sub.drain()))

    def _apply(self, changes: Changes, throttle: bool = False) -> None:
        now = self.clock.now()
        if changes.new_intents:
            self.arm.prompt()
        self._owed |= changes.dirty
        self._owed.discard("log")  # log lines are appended below, never redrawn
        due = self._owed
        if throttle:
            # Big tables (1,000 positions, 500 signals) cost tens of ms to diff and repaint,
            # so they redraw at most every MIN_REDRAW_S; small panes follow every batch.
            wall = time.monotonic()
            due = {
                name
                for name in self._owed
                if wall - self._drawn_at.get(name, 0.0) >= MIN_REDRAW_S.get(name, 0.0)
            }
            for name in due:
                self._drawn_at[name] = wall
        self._owed = self._owed - due
        if due:
            with self.batch_update():
                for name in due:
                    if name == "header":
                        self.query_one(StatusBar).refresh_view(self.state, now)
                    else:
                        self.pane(name).refresh_view(self.state, now)
                if "approvals" in due:
                    self._draw_tabs()
        for notice in changes.notices:
            self.log_line(notice.level, notice.message, notice.component)
            if notice.level in ("warn", "warning", "error"):
                severity = "error" if notice.level == "error" else "warning"
                self.notify(notice.message, severity=severity)

    def tick(self) -> None:
        """Advance countdowns and the clock (every ``tick_s``; tests call it after moving time)."""
        now = self.clock.now()
        with self.batch_update():
            self.query_one(StatusBar).refresh_view(self.state, now)
            for name in ("approvals", "positions"):
                self.pane(name).refresh_view(self.state, now)
                self._owed.discard(name)

    def _draw_tabs(self) -> None:
        tabs = Text()
        for name in PANE_ORDER:
            title = self.pane(name).TITLE
            if name == "approvals" and self.state.intents:
                title += f" ({len(self.state.intents)})"
            tabs.append(f" {title} ", style="reverse" if name == self.active_pane else "")
        tabs_line = self.query_one("#pane-tabs", Static)
        if tabs.plain != getattr(self, "_tabs_plain", None) or self.active_pane != getattr(
            self, "_tabs_active", None
        ):
            self._tabs_plain, self._tabs_active = tabs.plain, self.active_pane
            tabs_line.update(tabs)

    def log_line(self, level: str, message: str, component: str = "console") -> None:
        """Write one line to the log pane."""
        self.query_one(LogPane).write(self.clock.now(), level, message, component)

    # --- panes and focus ----------------------------------------------------------------------

    def _set_active(self, name: str) -> None:
        self.active_pane = name
        for pane_name in PANE_ORDER:
            self.pane(pane_name).set_class(pane_name == name, "-active")
        self.pane(name).focus_target().focus()
        self._draw_tabs()

    def action_next_pane(self) -> None:
        """Move to the next pane (tab)."""
        index = PANE_ORDER.index(self.active_pane)
        self._set_active(PANE_ORDER[(index + 1) % len(PANE_ORDER)])

    def action_previous_pane(self) -> None:
        """Move to the previous pane (shift+tab)."""
        index = PANE_ORDER.index(self.active_pane)
        self._set_active(PANE_ORDER[(index - 1) % len(PANE_ORDER)])

    def on_descendant_focus(self) -> None:
        # A click focuses a pane directly: make it the active one.
        focused = self.focused
        for name in PANE_ORDER:
            pane = self.pane(name)
            if focused is not None and (focused is pane or pane in focused.ancestors):
                if name != self.active_pane:
                    self.active_pane = name
                    for other in PANE_ORDER:
                        self.pane(other).set_class(other == name, "-active")
                    self._draw_tabs()
                return

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Under a dialog, console keys belong to the dialog (tab moves inside it, etc.).
        return not (action in self.CONSOLE_ACTIONS and isinstance(self.screen, ModalScreen))

    # --- commands -----------------------------------------------------------------------------

    def send(self, name: str, **args: Any) -> Worker[CommandResult]:
        """Send one command to the engine in a worker; the answer becomes a toast."""
        return self.run_worker(
            self._command(name, args), name=f"command:{name}", group="commands",
            exit_on_error=False,
        )  # fmt: skip

    async def _command(self, name: str, args: dict[str, Any]) -> CommandResult:
        try:
            result = await self.engine.command(name, **args)
        except Exception as exc:  # the engine answers bad input itself; this is a lost link
            log.exception("command %s failed", name)
            result = CommandResult(False, f"{name} failed: {exc}")
        # Show the command's effect now rather than at the next batch: the operator is watching
        # (big tables still wait for their turn, so a key never waits on a 1,000-row diff).
        if self._sub is not None:
            self._apply(self.state.apply(self._sub.drain()), throttle=True)
        self.notify(result.message, title=name, severity="information" if result.ok else "error")
        self.log_line("info" if result.ok else "error", f"{name}: {result.message}")
        return result

    def action_toggle_pause(self) -> None:
        """Pause new entries, or resume them when paused."""
        paused = self.state.engine.paused or self.state.risk.paused
        self.send("resume" if paused else "pause")

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
        """Kill switch, after a confirmation."""

        def answered(yes: bool | None) -> None:
            if yes:
                self.send("kill")
            else:
                self.notify("kill cancelled")

        message = "Cancel open orders and stop every new entry until reset?"
        self.push_screen(ConfirmModal("Kill switch", message), answered)

    def action_close_position(self) -> None:
        """Close the selected position, after a confirmation."""
        token_id = self.pane("positions").selected_key()
        position = next((p for p in self.state.positions if p.token_id == token_id), None)
        if position is None:
            self.notify("no position selected", severity="warning")
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.send("close_position", token_id=position.token_id)
            else:
                self.notify("close cancelled")

        what = f"{position.shares} × {position.outcome} in {position.market_question}"
        self.push_screen(ConfirmModal("Close position", f"Sell {what} at the market?"), answered)

    def action_filter(self) -> None:
        """Filter the signals pane."""
        self._set_active("signals")
        self.query_one(SignalsPane).open_filter()

    def action_help(self) -> None:
        """Show every key."""
        self.push_screen(HelpScreen(self.key_table()))

    def action_request_quit(self) -> None:
        """Quit; asks first while live orders are open (attached, quitting only detaches)."""
        if self.connect_engine is not None or not self.state.live_orders_open:
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
        a few seconds, then cancel whatever still runs and exit."""
        feeds = [w for w in self.workers if w.group == "feeds" and w.is_running]
        stop = getattr(self.engine, "stop", None)
        if feeds and callable(stop):
            self.notify("stopping the engine…")
            try:
                await stop()
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
            intent = self.state.intents[key]

            def decided(approve: bool | None) -> None:
                if approve:
                    self._approve(intent.id)
                else:
                    self.send("reject", intent_id=intent.id)

            title = f"Approve {intent.side.value} {intent.outcome}?"
            dialog = ApprovalDialog(title, intent_lines(intent, self.state, now), self.arm)
            self.push_screen(dialog, decided)
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

    # --- keys, palette, workers ---------------------------------------------------------------

    def key_table(self) -> list[tuple[str, str, str]]:
        """(key, action name, tooltip) for help and the README, straight from the bindings."""
        keys: list[tuple[str, str, str]] = []
        for binding in self.BINDINGS:
            assert isinstance(binding, Binding)
            keys.append((self.get_key_display(binding), binding.description, binding.tooltip))
        keys.insert(3, ("enter", "Detail", "Open the detail / approval dialog (y / n)"))
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

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """One place that turns a failed worker into a toast and a log line."""
        if event.state is not WorkerState.ERROR:
            return
        worker = event.worker
        message = f"{worker.name} stopped: {worker.error!r}"
        log.error(message)
        self.notify(message, severity="error", timeout=10)
        self.log_line("error", message)


def _settings_of(loaded: Any) -> Any:
    return getattr(loaded, "settings", None)


def _app_options(loaded: Any) -> dict[str, Any]:
    settings = _settings_of(loaded)
    if settings is None:
        return {}
    return {
        "aliases": dict(settings.whales.aliases),
        "stale_after_s": float(settings.risk.stale_feed_halt_s),
    }


def run_app(loaded: Any, live: bool, demo: bool = False) -> int:
    """Build the engine from ``loaded`` config and run the console hosting it."""
    from polytui.engine import build_engine

    try:
        engine = build_engine(loaded, live=live, demo=demo)
    except Exception as exc:  # a config the engine refuses: one clear line, no traceback
        log.debug("engine build failed", exc_info=True)
        print(f"polytui: cannot start the engine: {exc}", file=sys.stderr)
        return 1
    app = PolytuiApp(engine, run_engine=engine.run, **_app_options(loaded))
    try:
        app.run()
    finally:
        try:  # flushes, and lets go of the data dir's lock
            engine.journal.close()
        except Exception as exc:
            print(f"polytui: closing the journal failed: {exc}", file=sys.stderr)
    return app.return_code or 0


def run_attach(loaded: Any) -> int:
    """Run the console attached to a running daemon over its control socket."""
    from polytui.control import RemoteEngine, socket_path_for

    remote: Any = RemoteEngine(socket_path_for(_settings_of(loaded)))
    problem = remote.probe()
    if problem:
        print(f"polytui attach: {problem}", file=sys.stderr)
        return 3
    app = PolytuiApp(
        remote,
        run_engine=getattr(remote, "run", None),
        connect=getattr(remote, "connect", None),
        **_app_options(loaded),
    )
    app.run()
    return app.return_code or 0
