"""A wallet's profile from its history: record, breakdowns, playbooks, copyability (pure).

Inputs are parsed history (fills with their maker/taker role, settlements, market facts, the
markets' trade tapes, closed positions, activity, the P&L curve); the clock is a parameter. The
headline is the **price-adjusted edge** — outcome minus price paid per share, fees included —
with a cluster-robust standard error (bets in one market share its outcome), per share and per
dollar. Money (P&L, cost, ROI) is Decimal; estimates are Decimal text of float arithmetic
(``stats``). ``to_record`` / ``from_record`` are the journal form.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from polytui.model import ZERO, FeeSchedule, Role, usd
from polytui.model.history import ActivityEvent, ClosedPosition, HistoryTrade, PnlPoint, Resolution
from polytui.whales.bets import Bet, MarketFacts, build_bets
from polytui.whales.copyability import Tape, copy_edges
from polytui.whales.habits import active_hours, holding_times, pnl_curve
from polytui.whales.playbooks import (
    action_of,
    find_playbooks,
    price_band,
    sentence,
    size_band,
    time_band,
)
from polytui.whales.stats import Accumulator, Sample, dec, p_value_positive, t_quantile
from polytui.whales.style import style_of

DEFAULT_DELAYS_S = (0.65, 2.0, 5.0, 15.0)


@dataclass(frozen=True, slots=True)
class ProfileParams:
    """Knobs of the profile (``[history]`` in config)."""

    delays_s: tuple[float, ...] = DEFAULT_DELAYS_S
    copy_latency_s: float = 2.0
    tape_horizon_s: float = 300.0
    fallback_fee: FeeSchedule | None = None
    min_resolved: int = 20
    min_segment_n: int = 10
    alpha: float = 0.05
    max_playbooks: int = 5

    @property
    def all_delays_s(self) -> tuple[float, ...]:
        """The delays to price, always including the configured source latency."""
        return tuple(sorted({*self.delays_s, self.copy_latency_s}))


@dataclass(frozen=True, slots=True)
class EdgeStat:
    """An edge estimate: n bets in ``clusters`` markets, mean $/share ± se, 95 % interval."""

    n: int
    wins: int
    clusters: int
    edge: Decimal
    se: Decimal | None
    lo: Decimal | None
    hi: Decimal | None
    per_usd: Decimal
    per_usd_se: Decimal | None
    p_value: Decimal | None

    @classmethod
    def of(cls, acc: Accumulator) -> EdgeStat:
        """Summarize an accumulator (two-sided 95 % t interval, one-sided p vs 0)."""
        se = acc.se
        half = t_quantile(0.975, acc.df) * se if math.isfinite(se) else math.inf
        p = p_value_positive(acc.mean, se, acc.df) if acc.n else math.nan
        return cls(
            n=acc.n,
            wins=acc.wins,
            clusters=len(acc.clusters),
            edge=dec(acc.mean) or ZERO,
            se=dec(se),
            lo=dec(acc.mean - half),
            hi=dec(acc.mean + half),
            per_usd=dec(acc.per_usd) or ZERO,
            per_usd_se=dec(acc.per_usd_se),
            p_value=dec(p, 6),
        )

    def lower_bound(self, z: float = 1.645) -> Decimal | None:
        """One-sided lower bound edge − z·se (None without a finite se)."""
        if self.se is None:
            return None
        return self.edge - Decimal(str(z)) * self.se

    def to_record(self) -> dict[str, Any]:
        """JSON-able (Decimal as text)."""
        return {k: _txt(getattr(self, k)) for k in _EDGE_FIELDS}

    @classmethod
    def from_record(cls, raw: dict[str, Any]) -> EdgeStat:
        """Inverse of ``to_record``."""
        return cls(
            n=int(raw["n"]),
            wins=int(raw["wins"]),
            clusters=int(raw["clusters"]),
            edge=Decimal(raw["edge"]),
            se=_opt(raw.get("se")),
            lo=_opt(raw.get("lo")),
            hi=_opt(raw.get("hi")),
            per_usd=Decimal(raw["per_usd"]),
            per_usd_se=_opt(raw.get("per_usd_se")),
            p_value=_opt(raw.get("p_value")),
        )


_EDGE_FIELDS = ("n", "wins", "clusters", "edge", "se", "lo", "hi", "per_usd", "per_usd_se",
                "p_value")  # fmt: skip


def _txt(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


def _opt(raw: Any) -> Decimal | None:
    return None if raw is None else Decimal(raw)


@dataclass(frozen=True, slots=True)
class Segment:
    """One row of a breakdown: dimension, label and its edge."""

    dimension: str
    label: str
    stat: EdgeStat


@dataclass(frozen=True, slots=True)
class Playbook:
    """A statistically real segment, in one sentence."""

    description: str
    sentence: str
    stat: EdgeStat
    p_adjusted: Decimal
    tried: int


@dataclass(frozen=True, slots=True)
class CopyEdge:
    """The copy edge at one delay; ``attempted`` settled buy bets, ``stat.n`` of them copied."""

    delay_s: Decimal
    attempted: int
    stat: EdgeStat


@dataclass(frozen=True, slots=True)
class WalletProfile:
    """Everything ``whales show`` prints and ``whales rank`` sorts by."""

    wallet: str
    computed_at_ms: int
    trades: int
    bets: int
    resolved: int
    wins: int
    redeems: int
    realized_pnl_usd: Decimal
    pnl_source: str
    cost_usd: Decimal
    roi: Decimal
    record: EdgeStat
    breakdowns: tuple[Segment, ...]
    holding_median_s: int | None
    holding_mean_s: int | None
    active_hours: tuple[int, ...]
    playbooks: tuple[Playbook, ...]
    copy: tuple[CopyEdge, ...]
    copy_latency_s: Decimal
    copyable: bool
    reason: str
    first_trade_ms: int | None
    last_trade_ms: int | None
    pnl_curve: tuple[tuple[int, Decimal], ...] = ()
    notes: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    def copy_at(self, delay_s: float) -> CopyEdge | None:
        """The copy edge at the delay nearest ``delay_s``."""
        if not self.copy:
            return None
        return min(self.copy, key=lambda c: abs(float(c.delay_s) - delay_s))

    def to_record(self) -> dict[str, Any]:
        """The journal form (Decimal as text, nested types as dicts)."""
        return {
            "wallet": self.wallet,
            "computed_at_ms": self.computed_at_ms,
            "trades": self.trades,
            "bets": self.bets,
            "resolved": self.resolved,
            "wins": self.wins,
            "redeems": self.redeems,
            "realized_pnl_usd": str(self.realized_pnl_usd),
            "pnl_source": self.pnl_source,
            "cost_usd": str(self.cost_usd),
            "roi": str(self.roi),
            "record": self.record.to_record(),
            "breakdowns": [
                {"dimension": s.dimension, "label": s.label, "stat": s.stat.to_record()}
                for s in self.breakdowns
            ],
            "holding_median_s": self.holding_median_s,
            "holding_mean_s": self.holding_mean_s,
            "active_hours": list(self.active_hours),
            "playbooks": [
                {
                    "description": p.description,
                    "sentence": p.sentence,
                    "stat": p.stat.to_record(),
                    "p_adjusted": str(p.p_adjusted),
                    "tried": p.tried,
                }
                for p in self.playbooks
            ],
            "copy": [
                {"delay_s": str(c.delay_s), "attempted": c.attempted, "stat": c.stat.to_record()}
                for c in self.copy
            ],
            "copy_latency_s": str(self.copy_latency_s),
            "copyable": self.copyable,
            "reason": self.reason,
            "first_trade_ms": self.first_trade_ms,
            "last_trade_ms": self.last_trade_ms,
            "pnl_curve": [[ts, str(v)] for ts, v in self.pnl_curve],
            "notes": list(self.notes),
            "extra": self.extra,
        }

    @classmethod
    def from_record(cls, raw: dict[str, Any]) -> WalletProfile:
        """Inverse of ``to_record``."""
        return cls(
            wallet=raw["wallet"],
            computed_at_ms=int(raw["computed_at_ms"]),
            trades=int(raw["trades"]),
            bets=int(raw["bets"]),
            resolved=int(raw["resolved"]),
            wins=int(raw["wins"]),
            redeems=int(raw.get("redeems", 0)),
            realized_pnl_usd=Decimal(raw["realized_pnl_usd"]),
            pnl_source=raw["pnl_source"],
            cost_usd=Decimal(raw["cost_usd"]),
            roi=Decimal(raw["roi"]),
            record=EdgeStat.from_record(raw["record"]),
            breakdowns=tuple(
                Segment(s["dimension"], s["label"], EdgeStat.from_record(s["stat"]))
                for s in raw["breakdowns"]
            ),
            holding_median_s=raw.get("holding_median_s"),
            holding_mean_s=raw.get("holding_mean_s"),
            active_hours=tuple(int(h) for h in raw["active_hours"]),
            playbooks=tuple(
                Playbook(
                    p["description"],
                    p["sentence"],
                    EdgeStat.from_record(p["stat"]),
                    Decimal(p["p_adjusted"]),
                    int(p["tried"]),
                )
                for p in raw["playbooks"]
            ),
            copy=tuple(
                CopyEdge(
                    Decimal(c["delay_s"]), int(c["attempted"]), EdgeStat.from_record(c["stat"])
                )
                for c in raw["copy"]
            ),
            copy_latency_s=Decimal(raw["copy_latency_s"]),
            copyable=bool(raw["copyable"]),
            reason=raw["reason"],
            first_trade_ms=raw.get("first_trade_ms"),
            last_trade_ms=raw.get("last_trade_ms"),
            pnl_curve=tuple((int(ts), Decimal(v)) for ts, v in raw.get("pnl_curve", [])),
            notes=tuple(raw.get("notes", [])),
            extra=dict(raw.get("extra", {})),
        )


def _breakdowns(bets: Sequence[Bet], sample: Sample) -> tuple[Segment, ...]:
    groups: dict[tuple[str, str], list[int]] = {}
    for i, bet in enumerate(bets):
        for key in (
            ("category", bet.category or "unknown"),
            ("price", price_band(float(bet.avg_price))),
            ("time", time_band(bet.before_end_s)),
            ("size", size_band(bet.usd)),
            ("role", bet.role.value),
            ("action", action_of(bet)),
        ):
            groups.setdefault(key, []).append(i)
    order = {"category": 0, "price": 1, "time": 2, "size": 3, "role": 4, "action": 5}
    return tuple(
        Segment(dim, label, EdgeStat.of(Accumulator.of(indices, sample)))
        for (dim, label), indices in sorted(
            groups.items(), key=lambda kv: (order[kv[0][0]], kv[0][1])
        )
    )


def sample_of(bets: Sequence[Bet]) -> Sample:
    """Columns of settled bets (each Decimal property computed once).

    The columns feed estimates only (means, standard errors, ratios, in ``stats``), so they are
    binary floats; the money figures of the same bets (realized P&L, cost, ROI) are summed in
    Decimal by ``build_profile`` and never read back from here."""
    cluster, xs, es, cs, won = [], [], [], [], []
    for bet in bets:
        pnl = bet.pnl_usd
        cluster.append(bet.condition_id)
        xs.append(float(pnl / bet.shares) if bet.shares else 0.0)
        es.append(float(pnl))
        cs.append(float(bet.capital_usd))
        won.append(bet.won)
    return Sample(cluster, xs, es, cs, won)


def _copyable(
    record: EdgeStat, copy: CopyEdge | None, resolved: int, params: ProfileParams, latency: str
) -> tuple[bool, str]:
    if resolved < params.min_resolved:
        return False, f"only {resolved} settled bets (needs {params.min_resolved})"
    if copy is None or copy.attempted == 0:
        return False, "no settled buys to copy"
    if copy.stat.n < max(1, copy.attempted // 2):
        return False, (
            f"the market tape after its buys is too thin: {copy.stat.n} of "
            f"{copy.attempted} could be copied"
        )
    bound = copy.stat.lower_bound()
    cents = _cents(copy.stat.edge)
    se = _cents(copy.stat.se) if copy.stat.se is not None else "?"
    if bound is None or bound <= 0:
        whale_bound = record.lower_bound()
        if whale_bound is not None and whale_bound > 0:
            return False, (
                f"edge gone by {latency} s: the wallet makes {_cents(record.edge)} "
                f"¢/share, a copy {cents} ± {se}"
            )
        return False, f"no edge that survives a {latency} s copy ({cents} ± {se} ¢/share)"
    return True, f"copy edge {cents} ± {se} ¢/share at {latency} s over {copy.stat.n} bets"


def _cents(value: Decimal | None) -> str:
    if value is None:
        return "?"
    return f"{value * 100:+.1f}"


def _playbooks(
    settled: Sequence[Bet], sample: Sample, params: ProfileParams
) -> tuple[Playbook, ...]:
    """The segments that survive Holm's correction, each with its sentence."""
    return tuple(
        Playbook(
            description=", ".join(f"{k}={v}" for k, v in cand.attrs.items()),
            sentence=(
                f"{sentence(cand.attrs)}: {cand.stat.wins} of {cand.stat.n} won, "
                f"{_cents(dec(cand.stat.mean))} ¢/share ± {_cents(dec(cand.stat.se))[1:]}"
            ),
            stat=EdgeStat.of(cand.stat),
            p_adjusted=dec(cand.p_adjusted, 6) or Decimal(1),
            tried=cand.tried,
        )
        for cand in find_playbooks(
            settled,
            sample,
            min_n=params.min_segment_n,
            alpha=params.alpha,
            limit=params.max_playbooks,
        )
    )


