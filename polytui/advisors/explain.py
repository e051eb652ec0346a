"""``whales explain``: a wallet's profile and recent trades in, a checked playbook out (pure).

The advisor sees a table of named facts (the profile's numbers) and the wallet's recent fills,
each with a short id (``T01`` …). It answers with claims, each citing its evidence: a fact by key
with the value the claim reads, or a trade by id. Every citation is checked here — the fact
must exist and the value must match it (a percentage or cents may stand for a ratio or dollars,
within half a unit of the digits written); the trade id must be one that was given. A claim
with no evidence, or with any citation that does not check out, is dropped and said why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from polytui.amounts import MICRO
from polytui.text import clean_text

SYSTEM = (
    "You explain how one Polymarket wallet trades, for a trader deciding whether to copy it. "
    "You get a table of facts (named numbers from its settled history) and its recent fills, "
    "each with an id. Answer only with JSON matching the schema: a few short claims (what it "
    "buys, at which prices, how early, how well it did, whether a copy keeps the edge). Every "
    "claim must cite its evidence: a fact by its key with the value as your claim states it "
    '(kind "number"), or a fill by its id (kind "trade", value ""). A claim that cannot cite '
    "evidence must not be made. Do not give advice on whether to trade."
)
_NUMBER = re.compile(r"[-+]?\d[\d,]*(?:\.\d+)?")


@dataclass(frozen=True, slots=True)
class Claim:
    """A claim that survived the checks, with its evidence rendered."""

    text: str
    evidence: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Playbook:
    """What ``whales explain`` prints: kept claims and the dropped ones with the reason."""

    wallet: str
    advisor: str
    claims: tuple[Claim, ...]
    dropped: tuple[tuple[str, str], ...]


def plain(value: Decimal) -> str:
    """``40``, ``0.041``: no exponent, no trailing zeros."""
    text = format(value.normalize(), "f")
    return text if text != "-0" else "0"


def facts_of(profile: Any) -> dict[str, Decimal]:
    """The profile's numbers by key (only those that are known)."""
    r = profile.record
    facts: dict[str, Decimal | None] = {
        "fills": Decimal(profile.trades),
        "bets": Decimal(profile.bets),
        "settled_bets": Decimal(profile.resolved),
        "wins": Decimal(profile.wins),
        "win_rate": (Decimal(profile.wins) / profile.resolved) if profile.resolved else None,
        "realized_pnl_usd": profile.realized_pnl_usd,
        "roi": profile.roi,
        "edge_per_share": r.edge,
        "edge_se": r.se,
        "edge_per_usd": r.per_usd,
        "markets": Decimal(r.clusters),
        "holding_median_h": None
        if profile.holding_median_s is None
        else Decimal(profile.holding_median_s) / 3600,
    }
    for c in profile.copy:
        key = f"copy_edge_{plain(c.delay_s)}s"
        facts[key] = c.stat.edge
        facts[f"{key}_copied"] = Decimal(c.stat.n)
    for i, p in enumerate(profile.playbooks, 1):
        facts[f"playbook_{i}_bets"] = Decimal(p.stat.n)
        facts[f"playbook_{i}_wins"] = Decimal(p.stat.wins)
        facts[f"playbook_{i}_edge"] = p.stat.edge
    for seg in profile.breakdowns:
        key = f"{seg.dimension}:{seg.label}".replace(" ", "_")
        facts[f"{key}:bets"] = Decimal(seg.stat.n)
        facts[f"{key}:edge"] = seg.stat.edge
    return {k: v.quantize(MICRO) for k, v in facts.items() if v is not None}


def trade_table(fills: list[Any], limit: int) -> dict[str, dict[str, str]]:
    """The newest ``limit`` fills by id (T01 = oldest of them)."""
    recent = sorted(fills, key=lambda f: f.ts_ms)[-limit:] if limit > 0 else []
    return {
        f"T{i:02d}": {
            "time": datetime.fromtimestamp(f.ts_ms / 1000, UTC).isoformat(timespec="seconds"),
            "side": f.side.value,
            "outcome": clean_text(f.outcome, 40),
            "price": str(f.price),
            "shares": str(f.shares),
            "role": f.role.value,
            "market": clean_text(f.title, 120),
            "tx": f.tx_hash,
        }
        for i, f in enumerate(recent, 1)
    }


def request_doc(profile: Any, facts: dict[str, Decimal], trades: dict[str, Any]) -> dict[str, Any]:
    """The user message (plain JSON)."""
    return {
        "wallet": profile.wallet,
        "facts": {k: plain(v) for k, v in facts.items()},
        "fact_notes": {
            "edge_per_share": "outcome minus price paid per share, fees included, in USD",
            "roi": "realized P&L / cost, a ratio",
            "copy_edge_<d>s": "edge per share of a copy arriving d seconds after the fill",
        },
        "playbooks": [p.sentence for p in profile.playbooks],
        "copyable": profile.copyable,
        "copyable_reason": profile.reason,
        "recent_fills": {k: {x: y for x, y in v.items() if x != "tx"} for k, v in trades.items()},
    }


def _value_matches(written: str, fact: Decimal) -> bool:
    match = _NUMBER.search(written)
    if match is None:
        return False
    digits = match.group(0).replace(",", "")
    number = Decimal(digits)
    places = len(digits.split(".")[1]) if "." in digits else 0
    half = Decimal(5) / (Decimal(10) ** (places + 1))
    candidates = [(number, half)]
    if "%" in written or "¢" in written or "cent" in written:
        candidates.append((number / 100, half / 100))
    return any(abs(value - fact) <= tolerance for value, tolerance in candidates)


def check(
    answer: dict[str, Any],
    facts: dict[str, Decimal],
    trades: dict[str, dict[str, str]],
    wallet: str,
    advisor: str,
) -> Playbook:
    """Keep the claims whose every citation checks out; say why the others were dropped."""
    kept: list[Claim] = []
    dropped: list[tuple[str, str]] = []
    for raw in answer["claims"]:
        text = clean_text(raw["text"], 400)
        evidence = raw["evidence"]
        if not evidence:
            dropped.append((text, "no evidence"))
            continue
        shown: list[str] = []
        problem = ""
        for item in evidence:
            ref = str(item["ref"]).strip()
            if item["kind"] == "trade":
                trade = trades.get(ref)
                if trade is None:
                    problem = f"cites trade {ref!r}, which was not given"
                    break
                shown.append(
                    f"{ref}: {trade['side']} {trade['outcome']} @ {trade['price']} × "
                    f"{trade['shares']} ({trade['time']}, tx {trade['tx'][:12]})"
                )
            else:
                fact = facts.get(ref)
                if fact is None:
                    problem = f"cites fact {ref!r}, which does not exist"
                    break
                if not _value_matches(str(item["value"]), fact):
                    said = clean_text(item["value"], 40)
                    problem = f"says {ref} = {said!r}; it is {plain(fact)}"
                    break
                shown.append(f"{ref} = {plain(fact)}")
        if problem:
            dropped.append((text, problem))
        else:
            kept.append(Claim(text, tuple(shown)))
    return Playbook(wallet, advisor, tuple(kept), tuple(dropped))


def to_json(playbook: Playbook) -> dict[str, Any]:
    """``whales explain --json``."""
    return {
        "wallet": playbook.wallet,
        "advisor": playbook.advisor,
        "claims": [{"text": c.text, "evidence": list(c.evidence)} for c in playbook.claims],
        "dropped": [{"text": t, "why": w} for t, w in playbook.dropped],
    }
