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
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container
from textual.notifications import SeverityLevel
from textual.widgets import Footer, Static
from textual.worker import Worker, WorkerState

from polytui.api import EngineAPI
from polytui.bus import Subscription
from polytui.clock import Clock, SystemClock
from polytui.model import FeedState
from polytui.tui.actions import ConsoleActions, FixedWatchList
from polytui.tui.approvals import ApprovalsPane
from polytui.tui.arm import ApprovalArm
from polytui.tui.commands import ConsoleCommands
from polytui.tui.header import StatusBar
from polytui.tui.health import STALE_AFTER_S, HealthPane
from polytui.tui.logpane import LogPane
from polytui.tui.pnl import PnLPane
from polytui.tui.positions import PositionsPane
from polytui.tui.risk import RiskPane
from polytui.tui.signals import SignalsPane
from polytui.tui.state import Changes, ConsoleState

if TYPE_CHECKING:
    from polytui.tui.whales import WhalesBackend

log = logging.getLogger(__name__)

# Below this width the console shows one pane at a time with fewer columns.
COMPACT_WIDTH = 120
# Batches are applied at most this often (~10 redraws a second); events coalesce meanwhile.
REFRESH_S = 0.1
# Panes with big tables redraw at most this often (seconds); the rest follow every batch.
MIN_REDRAW_S = {"positions": 1.0, "signals": 0.5, "health": 0.5}
# Countdowns (TTL, resolution, clock) advance on this tick.
TICK_S = 1.0
PANE_ORDER = ("signals", "approvals", "positions", "health", "risk", "pnl")
# Narrower than this, the footer leaves out the palette hint so every key label fits.
FOOTER_PALETTE_MIN = 100
# Narrow but at least this tall, two panes show at once: the signals and the active one.
SPLIT_MIN_HEIGHT = 36
# Tab names when the full ones do not fit on one line.
SHORT_TABS = {"signals": "Signals", "approvals": "Appr", "positions": "Pos", "health": "Health"}
# Narrower than this, the header keeps the mode, today, the engine state and the clock.
HEADER_TINY = 72
# Narrower than this, the footer packs its keys tighter so every label, q Quit last, fits.
FOOTER_COMPACT = 90

# Info notices worth a toast too, by component: a settlement moves realized P&L, and another
# client's command (a pause, an approval) changes what this console shows.
TOASTED = {"settlement": "Market resolved", "control": "Another client"}

EngineRunner = Callable[[], Awaitable[None]]


