"""The parity report: every copied trade next to the whale's fill it copied.

Built from journal events only: ``intent`` (whale price, wallet, source), ``fill`` (our shares,
average price, fee, time) and ``settlement`` (winner). For each fill: latency from the whale's
match to our fill, price difference (the latency tax, in cents and percent), fee, and outcome
(won / lost / open). ``polytui report`` prints it as a table or writes CSV.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from polytui.model import ZERO


class EventLike(Protocol):
    """What the report needs of a journal event."""

    kind: str
    ref: str
    ts: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ParityRow:
    """One copied fill beside the whale's."""

    filled_at: str
    wallet: str
    token_id: str
    side: str
    shares: Decimal
    whale_price: Decimal
    our_price: Decimal
    tax_cents: Decimal
    tax_pct: Decimal
    fee_usd: Decimal
    source: str
    latency_s: Decimal | None
    outcome: str


def build_parity_rows(events: Iterable[EventLike], since: str | None = None) -> list[ParityRow]:
    """Rows for every fill (optionally only those at or after ``since``, ISO)."""
    intents: dict[str, dict[str, Any]] = {}
    signals: dict[str, dict[str, Any]] = {}
    winners: dict[str, str] = {}
    fills: list[dict[str, Any]] = []
    for event in events:
        if event.kind == "intent":
            intents[event.ref] = event.payload
        elif event.kind == "signal":
            signals[event.ref] = dict(event.payload, _ts=event.ts)
        elif event.kind == "fill":
            fills.append(event.payload)
        elif event.kind == "settlement":
            winners[event.payload["condition_id"]] = event.payload["winning_token_id"]
    rows: list[ParityRow] = []
    for fill in fills:
        if since and fill["filled_at"] < since:
            continue
        intent = intents.get(fill.get("intent_id", ""), {})
        signal = signals.get(intent.get("signal_id", ""), {})
        whale = Decimal(fill.get("whale_price") or intent.get("whale_price") or "0")
        ours = Decimal(fill["avg_price"])
        diff = ours - whale if fill["side"] == "BUY" else whale - ours
        winner = winners.get(fill.get("condition_id", ""))
        outcome = "open" if winner is None else ("won" if winner == fill["token_id"] else "lost")
        latency = _latency(signal, fill)
        rows.append(
            ParityRow(
                filled_at=fill["filled_at"],
                wallet=intent.get("wallet", ""),
                token_id=fill["token_id"],
                side=fill["side"],
                shares=Decimal(fill["shares"]),
                whale_price=whale,
                our_price=ours,
                tax_cents=(diff * 100).quantize(Decimal("0.01")),
                tax_pct=(diff / whale * 100).quantize(Decimal("0.01")) if whale else ZERO,
                fee_usd=Decimal(fill["fee_usd"]),
                source=fill.get("source") or signal.get("source", ""),
                latency_s=latency,
                outcome=outcome,
            )
        )
    return rows


def _latency(signal: dict[str, Any], fill: dict[str, Any]) -> Decimal | None:
    """Seconds from the whale's match to our fill.

    The match time is when the signal was journaled minus the feed latency it arrived with.
    """
    try:
        seen = datetime.fromisoformat(signal["_ts"])
        filled = datetime.fromisoformat(fill["filled_at"])
        feed_ms = int(signal["latency_ms"])
    except (KeyError, TypeError, ValueError):
        return None
    seconds = (filled - seen).total_seconds() + feed_ms / 1000
    return Decimal(str(round(seconds, 3)))


def totals(rows: list[ParityRow]) -> dict[str, Decimal | int]:
    """Sums and averages for the report footer."""
    if not rows:
        return {"fills": 0}
    return {
        "fills": len(rows),
        "fees_usd": sum((r.fee_usd for r in rows), ZERO),
        "avg_tax_cents": (sum((r.tax_cents for r in rows), ZERO) / len(rows)).quantize(
            Decimal("0.01")
        ),
        "won": sum(1 for r in rows if r.outcome == "won"),
        "lost": sum(1 for r in rows if r.outcome == "lost"),
    }


FIELDS = [
    "filled_at",
    "wallet",
    "token_id",
    "side",
    "shares",
    "whale_price",
    "our_price",
    "tax_cents",
    "tax_pct",
    "fee_usd",
    "source",
    "latency_s",
    "outcome",
]


def write_csv(rows: list[ParityRow], path: Path) -> None:
    """One row per fill, decimals as text."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(FIELDS)
        for row in rows:
            writer.writerow([str(getattr(row, name)) for name in FIELDS])


def run_report(loaded: Any, since: str | None, csv_path: Path | None) -> int:
    """``polytui report``: read the journal of the configured mode, print or write CSV."""
    from rich.console import Console
    from rich.table import Table

    from polytui.config import data_dir
    from polytui.journal import Journal, JournalError, journal_path

    settings = loaded.settings
    path = journal_path(data_dir(settings), settings.mode)
    if not path.exists():
        print(f"polytui report: no journal at {path} yet", file=sys.stderr)
        return 1
    if since:
        try:
            datetime.fromisoformat(since)
        except ValueError:
            print(f"polytui report: --since {since!r} is not an ISO date/time", file=sys.stderr)
            return 2
    try:
        journal = Journal.open(path, mode=settings.mode, backup=False, writer=False)
    except JournalError as exc:
        print(f"polytui report: {exc}", file=sys.stderr)
        return 1
    try:
        rows = build_parity_rows(
            journal.events(kinds=["intent", "signal", "fill", "settlement"]), since
        )
    finally:
        journal.close()
    if csv_path is not None:
        write_csv(rows, csv_path)
        print(f"wrote {len(rows)} rows to {csv_path}")
        return 0
    table = Table(title=f"Copied trades vs the whale ({settings.mode})")
    for column in (
        "filled",
        "side",
        "shares",
        "whale",
        "ours",
        "tax ¢",
        "tax %",
        "fee",
        "source",
        "latency s",
        "outcome",
    ):
        table.add_column(column, justify="right" if column not in ("source", "outcome") else "left")
    for r in rows:
        table.add_row(
            r.filled_at[:19],
            r.side,
            str(r.shares),
            str(r.whale_price),
            str(r.our_price.quantize(Decimal("0.0001"))),
            str(r.tax_cents),
            str(r.tax_pct),
            str(r.fee_usd),
            r.source,
            "-" if r.latency_s is None else str(r.latency_s),
            r.outcome,
        )
    console = Console()
    console.print(table)
    total = totals(rows)
    console.print(", ".join(f"{k}: {v}" for k, v in total.items()))
    return 0
