"""Whale history and profiles in the journal: typed rows, cursors and profiles.

Rows live in ``history_rows`` keyed by owner (a wallet, or a condition id for market rows) and
kind: ``fill`` (a wallet's fills with their role), ``event`` (REDEEM, MERGE, …), ``closed``
(closed positions), ``pnl`` (the P&L curve), ``resolution``, ``facts`` and ``tape`` (a market's
settlement, metadata and prints). A fetch saves each page's rows and its cursor in one commit,
so an interrupted refresh resumes from the last saved page and never stores a row twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from polytui.journal import Journal
from polytui.model import FeeSchedule
from polytui.model.history import (
    ActivityEvent,
    ClosedPosition,
    HistoryTrade,
    PnlPoint,
    Resolution,
)
from polytui.whales.bets import MarketFacts
from polytui.whales.profile import WalletProfile


def _event_record(e: ActivityEvent) -> dict[str, Any]:
    return {
        "w": e.wallet,
        "k": e.kind,
        "c": e.condition_id,
        "u": str(e.usdc_size),
        "n": str(e.shares),
        "ts": e.ts_ms,
        "h": e.tx_hash,
    }


def _event(raw: dict[str, Any]) -> ActivityEvent:
    return ActivityEvent(
        raw["w"],
        raw["k"],
        raw["c"],
        Decimal(raw["u"]),
        Decimal(raw["n"]),
        int(raw["ts"]),
        raw.get("h", ""),
    )


def _closed_record(c: ClosedPosition) -> dict[str, Any]:
    return {
        "w": c.wallet,
        "c": c.condition_id,
        "t": c.token_id,
        "i": c.outcome_index,
        "a": str(c.avg_price),
        "b": str(c.total_bought),
        "r": str(c.realized_pnl_usd),
        "p": None if c.cur_price is None else str(c.cur_price),
        "ts": c.ts_ms,
        "e": c.end_ms,
        "ti": c.title,
    }


def _closed(raw: dict[str, Any]) -> ClosedPosition:
    return ClosedPosition(
        raw["w"],
        raw["c"],
        raw["t"],
        raw.get("i"),
        Decimal(raw["a"]),
        Decimal(raw["b"]),
        Decimal(raw["r"]),
        None if raw.get("p") is None else Decimal(raw["p"]),
        raw.get("ts"),
        raw.get("e"),
        raw.get("ti", ""),
    )


def _facts_record(f: MarketFacts) -> dict[str, Any]:
    fee = f.fee_schedule
    return {
        "c": f.condition_id,
        "cat": f.category,
        "end": f.end_ms,
        "fee": None
        if fee is None
        else {
            "rate": str(fee.rate),
            "exp": str(fee.exponent),  # a fractional exponent is a Decimal: kept exact
            "taker_only": fee.taker_only,
            "type": fee.fee_type,
        },
    }


def _exponent(raw: Any) -> int | Decimal:
    """A saved fee exponent: whole ones as int (older records hold ints), others as Decimal."""
    value = Decimal(str(raw))
    return int(value) if value == value.to_integral_value() else value


def _facts(raw: dict[str, Any]) -> MarketFacts:
    fee = raw.get("fee")
    schedule = (
        None
        if fee is None
        else FeeSchedule(
            rate=Decimal(fee["rate"]),
            exponent=_exponent(fee["exp"]),
            taker_only=bool(fee.get("taker_only", True)),
            fee_type=fee.get("type", ""),
        )
    )
    return MarketFacts(raw["c"], raw.get("cat", ""), schedule, raw.get("end"))


class ProfileStore:
    """Typed access to the whale tables of one journal."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    def commit(self) -> None:
        """Make everything saved so far durable."""
        self.journal.flush()

    # --- a wallet's rows --------------------------------------------------------------------------

    def add_fills(self, wallet: str, fills: Iterable[HistoryTrade]) -> int:
        """Save fills (a fill already saved keeps its first-known role); returns new ones."""
        return self.journal.put_history_rows(
            wallet, "fill", ((f.key, f.ts_ms, f.to_record()) for f in fills)
        )

    def fills(self, wallet: str) -> list[HistoryTrade]:
        """Every saved fill of ``wallet``, oldest first."""
        return [HistoryTrade.from_record(r) for r in self.journal.history_rows(wallet, "fill")]

    def add_events(self, wallet: str, events: Iterable[ActivityEvent]) -> int:
        """Save non-trade activity rows."""
        return self.journal.put_history_rows(
            wallet,
            "event",
            (
                (f"{e.kind}|{e.tx_hash}|{e.condition_id}|{e.ts_ms}", e.ts_ms, _event_record(e))
                for e in events
            ),
        )

    def events(self, wallet: str) -> list[ActivityEvent]:
        """Saved non-trade activity of ``wallet``."""
        return [_event(r) for r in self.journal.history_rows(wallet, "event")]

    def add_closed(self, wallet: str, closed: Iterable[ClosedPosition]) -> int:
        """Save closed positions (a newer row for the same token replaces the older)."""
        return self.journal.put_history_rows(
            wallet,
            "closed",
            ((c.token_id or c.condition_id, c.ts_ms or 0, _closed_record(c)) for c in closed),
            replace=True,
        )

    def closed(self, wallet: str) -> list[ClosedPosition]:
        """Saved closed positions of ``wallet``."""
        return [_closed(r) for r in self.journal.history_rows(wallet, "closed")]

    def set_pnl(self, wallet: str, points: Sequence[PnlPoint]) -> None:
        """Replace the saved P&L curve."""
        record = [[p.ts_ms, str(p.pnl_usd)] for p in points]
        self.journal.put_history_rows(wallet, "pnl", [("curve", 0, record)], replace=True)

    def pnl(self, wallet: str) -> list[PnlPoint]:
        """The saved P&L curve."""
        rows = self.journal.history_rows(wallet, "pnl")
        return [PnlPoint(int(ts), Decimal(v)) for ts, v in rows[0]] if rows else []

    # --- markets ---------------------------------------------------------------------------------

    def add_resolutions(self, resolutions: Iterable[Resolution]) -> None:
        """Save settlements."""
        for r in resolutions:
            self.journal.put_history_rows(
                r.condition_id,
                "resolution",
                [("r", r.resolved_at_ms or 0, r.to_record())],
                replace=True,
            )

    def resolutions(self) -> dict[str, Resolution]:
        """Every saved settlement."""
        out: dict[str, Resolution] = {}
        for owner in self.journal.history_owners("resolution"):
            for raw in self.journal.history_rows(owner, "resolution"):
                out[owner] = Resolution.from_record(raw)
        return out

    def add_facts(self, facts: Iterable[MarketFacts]) -> None:
        """Save market metadata."""
        for f in facts:
            self.journal.put_history_rows(
                f.condition_id, "facts", [("f", 0, _facts_record(f))], replace=True
            )

    def facts(self) -> dict[str, MarketFacts]:
        """Every saved market's metadata."""
        out: dict[str, MarketFacts] = {}
        for owner in self.journal.history_owners("facts"):
            for raw in self.journal.history_rows(owner, "facts"):
                out[owner] = _facts(raw)
        return out

    def add_tape(self, condition_id: str, window: str, prints: Iterable[HistoryTrade]) -> None:
        """Save a market's prints for one time window (the window key marks it fetched)."""
        self.journal.put_history_rows(
            condition_id, "tape", ((p.key, p.ts_ms, p.to_record()) for p in prints)
        )
        self.journal.put_history_rows(condition_id, "tape_window", [(window, 0, window)])

    def tape_windows(self, condition_id: str) -> set[str]:
        """Windows of a market's tape already fetched."""
        return set(self.journal.history_rows(condition_id, "tape_window"))

    def tape(self, condition_id: str) -> list[HistoryTrade]:
        """A market's saved prints, oldest first."""
        return [
            HistoryTrade.from_record(r) for r in self.journal.history_rows(condition_id, "tape")
        ]

    # --- cursors and profiles --------------------------------------------------------------------

    def cursor(self, wallet: str, stream: str) -> dict[str, Any] | None:
        """Where a wallet's stream stands (see ``refresh``)."""
        raw = self.journal.history_cursor(wallet, stream)
        return raw if isinstance(raw, dict) else None

    def set_cursor(self, wallet: str, stream: str, record: dict[str, Any]) -> None:
        """Save a stream's position (commit with its page's rows)."""
        self.journal.put_history_cursor(wallet, stream, record)

    def save_profile(self, profile: WalletProfile) -> None:
        """Save (replace) a wallet's profile and commit."""
        self.journal.put_wallet_profile(profile.wallet, profile.to_record())
        self.journal.flush()

    def profiles(self) -> dict[str, WalletProfile]:
        """Every saved profile."""
        return {w: WalletProfile.from_record(r) for w, r in self.journal.wallet_profiles().items()}
