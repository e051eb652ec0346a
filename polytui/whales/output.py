"""What ``polytui whales`` prints: rich tables on stdout, progress on stderr, or one JSON document.

Pure presentation over finished profiles and rows; nothing here fetches or writes.
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from typing import Any

from polytui.whales.profile import WalletProfile

SPARK = "▁▂▃▄▅▆▇█"


def sparkline(values: list[float]) -> str:
    """Values as block characters (for the P&L curve and active hours)."""
    if not values:
        return ""
    lo, hi = min(values), max(values)
    span = hi - lo or 1.0
    return "".join(SPARK[int((v - lo) / span * (len(SPARK) - 1))] for v in values)


def _console(stderr: bool = False) -> Any:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=False)


def cents(value: str | Decimal | None, se: str | Decimal | None = None) -> str:
    if value is None:
        return "—"
    text = f"{Decimal(value) * 100:+.1f}"
    return text if se is None else f"{text} ± {Decimal(se) * 100:.1f}"


def print_rank(rows: list[dict[str, Any]], title: str) -> None:
    """The human table of ranked wallets."""
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for name, justify in (
        ("#", "right"),
        ("wallet", "left"),
        ("settled", "right"),
        ("edge ¢/sh", "right"),
        ("copy ¢/sh", "right"),
        ("copyable", "left"),
        ("P&L $", "right"),
        ("last trade", "left"),
        ("why", "left"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for i, row in enumerate(rows, 1):
        who = row["alias"] or f"{row['wallet'][:8]}…{row['wallet'][-4:]}"
        table.add_row(
            str(i),
            who,
            str(row["resolved"]),
            cents(row["edge"], row["edge_se"]),
            cents(row["copy_edge"], row["copy_edge_se"]),
            "yes" if row["copyable"] else "no",
            f"{Decimal(row['realized_pnl_usd']):,.2f}",
            (row["last_trade"] or "—")[:16].replace("T", " "),
            row["reason"],
        )
    if not rows:
        table.caption = "no wallets (add one with `polytui whales add ADDR`)"
    _console().print(table)


def print_profile(profile: WalletProfile, alias: str, latency_s: float) -> None:
    """``whales show``: the whole profile."""
    from rich.table import Table

    out = _console()
    r = profile.record
    out.print(f"[b]{alias or profile.wallet}[/b]  {profile.wallet}")
    out.print(
        f"{profile.trades} fills in {profile.bets} bets; {profile.resolved} settled, "
        f"{profile.wins} won; realized P&L ${profile.realized_pnl_usd:,.2f} "
        f"({profile.pnl_source}); ROI {profile.roi * 100:+.1f} %"
    )
    out.print(
        f"price-adjusted edge {cents(r.edge, r.se)} ¢/share "
        f"(95 % {cents(r.lo)} to {cents(r.hi)}), {r.per_usd * 100:+.1f} % per dollar, "
        f"p = {r.p_value if r.p_value is not None else '—'}"
    )
    out.print(f"copyable: {'yes' if profile.copyable else 'no'} — {profile.reason}")
    copies = Table(title="copy edge by delay", title_justify="left")
    for name in ("delay s", "copied", "edge ¢/sh", "95 %"):
        copies.add_column(name, justify="right")
    for c in profile.copy:
        copies.add_row(
            str(c.delay_s),
            f"{c.stat.n}/{c.attempted}",
            cents(c.stat.edge, c.stat.se),
            f"{cents(c.stat.lo)} to {cents(c.stat.hi)}",
        )
    out.print(copies)
    if profile.playbooks:
        out.print("[b]playbooks[/b]")
        for p in profile.playbooks:
            out.print(f"  • {p.sentence} (p = {p.p_adjusted} after {p.tried} segments)")
    else:
        out.print("playbooks: none survives the correction for the segments tried")
    table = Table(title="breakdowns", title_justify="left")
    for name in ("by", "segment", "bets", "won", "edge ¢/sh", "per $"):
        table.add_column(name, justify="left" if name in ("by", "segment") else "right")
    for seg in profile.breakdowns:
        s = seg.stat
        table.add_row(
            seg.dimension,
            seg.label,
            str(s.n),
            str(s.wins),
            cents(s.edge, s.se),
            f"{s.per_usd * 100:+.1f} %",
        )
    out.print(table)
    if profile.holding_median_s is not None:
        out.print(
            f"holding time: median {profile.holding_median_s / 3600:.1f} h, "
            f"mean {(profile.holding_mean_s or 0) / 3600:.1f} h"
        )
    out.print(f"active hours (UTC 0-23): {sparkline([float(h) for h in profile.active_hours])}")
    if profile.pnl_curve:
        out.print(
            f"P&L curve: {sparkline([float(v) for _, v in profile.pnl_curve])} "
            f"(last ${profile.pnl_curve[-1][1]:,.2f})"
        )
    for note in profile.notes:
        out.print(f"[dim]note: {note}[/dim]")


def _yes_no(value: Any) -> str:
    return "—" if value is None else ("yes" if value else "no")


def emit_json(document: Any) -> None:
    sys.stdout.write(json.dumps(document, indent=2, default=str) + "\n")


def print_watch_list(rows: list[dict[str, Any]], title: str) -> None:
    """``whales list``: the watch list with its saved profile summary."""
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for name in ("wallet", "alias", "policy", "settled", "edge ¢/sh", "copyable"):
        table.add_column(name)
    for item in rows:
        table.add_row(
            item["wallet"],
            item["alias"],
            item["policy"],
            str(item.get("resolved", "—")),
            cents(item.get("edge"), item.get("edge_se")) if "edge" in item else "—",
            _yes_no(item.get("copyable")),
        )
    _console().print(table)


class Progress:
    """rich progress on stderr (only on a terminal, and never with --json)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.progress: Any = None
        self.tasks: dict[str, Any] = {}

    def __enter__(self) -> Progress:
        if self.enabled:
            from rich.progress import Progress as RichProgress

            self.progress = RichProgress(console=_console(stderr=True), transient=True)
            self.progress.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.progress is not None:
            self.progress.stop()

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        if self.progress is None:
            return
        task = self.tasks.get(stage)
        if task is None:
            task = self.tasks[stage] = self.progress.add_task(stage, total=total)
        self.progress.update(task, completed=done, total=total)
