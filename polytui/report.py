"""The parity report: every copied trade next to the whale's fill it copied.

Built from journal events only: ``intent`` (whale price, wallet, source), ``fill`` (our shares,
average price, fee, time), ``settlement`` (winner) and ``whale_tx_retracted`` (the whale's trade
was read from a pending transaction that was never mined, after our order was sent: flagged).
For each fill: latency from the whale's match to our fill, price difference (the latency tax, in
cents and percent), fee, and outcome (won / lost / open). ``polytui report`` prints it as a table
or writes CSV.
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

from polytui import display
from polytui.model import ZERO


class EventLike(Protocol):
    """What the report needs of a journal event (read-only, as a ``JournalEvent`` is)."""

    @property
    def kind(self) -> str: ...
    @property
    def ref(self) -> str: ...
    @property
    def ts(self) -> str: ...
    @property
    def payload(self) -> dict[str, Any]: ...


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
    market: str = ""
    outcome_name: str = ""
    seen_s: Decimal | None = None
    """Seconds from the whale's match until the feed delivered it (the feed's latency)."""
    to_fill_s: Decimal | None = None
    """Seconds from the signal to our fill (includes the wait for an approval)."""
    whale_edge: Decimal | None = None
    """What sized the copy, per share: the whale's estimated edge ± its standard error, the
    latency tax expected at our source's delay, our taker fee and the net edge."""
    whale_edge_se: Decimal | None = None
    expected_tax: Decimal | None = None
    fee_per_share: Decimal | None = None
    net_edge: Decimal | None = None
    flag: str = ""
    """Why this copy needs a look (the whale's transaction was never mined), else empty."""


def build_parity_rows(events: Iterable[EventLike], since: str | None = None) -> list[ParityRow]:
    """Rows for every fill (optionally only those at or after ``since``, ISO)."""
    intents: dict[str, dict[str, Any]] = {}
    signals: dict[str, dict[str, Any]] = {}
    winners: dict[str, str] = {}
    flags: dict[str, str] = {}
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
        elif event.kind == "whale_tx_retracted":
            flags[event.ref] = str(event.payload.get("reason", "whale transaction never mined"))
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
        seen = _feed_seconds(signal)
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
                market=intent.get("market_question", "") or fill.get("condition_id", ""),
                outcome_name=intent.get("outcome", ""),
                seen_s=seen,
                to_fill_s=None if latency is None or seen is None else latency - seen,
                whale_edge=_opt(intent.get("whale_edge")),
                whale_edge_se=_opt(intent.get("whale_edge_se")),
                expected_tax=_opt(intent.get("latency_tax")),
                fee_per_share=_opt(intent.get("fee_per_share")),
                net_edge=_opt(intent.get("net_edge")),
                flag=flags.get(fill.get("intent_id", ""), ""),
            )
        )
    return rows


def _opt(raw: Any) -> Decimal | None:
    """A journaled decimal, None when the intent predates it (or it was an exit)."""
    return None if raw in (None, "") else Decimal(str(raw))


def _feed_seconds(signal: dict[str, Any]) -> Decimal | None:
    try:
        return Decimal(int(signal["latency_ms"])) / 1000
    except (KeyError, TypeError, ValueError):
        return None


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
        "flagged": sum(1 for r in rows if r.flag),
    }


FIELDS = [
    "filled_at",
    "wallet",
    "market",
    "outcome_name",
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
    "seen_s",
    "to_fill_s",
    "outcome",
    "whale_edge",
    "whale_edge_se",
    "expected_tax",
    "fee_per_share",
    "net_edge",
    "flag",
]