class PolytuiApp(ConsoleActions):
    """Header, six panes, a log and the footer; every key answers with a toast."""

    CSS_PATH = "polytui.tcss"
    TITLE = "polytui"
    COMMANDS = App.COMMANDS | {ConsoleCommands}
    # Textual annotates these ``ClassVar[...] | None``, which mypy reads as instance variables;
    # they are class-level settings all the same.
    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]] | None] = [  # type: ignore[misc]
        (0, "-narrow"),
        (COMPACT_WIDTH, "-wide"),
    ]
    VERTICAL_BREAKPOINTS: ClassVar[list[tuple[int, str]] | None] = [  # type: ignore[misc]
        (0, "-short"),
        (44, "-tall"),
    ]

    BINDINGS: ClassVar[list[BindingType]] = [
        # One key, two labels: the footer says what p will do now.
        Binding("p", "toggle_pause", "Pause", id="pause", tooltip="Pause new entries"),
        Binding("p", "resume", "Resume", id="resume", tooltip="Resume new entries"),
        Binding("a", "approve", "Approve", id="approve", tooltip="Approve the selected trade"),
        Binding("x", "reject", "Reject", id="reject", tooltip="Reject the selected trade"),
        Binding("K", "kill", "Kill", id="kill", tooltip="Kill switch: stop all trading"),
        Binding("c", "close_position", "Close", id="close", tooltip="Close selected position"),
        Binding("slash", "filter", "Filter", id="filter", tooltip="Filter whale signals"),
        Binding("question_mark", "help", "Help", id="help", tooltip="Show every key"),
        Binding("q", "request_quit", "Quit", id="quit", tooltip="Quit the console"),
        # After q: on a narrow footer the last label is the one cut, and q must stay.
        Binding("w", "whales", "Whales", id="whales", tooltip="Wallets worth copying, ranked"),
        # Priority so they beat the screen's focus-chain tab; disabled under modals.
        Binding(
            "tab", "next_pane", "Next pane", id="next_pane", show=False, priority=True,
            tooltip="Move to the next pane",
        ),
        Binding(
            "shift+tab", "previous_pane", "Previous pane", id="previous_pane", show=False,
            priority=True, tooltip="Move to the previous pane",
        ),
        # Textual's Keys side panel (ctrl+p → Keys) closes with esc like every other panel;
        # enabled only while it is open, so esc otherwise reaches the pane (filter, dialogs).
        Binding(
            "escape", "hide_keys_panel", "Close keys", id="hide_keys", show=False, priority=True,
            tooltip="Close the Keys side panel",
        ),
    ]  # fmt: skip

    CONSOLE_ACTIONS = frozenset(
        {
            *("toggle_pause", "resume", "approve", "reject", "kill", "close_position", "filter"),
            *("help", "request_quit", "next_pane", "previous_pane", "open", "whales"),
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
        hints: tuple[str, ...] = (),
        whales: WhalesBackend | None = None,
    ) -> None:
        super().__init__()
        self.engine = engine
        self.run_engine = run_engine
        self.connect_engine = connect
        self.hosted = connect is None
        self.hints = hints
        self.whales = whales
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
        self._tabs_drawn: tuple[str, str] | None = None
        self._feed_states: dict[str, FeedState] = {}
        self._feeds_toasted: set[str] = set()

    # --- layout -------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        yield Static("", id="pane-tabs")
        with Container(id="panes"):
            yield SignalsPane(aliases=self.aliases)
            yield ApprovalsPane(id="approvals", aliases=self.aliases)
            yield PositionsPane(id="positions")
            yield HealthPane(stale_after_s=self.stale_after_s)
            yield RiskPane(id="risk")
            yield PnLPane(id="pnl")
            yield LogPane(id="log")
        yield Footer()

    async def on_mount(self) -> None:
        if self.connect_engine is not None:
            await self.connect_engine()
        # Subscribe before the snapshot so nothing published in between is lost; replaying an
        # event the snapshot already holds is harmless (every update is keyed).
        self._sub = self.engine.subscribe(maxsize=10_000)
        if not self.hosted:
            pid = getattr(self.engine, "hello", {}).get("pid")
            self.query_one(StatusBar).attached = f"ATTACHED pid {pid}" if pid else "ATTACHED"
        self._apply(self.state.load(self.engine.snapshot()))
        self.set_active(PANE_ORDER[0])
        self.run_worker(self._pump(), name="events", group="ui", exit_on_error=False)
        # The engine starts after the first frame is painted: opening the feeds imports web3
        # and connects, which would otherwise hold the first frame back.
        self.call_after_refresh(self._start_engine)
        self.set_interval(self.tick_s, self.tick)
        where = "hosting the engine" if self.hosted else "attached to the daemon"
        self.log_line("info", f"console started ({self.state.engine.mode} mode, {where})")
        for hint in self.hints:
            self.log_line("warning", hint)
            self.notify(hint, severity="warning", timeout=15, markup=False)

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
                if "header" in due:
                    self.refresh_bindings()  # p reads Pause or Resume
        if "health" in changes.dirty:
            self._log_feed_changes()
        for notice in changes.notices:
            self.log_line(notice.level, notice.message, notice.component)
            if notice.level in ("warn", "warning", "error"):
                severity: SeverityLevel = "error" if notice.level == "error" else "warning"
                self.notify(notice.message, severity=severity, markup=False)
            elif notice.component in TOASTED:
                self.notify(notice.message, title=TOASTED[notice.component], markup=False)

    def _log_feed_changes(self) -> None:
        """A feed that goes down or degraded says so in the log, with its error; going down
        is a toast too, once until it is live again (the log pane is off below 44 rows, and a
        reconnect loop must not repeat the toast)."""
        for feed in self.state.feeds:
            before = self._feed_states.get(feed.name)
            self._feed_states[feed.name] = feed.state
            if feed.state is FeedState.LIVE:
                self._feeds_toasted.discard(feed.name)
            if feed.state is before or feed.state not in (FeedState.DOWN, FeedState.DEGRADED):
                continue
            detail = f": {feed.detail}" if feed.detail else ""
            self.log_line("warning", f"{feed.name} {feed.state.value}{detail}", "feeds")
            if feed.state is FeedState.DOWN and feed.name not in self._feeds_toasted:
                self._feeds_toasted.add(feed.name)
                self.notify(f"{feed.name} down{detail}", severity="warning", markup=False)

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
        titles = {name: self.pane(name).TITLE for name in PANE_ORDER}
        if self.state.intents:
            titles["approvals"] += f" ({len(self.state.intents)})"
        if sum(len(t) + 2 for t in titles.values()) > self.size.width:
            titles.update(SHORT_TABS)  # every tab stays on a narrow line
            if self.state.intents:
                titles["approvals"] = f"Appr ({len(self.state.intents)})"
        for name in PANE_ORDER:
            tabs.append(f" {titles[name]} ", style="reverse" if name == self.active_pane else "")
        drawn = (tabs.plain, self.active_pane)
        if drawn != self._tabs_drawn:
            self._tabs_drawn = drawn
            self.query_one("#pane-tabs", Static).update(tabs)

    def pump_now(self) -> None:
        """Apply whatever is pending and redraw every owed pane now (after operator commands,
        and in tests and benchmarks)."""
        if self._sub is not None:
            self._apply(self.state.apply(self._sub.drain()))

    def log_line(self, level: str, message: str, component: str = "console") -> None:
        """Write one line to the log pane (after the last screen is gone, only to the log)."""
        panes = self.query(LogPane) if self.screen_stack else ()
        for pane in panes:
            pane.write(self.clock.now(), level, message, component)

    # --- panes and focus ----------------------------------------------------------------------

    def set_active(self, name: str, *, focus: bool = True) -> None:
        """Make ``name`` the pane the keys act on: its border, title and tab say so."""
        self.active_pane = name
        for pane_name in PANE_ORDER:
            self.pane(pane_name).set_active(pane_name == name)
        if focus:
            self.pane(name).focus_target().focus()
        self._show_panes()
        self._draw_tabs()

    def _show_panes(self) -> None:
        """Under 120 columns one pane shows, or two when the terminal is tall enough: the
        whale signals stay in view above the pane being worked on."""
        width, height = self.size
        split = width < COMPACT_WIDTH and height >= SPLIT_MIN_HEIGHT
        self.query_one("#panes").set_class(split, "-split")
        second = "approvals" if self.active_pane == "signals" else "signals"
        for name in PANE_ORDER:
            self.pane(name).set_class(split and name in (self.active_pane, second), "-shown")

    def action_next_pane(self) -> None:
        """Move to the next pane (tab)."""
        index = PANE_ORDER.index(self.active_pane)
        self.set_active(PANE_ORDER[(index + 1) % len(PANE_ORDER)])

    def action_previous_pane(self) -> None:
        """Move to the previous pane (shift+tab)."""
        index = PANE_ORDER.index(self.active_pane)
        self.set_active(PANE_ORDER[(index - 1) % len(PANE_ORDER)])

    def on_descendant_focus(self) -> None:
        # A click focuses a pane directly: make it the active one. While the app quits, focus
        # events can still arrive after the last screen is gone (no screen: nothing to do).
        if not self.screen_stack:
            return
        focused = self.focused
        if focused is None:
            return
        for name in PANE_ORDER:
            pane = self.pane(name)
            if focused is pane or pane in focused.ancestors:
                if name != self.active_pane:
                    self.set_active(name, focus=False)
                return

    def on_resize(self, event: events.Resize) -> None:
        footer = self.query_one(Footer)
        footer.show_command_palette = event.size.width >= FOOTER_PALETTE_MIN
        footer.compact = event.size.width < FOOTER_COMPACT
        self.query_one(StatusBar).set_class(event.size.width < HEADER_TINY, "-tiny")
        self._show_panes()
        self._draw_tabs()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Under a dialog or another screen (Whales), console keys belong to it: x must never
        # reject a trade the trader cannot see.
        if action in self.CONSOLE_ACTIONS and (
            not self.screen_stack or self.screen is not self.screen_stack[0]
        ):
            return False
        if action == "hide_keys_panel":
            return bool(self.screen.query("HelpPanel"))
        # p is Pause while running and Resume while paused (one binding shows at a time).
        if action == "toggle_pause":
            return not self.paused
        if action == "resume":
            return self.paused
        return True

    def action_resume(self) -> None:
        """Resume new entries."""
        self.send("resume")

    # --- keys, palette, workers ---------------------------------------------------------------

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


NO_WALLETS_HINT = (
    "no whale wallets configured and discovery is off, so no signal will show up: add wallets"
    " under [whales] (polytui init) or try polytui --demo"
)


def first_run_hints(loaded: Any, demo: bool) -> tuple[str, ...]:
    """What a first run with nothing to watch should be told (an empty console says nothing)."""
    settings = _settings_of(loaded)
    if demo:  # what the demo's settings do differently from a real configuration
        return tuple(getattr(loaded, "notes", ())[1:])
    if settings is None:
        return ()
    whales = settings.whales
    return () if whales.wallets or whales.discovery else (NO_WALLETS_HINT,)


# What the engine runs as, given the engine (default: ``engine.run``); the demo adds its profiles.
Runner = Callable[[Any], Callable[[], Awaitable[None]]]


def run_app(loaded: Any, live: bool, demo: bool = False, runner: Runner | None = None) -> int:
    """Build the engine from ``loaded`` config and run the console hosting it (``runner``:
    what the engine runs as, e.g. the demo's history profiles beside ``engine.run``)."""
    from polytui.wiring import build_engine

    try:
        engine = build_engine(loaded, live=live, demo=demo)
    except Exception as exc:  # a config the engine refuses: one clear line, no traceback
        log.debug("engine build failed", exc_info=True)
        print(f"polytui: cannot start the engine: {exc}", file=sys.stderr)
        return 1
    from polytui.remote.services import RemoteError, remote_services

    try:  # the Telegram bot and /metrics run beside a hosted engine, as in the daemon
        services = remote_services(_settings_of(loaded), engine)
    except RemoteError as exc:
        engine.journal.close()
        print(f"polytui: {exc}", file=sys.stderr)
        return 1
    run = engine.run if runner is None else runner(engine)
    from polytui.tui.whales import LocalWhales

    whales: WhalesBackend = LocalWhales(loaded, engine)
    if demo:  # the simulator's wallets; the trader's own config.toml is never written
        whales = FixedWatchList(whales, "the demo watches the simulator's wallets only")
    app = PolytuiApp(
        engine, run_engine=services.wrap(run), hints=first_run_hints(loaded, demo),
        whales=whales,
        **_app_options(loaded),
    )  # fmt: skip
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
    from polytui.tui.whales import LocalWhales

    app = PolytuiApp(
        remote,
        run_engine=getattr(remote, "run", None),
        connect=getattr(remote, "connect", None),
        whales=LocalWhales(loaded),  # watch-list changes reach the daemon by SIGHUP
        **_app_options(loaded),
    )
    app.run()
    print("polytui attach: detached; the daemon keeps trading", file=sys.stderr)
    return app.return_code or 0
