"""The Whales screen: watched wallets and candidates ranked by copy edge, one key away.

A table of every wallet with a saved profile or on the watch list (edge, copy edge at our
latency, settled bets, P&L, last trade, copyable); ``enter`` opens the detail with its playbooks,
copy edge by delay and the P&L curve drawn as a chart; ``a`` adds a wallet, ``d`` removes the
selected one, ``o`` cycles its approval policy — each after a confirmation — and ``r``
refreshes the selected wallet's history with a progress bar (``escape`` cancels; the next
refresh resumes from the saved cursor). The screen talks to a :class:`WhalesBackend`, so the
console, an attached console and the tests can each give it their own.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar, Protocol

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Footer, Input, ProgressBar, Sparkline, Static

from polytui.tui.modals import ConfirmModal
from polytui.whales.profile import WalletProfile

POLICY_CYCLE = ("manual", "auto", "observe")
Progress = Callable[[str, int, int | None], None]


@dataclass(frozen=True, slots=True)
class WhaleRow:
    """One line of the table."""

    wallet: str
    alias: str
    watched: bool
    policy: str
    profile: WalletProfile | None


class WhalesBackend(Protocol):
    """What the screen needs: rows, a refresh, and watch-list changes."""

    latency_s: float

    def rows(self) -> list[WhaleRow]:
        """Watched wallets and profiled candidates, best first."""
        ...

    async def refresh(self, wallet: str, progress: Progress) -> str:
        """Bring one wallet's profile up to date; "" or the reason it failed."""
        ...

    def add(self, wallet: str, alias: str, policy: str | None) -> str:
        """Watch a wallet; a message for the toast."""
        ...

    def remove(self, wallet: str) -> str:
        """Stop watching a wallet; a message for the toast."""
        ...


def _cents(value: Decimal | None, se: Decimal | None = None) -> str:
    if value is None:
        return "—"
    text = f"{value * 100:+.1f}"
    return text if se is None else f"{text} ±{se * 100:.1f}"


def row_cells(row: WhaleRow, latency_s: float) -> tuple[str, ...]:
    """The table cells of a row (pure)."""
    p = row.profile
    who = row.alias or f"{row.wallet[:8]}…{row.wallet[-4:]}"
    mark = "●" if row.watched else "○"
    if p is None:
        return (mark, who, row.policy if row.watched else "", "—", "—", "—", "—", "—", "—")
    copy_edge = p.copy_at(latency_s)
    return (
        mark,
        who,
        row.policy if row.watched else "",
        str(p.resolved),
        _cents(p.record.edge, p.record.se),
        _cents(copy_edge.stat.edge, copy_edge.stat.se) if copy_edge else "—",
        f"{p.realized_pnl_usd:,.0f}",
        "—" if p.last_trade_ms is None else _date(p.last_trade_ms),
        "yes" if p.copyable else "no",
    )