def write_csv(rows: list[ParityRow], path: Path) -> None:
    """One row per fill, decimals as text."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(FIELDS)
        for row in rows:
            writer.writerow(
                ["" if (v := getattr(row, name)) is None else str(v) for name in FIELDS]
            )


def run_report(loaded: Any, since: str | None, csv_path: Path | None) -> int:
    """``polytui report``: read the journal of the configured mode, print or write CSV."""
    from rich.console import Console

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
            journal.events(kinds=["intent", "signal", "fill", "settlement", "whale_tx_retracted"]),
            since,
        )
    finally:
        journal.close()
    if csv_path is not None:
        write_csv(rows, csv_path)
        print(f"wrote {len(rows)} rows to {csv_path}")
        return 0
    console = Console()
    console.print(parity_table(rows, settings.mode, console.width))
    console.print(summary_line(totals(rows)))
    return 0


# At least this wide, the table adds the date, the whale's price, tax %, source and latencies.
WIDE_REPORT = 120


def _secs(value: Decimal | None) -> str:
    return "-" if value is None else f"{value:.1f}s"


def parity_table(rows: list[ParityRow], mode: str, width: int) -> Any:
    """The report as a table that fits ``width`` (80 columns keeps what matters: when, which
    market and outcome, size, our price, the latency tax, the fee, the delay and the result);
    only the market question is ever cut, never a number."""
    from rich import box
    from rich.table import Table

    wide = width >= WIDE_REPORT
    names = ["filled (UTC)" if wide else "filled", "market", "trade", "shares"]
    names += ["whale"] if wide else []
    names += ["ours", "tax"] + (["tax %"] if wide else []) + ["fee"]
    names += ["source", "whale→seen", "seen→fill"] if wide else ["delay"]
    names += ["whale edge", "exp. tax", "net edge"] if wide else []
    names.append("result")
    body = [_report_cells(r, wide) for r in rows]
    widths = [max([len(n), *(len(c[i]) for c in body)]) for i, n in enumerate(names)]
    # Two cells between columns; the market takes what is left (at least 12).
    others = sum(w for i, w in enumerate(widths) if i != 1) + 2 * (len(names) - 1)
    market_width = max(12, min(widths[1], width - others))
    table = Table(
        title=f"Copied trades vs the whale ({mode})", box=box.SIMPLE_HEAD, pad_edge=False,
        padding=(0, 1, 0, 0), expand=False, show_edge=False,
    )  # fmt: skip
    for i, name in enumerate(names):
        left = name in ("market", "trade", "source", "result") or i == 0
        if name == "market":
            table.add_column(name, width=market_width, no_wrap=True, overflow="ellipsis")
        else:
            table.add_column(name, justify="left" if left else "right", no_wrap=True,
                             min_width=widths[i])  # fmt: skip
    for cells in body:
        table.add_row(*cells)
    return table


def _report_cells(r: ParityRow, wide: bool) -> list[str]:
    when = r.filled_at[:19].replace("T", " ") if wide else r.filled_at[11:19]
    cells = [when, r.market or r.token_id[:12], f"{r.side} {r.outcome_name}".strip()]
    cells += [f"{r.shares:,.2f}", *((f"{r.whale_price:.3f}",) if wide else ())]
    cells += [f"{r.our_price:.3f}", display.cents(r.tax_cents)]
    if wide:
        cells.append(f"{r.tax_pct:+.2f}%")
    cells.append(display.money(r.fee_usd))
    if wide:
        cells += [r.source, _secs(r.seen_s), _secs(r.to_fill_s)]
    else:
        cells.append(_secs(r.latency_s))
    if wide:
        edge = "-" if r.whale_edge is None else display.cents(r.whale_edge * 100)
        if r.whale_edge is not None and r.whale_edge_se is not None:
            edge += f" ±{r.whale_edge_se * 100:.1f}"
        cells.append(edge)
        cells += [_per_share(r.expected_tax), _per_share(r.net_edge)]
    # A flagged copy says so in the result column at every width.
    cells.append(f"{r.outcome} (whale tx never mined)" if r.flag else r.outcome)
    return cells


def _per_share(value: Decimal | None) -> str:
    return "-" if value is None else display.cents(value * 100)


def summary_line(total: dict[str, Decimal | int]) -> str:
    """``3 fills · fees $0.16 · average tax +0.5¢ · won 1 · lost 0``."""
    fills = int(total.get("fills", 0))
    if not fills:
        return "no fills yet"
    fees = Decimal(total["fees_usd"])
    tax = Decimal(total["avg_tax_cents"])
    flagged = int(total.get("flagged", 0))
    note = f" · {flagged} copied a whale transaction never mined" if flagged else ""
    return (
        f"{fills} fill{'s' if fills != 1 else ''} · fees {display.money(fees)} · average tax"
        f" {display.cents(tax)} per share · won {total['won']} · lost {total['lost']}{note}"
    )