def build_profile(
    wallet: str,
    trades: Sequence[HistoryTrade],
    resolutions: Mapping[str, Resolution],
    *,
    now_ms: int,
    markets: Mapping[str, MarketFacts] | None = None,
    tapes: Mapping[str, Tape] | None = None,
    closed: Sequence[ClosedPosition] = (),
    events: Sequence[ActivityEvent] = (),
    pnl_points: Sequence[PnlPoint] = (),
    params: ProfileParams = ProfileParams(),
) -> WalletProfile:
    """Profile ``wallet`` from its parsed history (no I/O, no clock read)."""
    markets = markets or {}
    tapes = tapes or {}
    wallet = wallet.lower()
    trades = [t for t in trades if t.wallet == wallet]
    bets = build_bets(trades, resolutions, markets, params.fallback_fee)
    settled = [b for b in bets if b.payout is not None]
    sample = sample_of(settled)
    record_acc = Accumulator.of(range(len(settled)), sample)
    pnl = sum((b.pnl_usd for b in settled), ZERO)
    cost = sum((b.capital_usd for b in settled), ZERO)
    record = EdgeStat.of(record_acc)
    if closed:
        realized = usd(sum((c.realized_pnl_usd for c in closed), ZERO))
        pnl_source = "closed positions"
    else:
        realized = usd(pnl)
        pnl_source = "settled bets"
    copies = copy_edges(
        settled, tapes, markets, params.all_delays_s, params.tape_horizon_s, params.fallback_fee
    )
    copy = tuple(
        CopyEdge(Decimal(str(c.delay_s)), c.attempted, EdgeStat.of(c.stat)) for c in copies
    )
    latency = f"{params.copy_latency_s:g}"
    chosen = min(copy, key=lambda c: abs(float(c.delay_s) - params.copy_latency_s), default=None)
    copyable, reason = _copyable(record, chosen, len(settled), params, latency)
    style, prefix = style_of(settled)
    reason = f"{prefix}: {reason}" if prefix else reason
    holds = holding_times(trades, bets, events)
    times = [t.ts_ms for t in trades]
    notes = []
    if any(t.role is Role.UNKNOWN for t in trades):
        notes.append("maker/taker unknown for some fills: they are charged the taker fee")
    return WalletProfile(
        wallet=wallet,
        computed_at_ms=now_ms,
        trades=len(trades),
        bets=len(bets),
        resolved=len(settled),
        wins=record_acc.wins,
        redeems=sum(1 for e in events if e.kind == "REDEEM"),
        realized_pnl_usd=realized,
        pnl_source=pnl_source,
        cost_usd=usd(cost),
        roi=(pnl / cost).quantize(Decimal("0.0001")) if cost > 0 else ZERO,
        record=record,
        breakdowns=_breakdowns(settled, sample),
        holding_median_s=int(statistics.median(holds)) if holds else None,
        holding_mean_s=int(statistics.fmean(holds)) if holds else None,
        active_hours=active_hours(trades),
        playbooks=_playbooks(settled, sample, params),
        copy=copy,
        copy_latency_s=Decimal(latency),
        copyable=copyable,
        reason=reason,
        first_trade_ms=min(times) if times else None,
        last_trade_ms=max(times) if times else None,
        pnl_curve=pnl_curve(pnl_points),
        notes=tuple(notes),
        extra={"style": style, "settled_pnl_usd": str(usd(pnl))},
    )