def _date(ms: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d")


def detail_lines(row: WhaleRow, latency_s: float) -> list[str]:
    """The detail text: record, copyability, playbooks, copy edge by delay (pure)."""
    p = row.profile
    if p is None:
        return [row.wallet, "no profile yet: press r to fetch its history"]
    r = p.record
    lines = [
        f"{row.alias or row.wallet}  {row.wallet}",
        f"{p.trades} fills, {p.bets} bets, {p.resolved} settled, {p.wins} won; "
        f"P&L ${p.realized_pnl_usd:,.2f} ({p.pnl_source}); ROI {p.roi * 100:+.1f} %",
        f"edge {_cents(r.edge, r.se)} ¢/share, 95 % {_cents(r.lo)} to {_cents(r.hi)}",
        f"copyable: {'yes' if p.copyable else 'no'} — {p.reason}",
        "",
        "copy edge by delay:",
    ]
    lines += [
        f"  {c.delay_s:>5} s  {_cents(c.stat.edge, c.stat.se):>14} ¢/share  "
        f"({c.stat.n}/{c.attempted} copied)"
        for c in p.copy
    ]
    lines += ["", "playbooks:"]
    lines += [f"  • {b.sentence}" for b in p.playbooks] or ["  none survives the correction"]
    return lines


class AddWhaleModal(ModalScreen[tuple[str, str] | None]):
    """Asks for an address and an alias; enter submits, escape cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="whales.add.cancel", tooltip="Cancel"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static("Watch a wallet", classes="dialog-title")
            yield Input(placeholder="0x… proxy wallet", id="whale-address")
            yield Input(placeholder="alias (optional)", id="whale-alias")
            yield Static("enter add · esc cancel", classes="dialog-keys")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter in either field submits both."""
        address = self.query_one("#whale-address", Input).value.strip()
        alias = self.query_one("#whale-alias", Input).value.strip()
        if event.input.id == "whale-address" and not alias:
            self.query_one("#whale-alias", Input).focus()
            return
        self.dismiss((address, alias))

    def action_cancel(self) -> None:
        """Close without adding."""
        self.dismiss(None)


class WhaleDetail(ModalScreen[None]):
    """The profile in full, with the P&L curve as a chart."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="whales.detail.close", tooltip="Close"),
    ]

    def __init__(self, row: WhaleRow, latency_s: float) -> None:
        super().__init__(classes="dialog-screen")
        self.row = row
        self.latency_s = latency_s

    def compose(self) -> ComposeResult:
        curve = [float(v) for _, v in self.row.profile.pnl_curve] if self.row.profile else []
        with VerticalScroll(classes="dialog"):
            yield Static(
                Text("\n".join(detail_lines(self.row, self.latency_s))), id="whale-detail-text"
            )
            if curve:
                yield Static(f"P&L curve (last ${curve[-1]:,.2f})", classes="dialog-title")
                yield Sparkline(curve, id="whale-pnl-chart")
            yield Static("esc close", classes="dialog-keys")

    def action_close(self) -> None:
        """Back to the table."""
        self.dismiss(None)


class WhalesScreen(Screen[None]):
    """Watched wallets and candidates, ranked; detail, add, remove, policy, refresh."""

    DEFAULT_CSS = """
    WhalesScreen #whales-table { height: 1fr; }
    WhalesScreen #whales-progress { height: 1; }
    WhalesScreen #whales-progress.hidden { display: none; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="whales.back", tooltip="Back to the console"),
        Binding("enter", "detail", "Detail", id="whales.detail", tooltip="Profile in full"),
        Binding("r", "refresh", "Refresh", id="whales.refresh", tooltip="Fetch what is new"),
        Binding("a", "add", "Add", id="whales.add", tooltip="Watch a wallet"),
        Binding("d", "remove", "Remove", id="whales.remove", tooltip="Stop watching it"),
        Binding("o", "policy", "Policy", id="whales.policy", tooltip="Cycle approval policy"),
    ]

    COLUMNS = ("", "wallet", "policy", "settled", "edge ¢", "copy ¢", "P&L $", "last", "copy?")

    def __init__(self, backend: WhalesBackend) -> None:
        super().__init__()
        self.backend = backend
        self.rows: list[WhaleRow] = []
        self.refreshing = False

    def compose(self) -> ComposeResult:
        yield Static(
            f"Whales — ranked by copy edge at {self.backend.latency_s:g} s", id="whales-title"
        )
        yield DataTable(id="whales-table", cursor_type="row", zebra_stripes=True)
        yield ProgressBar(id="whales-progress", classes="hidden", show_eta=False)
        yield Footer()

    def on_mount(self) -> None:
        """Columns once, then the rows."""
        table = self.query_one(DataTable)
        table.add_columns(*self.COLUMNS)
        self.reload()

    def reload(self) -> None:
        """Re-read the rows (a rebuild: the list is short); the cursor stays on its wallet."""
        chosen = self.selected()
        self.rows = self.backend.rows()
        table = self.query_one(DataTable)
        table.clear()
        for row in self.rows:
            table.add_row(*row_cells(row, self.backend.latency_s), key=row.wallet)
        wallets = [r.wallet for r in self.rows]
        if chosen is not None and chosen.wallet in wallets:
            table.move_cursor(row=wallets.index(chosen.wallet))

    def selected(self) -> WhaleRow | None:
        """The row under the cursor."""
        table = self.query_one(DataTable)
        if not self.rows or table.cursor_row < 0 or table.cursor_row >= len(self.rows):
            return None
        return self.rows[table.cursor_row]

    # --- actions -----------------------------------------------------------------------------

    def action_back(self) -> None:
        """Cancel a refresh in flight, or go back to the console."""
        if self.refreshing:
            self.workers.cancel_group(self, "whales")
            self.refreshing = False
            self.query_one(ProgressBar).add_class("hidden")
            self.notify("refresh cancelled; the next one resumes where it stopped")
            return
        self.app.pop_screen()

    def action_detail(self) -> None:
        """Open the selected wallet's profile."""
        row = self.selected()
        if row is not None:
            self.app.push_screen(WhaleDetail(row, self.backend.latency_s))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on the table opens the detail too."""
        self.action_detail()

    def action_refresh(self) -> None:
        """Fetch the selected wallet's new history in the background."""
        row = self.selected()
        if row is None or self.refreshing:
            return
        self.refreshing = True
        bar = self.query_one(ProgressBar)
        bar.remove_class("hidden")
        bar.update(total=None, progress=0)
        self.run_worker(
            self._refresh(row.wallet), group="whales", exclusive=True, exit_on_error=False
        )

    async def _refresh(self, wallet: str) -> None:
        bar = self.query_one(ProgressBar)

        def progress(stage: str, done: int, total: int | None) -> None:
            bar.update(total=total, progress=done)

        try:
            problem = await self.backend.refresh(wallet, progress)
        except asyncio.CancelledError:
            raise
        finally:
            self.refreshing = False
            bar.add_class("hidden")
        self.notify(
            problem or f"{wallet[:10]}… refreshed", severity="warning" if problem else "information"
        )
        self.reload()

    def action_add(self) -> None:
        """Ask for an address, confirm, watch it."""

        def entered(answer: tuple[str, str] | None) -> None:
            if not answer or not answer[0]:
                return
            address, alias = answer

            def confirmed(yes: bool | None) -> None:
                if yes:
                    self.notify(self.backend.add(address, alias, None))
                    self.reload()

            label = f"{address}" + (f" as {alias}" if alias else "")
            self.app.push_screen(
                ConfirmModal("Watch wallet", f"Copy trades of {label}?"), confirmed
            )

        self.app.push_screen(AddWhaleModal(), entered)

    def action_remove(self) -> None:
        """Confirm, then stop watching the selected wallet."""
        row = self.selected()
        if row is None or not row.watched:
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.notify(self.backend.remove(row.wallet))
                self.reload()

        self.app.push_screen(
            ConfirmModal("Stop watching", f"Stop copying {row.alias or row.wallet}?"), confirmed
        )

    def action_policy(self) -> None:
        """Confirm, then move the selected wallet to the next approval policy."""
        row = self.selected()
        if row is None or not row.watched:
            return
        current = row.policy if row.policy in POLICY_CYCLE else POLICY_CYCLE[0]
        nxt = POLICY_CYCLE[(POLICY_CYCLE.index(current) + 1) % len(POLICY_CYCLE)]

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.notify(self.backend.add(row.wallet, row.alias, nxt))
                self.reload()

        self.app.push_screen(
            ConfirmModal("Approval policy", f"{row.alias or row.wallet}: {current} → {nxt}?"),
            confirmed,
        )


class LocalWhales:
    """The backend of a console on this machine: the journal's profiles, config.toml's list.

    A change to the watch list is written to config.toml (comments kept) and applied at once:
    to the engine this console hosts, or by SIGHUP to the daemon it is attached to.
    """

    def __init__(self, loaded: Any, engine: Any = None) -> None:
        self.loaded = loaded
        self.engine = engine
        self.latency_s = float(loaded.settings.history.source_latency_s)

    def _settings(self) -> Any:
        from polytui.config import load_settings

        if self.loaded.path is None:
            return self.loaded.settings
        return load_settings(self.loaded.path).settings

    def rows(self) -> list[WhaleRow]:
        """Every watched wallet and every profiled one, ranked."""
        from polytui.whales.commands import ranked
        from polytui.whales.session import saved_profiles
        from polytui.whales.watchlist import watched

        settings = self._settings()
        profiles = saved_profiles(settings)
        watch = {w.wallet: w for w in watched(settings)}
        order = [p.wallet for p in ranked(profiles.values(), self.latency_s)]
        order += [w for w in watch if w not in profiles]
        return [
            WhaleRow(
                w,
                settings.whales.aliases.get(w, ""),
                w in watch,
                watch[w].policy if w in watch else "",
                profiles.get(w),
            )
            for w in order
        ]

    async def refresh(self, wallet: str, progress: Progress) -> str:
        """Refresh one wallet through the same session the CLI uses."""
        from polytui.feeds.history import HistoryError
        from polytui.whales.session import open_session

        try:
            async with open_session(self._settings(), progress) as session:
                await session.refresher.refresh(wallet)
        except HistoryError as exc:
            return str(exc)
        return ""

    def add(self, wallet: str, alias: str, policy: str | None) -> str:
        """Watch (or re-alias / re-policy) a wallet."""
        from polytui.whales.watchlist import WatchListError, add_wallet

        try:
            add_wallet(self._config_path(), wallet, alias=alias or None, policy=policy)
        except WatchListError as exc:
            return str(exc)
        self._apply()
        return f"watching {wallet.lower()}"

    def remove(self, wallet: str) -> str:
        """Stop watching a wallet."""
        from polytui.whales.watchlist import WatchListError, remove_wallet

        try:
            remove_wallet(self._config_path(), wallet)
        except WatchListError as exc:
            return str(exc)
        self._apply()
        return f"stopped watching {wallet.lower()}"

    def _config_path(self) -> Any:
        from polytui.config import default_config_path

        return self.loaded.path or default_config_path()

    def _apply(self) -> None:
        """The new list reaches the engine now: in-process, or by SIGHUP to the daemon."""
        from polytui.config import load_settings
        from polytui.whales.watchlist import notify_daemon

        new = load_settings(self._config_path()).settings
        engine = self.engine
        if engine is not None and hasattr(engine, "reload") and hasattr(engine, "settings"):
            merged = copy.copy(engine.settings)
            merged.whales = new.whales
            merged.approval = new.approval
            engine.reload(merged)
            engine.watch_wallets(merged.whales.wallets)
        else:
            notify_daemon(new)
