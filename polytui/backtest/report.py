"""The backtest report: our P&L against the truth and against an oracle, as JSON, text and a
picture. Every amount is Decimal, written as a string."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from polytui.backtest.run import RunRecord
from polytui.backtest.world import ScenarioWorld, fee_per_share

ZERO = Decimal(0)
MICRO = Decimal("0.000001")
CENT = Decimal("0.01")
MIN_SHARES = Decimal(5)


def _usd(value: Decimal) -> str:
    return str(value.quantize(MICRO))


def _win(world: ScenarioWorld, condition_id: str, token: str) -> Decimal:
    return Decimal(1) if world.winner_of(condition_id) == token else ZERO


def fill_pnl(world: ScenarioWorld, fill: dict[str, Any]) -> Decimal:
    """A fill valued at the true winner, after its fee."""
    shares = Decimal(fill["shares"])
    price = Decimal(fill["avg_price"])
    fee = Decimal(fill["fee_usd"])
    win = _win(world, fill["condition_id"], fill["token_id"])
    sign = 1 if fill["side"] == "BUY" else -1
    return sign * shares * (win - price) - fee


def market_se(by_market: dict[str, Decimal]) -> Decimal:
    """Standard error of a total whose independent units are markets."""
    n = len(by_market)
    if n < 2:
        return ZERO
    values = list(by_market.values())
    mean = sum(values, ZERO) / n
    var = sum(((v - mean) ** 2 for v in values), ZERO) / (n - 1)
    return (var * n).sqrt().quantize(MICRO)


@dataclass(slots=True)
class Book:
    """P&L of a list of fills against the truth, for ours and the oracle alike."""

    fills: list[dict[str, Any]]

    def by_market(self, world: ScenarioWorld) -> dict[str, Decimal]:
        out: dict[str, Decimal] = {}
        for fill in self.fills:
            c = fill["condition_id"]
            out[c] = out.get(c, ZERO) + fill_pnl(world, fill)
        return out

    def curve(self, world: ScenarioWorld, start: Decimal, times: list[float]) -> list[Decimal]:
        """Equity with positions at cost until their market resolves, then at the payout."""
        ends = {m.condition_id: m.end_s for m in world.markets}
        out = []
        for t in times:
            equity = start
            for fill in self.fills:
                if fill["t"] > t:
                    continue
                if ends[fill["condition_id"]] <= t:
                    equity += fill_pnl(world, fill)
                else:
                    equity -= Decimal(fill["fee_usd"])
            out.append(equity.quantize(MICRO))
        return out


def oracle_fills(
    world: ScenarioWorld,
    wallets: set[str],
    *,
    stake_usd: Decimal,
    latency_s: float,
    settings: Any,
) -> list[dict[str, Any]]:
    """Copy every trade of ``wallets`` with a fixed stake, arriving when we do (the feed's delay
    plus the paper latency), walking the book and paying its fee, under the same exposure,
    entry-price and time-to-resolution limits."""
    risk = settings.risk
    start = settings.paper.starting_balance_usd
    ends = {m.condition_id: m for m in world.markets}
    cash = start
    open_cost: dict[str, Decimal] = {}
    fills: list[dict[str, Any]] = []
    for trade in world.trades:
        if trade.wallet not in wallets:
            continue
        t = trade.t + world.rtds_delay_s + latency_s
        if t >= world.horizon_s:
            continue
        for c in [c for c in open_cost if ends[c].end_s <= t]:  # settle what resolved
            cash += sum(
                (
                    Decimal(f["shares"]) * _win(world, c, f["token_id"])
                    for f in fills
                    if f["condition_id"] == c
                ),
                ZERO,
            )
            del open_cost[c]
        market = ends[trade.condition_id]
        if market.end_s - t < risk.min_time_to_resolution_s:
            continue
        asks = world.asks(trade.token_id, t)
        if not asks or not (risk.min_entry_price <= asks[0][0] <= risk.max_entry_price):
            continue
        shares = (stake_usd / asks[0][0]).quantize(CENT, rounding=ROUND_FLOOR)
        cost, fee, got = ZERO, ZERO, ZERO
        for price, size in asks:
            take = min(size, shares - got)
            if take <= 0:
                break
            cost += take * price
            fee += (take * fee_per_share(price, market.fee_rate, market.fee_exponent)).quantize(
                MICRO
            )
            got += take
        if got < MIN_SHARES:
            continue
        total = sum(open_cost.values(), ZERO)
        in_market = open_cost.get(market.condition_id, ZERO)
        if (
            total + cost > risk.max_total_exposure_usd
            or in_market + cost > risk.max_market_exposure_usd
            or cash < cost + fee
        ):
            continue
        cash -= cost + fee
        open_cost[market.condition_id] = in_market + cost
        fills.append(
            {
                "t": t,
                "wallet": trade.wallet,
                "condition_id": market.condition_id,
                "token_id": trade.token_id,
                "side": "BUY",
                "shares": str(got),
                "avg_price": str((cost / got).quantize(MICRO)),
                "fee_usd": str(fee),
                "whale_price": str(trade.price),
            }
        )
    return fills


def our_latency(world: ScenarioWorld, record: RunRecord) -> float:
    """Seconds from a whale's match to our order reaching the book."""
    return world.rtds_delay_s + record.latency_s


def build_report(
    world: ScenarioWorld, record: RunRecord, settings: Any, *, random_seed: int | None = None
) -> dict[str, Any]:
    """The JSON report (deterministic: same world, seed and config → same bytes)."""
    epoch = world.wall(0)
    fills = []
    for f in record.fills:
        t = datetime.fromisoformat(f["filled_at"]).timestamp() - epoch
        wallet = record.intents.get(str(f.get("intent_id", "")), "")
        source = f.get("source") or record.intent_source.get(str(f.get("intent_id", "")), "")
        fills.append({**f, "t": t, "wallet": wallet, "source": source or "unknown"})
    ours = Book(fills)
    by_market = ours.by_market(world)
    hold = sum(by_market.values(), ZERO)
    buys = [f for f in fills if f["side"] == "BUY"]
    wins = sum(1 for f in buys if _win(world, f["condition_id"], f["token_id"]) == 1)
    taxes: dict[str, list[Decimal]] = {}
    for f in buys:
        cents = (Decimal(f["avg_price"]) - Decimal(f["whale_price"])) * 100
        taxes.setdefault(f.get("source") or "unknown", []).append(cents)
    all_tax = [c for v in taxes.values() for c in v]
    latency = our_latency(world, record)
    truth = world.truth()
    positive = {w.wallet for w in truth if world.copy_edge(w.wallet, latency) > 0}
    stakes = [Decimal(f["shares"]) * Decimal(f["avg_price"]) for f in buys]
    stake = (
        (sum(stakes, ZERO) / len(stakes)).quantize(CENT)
        if stakes
        else settings.strategy.max_bet_usd
    )
    oracle = Book(
        oracle_fills(
            world, positive, stake_usd=stake, latency_s=record.latency_s, settings=settings
        )
    )
    oracle_by_market = oracle.by_market(world)
    times = [t for t, _ in record.marked]
    start = record.start_usd
    our_curve = ours.curve(world, start, times)
    oracle_curve = oracle.curve(world, start, times)
    peak, drawdown = start, ZERO
    for value in our_curve:
        peak = max(peak, value)
        drawdown = max(drawdown, peak - value)
    seen_after: dict[str, list[int]] = {}
    for s in record.signals:
        seen_after.setdefault(s["source"] or "unknown", []).append(s["latency_ms"])
    signals_by: dict[str, int] = {}
    for s in record.signals:
        signals_by[s["wallet"]] = signals_by.get(s["wallet"], 0) + 1
    whales = []
    for w in truth:
        mine = [f for f in buys if f["wallet"] == w.wallet]
        whales.append(
            {
                "wallet": w.wallet,
                "alias": w.alias,
                "archetype": w.archetype,
                "watched": w.wallet in {x.lower() for x in settings.whales.wallets},
                "true_edge": str(w.true_edge),
                "true_copy_edge": str(world.copy_edge(w.wallet, latency)),
                "copy_edge_at": {f"{d:g}": str(v) for d, v in w.copy_edge.items()},
                "signals": signals_by.get(w.wallet, 0),
                "copies": len(mine),
                "pnl": _usd(sum((fill_pnl(world, f) for f in mine), ZERO)),
                "score": str(record.scores[w.wallet]) if w.wallet in record.scores else None,
                "resolved": record.resolved.get(w.wallet, 0),
                "estimate": record.estimates.get(w.wallet),
                "oracle_copies": sum(1 for f in oracle.fills if f["wallet"] == w.wallet),
            }
        )
    residual = record.cash_usd + record.open_basis_usd - (start + record.realized_usd)
    report: dict[str, Any] = {
        "world": world.name,
        "seed": world.seed,
        "hours": world.hours,
        "policy": record.policy,
        # Replayed opinions at most: no backtest here measures a model's forecasting skill.
        "advisors": record.advisors or {"mode": "off"},
        "latency_s": latency,
        "signals": len(record.signals),
        "copies": len(buys),
        "fills": len(fills),
        "fees_usd": _usd(record.fees_usd),
        "deployed_usd": _usd(sum(stakes, ZERO)),
        "pnl": {
            "realized": _usd(record.realized_usd),
            "hold_to_resolution": _usd(hold),
            "se": str(market_se(by_market)),
            "markets": len(by_market),
        },
        "win_rate": str((Decimal(wins) / len(buys)).quantize(Decimal("0.0001"))) if buys else None,
        "max_drawdown_usd": _usd(drawdown),
        "latency_tax_cents": {
            "mean": str((sum(all_tax, ZERO) / len(all_tax)).quantize(CENT)) if all_tax else None,
            "by_source": {
                k: str((sum(v, ZERO) / len(v)).quantize(CENT)) for k, v in sorted(taxes.items())
            },
        },
        "signal_latency_s": {
            k: round(sum(v) / len(v) / 1000, 3) for k, v in sorted(seen_after.items())
        },
        "oracle": {
            "wallets": sorted(positive),
            "stake_usd": str(stake),
            "copies": len(oracle.fills),
            "pnl": _usd(sum(oracle_by_market.values(), ZERO)),
            "se": str(market_se(oracle_by_market)),
        },
        "accounting": {
            "start_usd": _usd(start),
            "cash_usd": _usd(record.cash_usd),
            "open_basis_usd": _usd(record.open_basis_usd),
            "realized_usd": _usd(record.realized_usd),
            "residual_usd": _usd(residual),
        },
        "equity": {
            "t_s": times,
            "ours": [str(v) for v in our_curve],
            "oracle": [str(v) for v in oracle_curve],
            "ours_marked": [_usd(v) for _, v in record.marked],
        },
        "whales": whales,
        "capital": {
            "copied_net_edges": [
                record.intent_edge.get(str(f.get("intent_id", "")), "0") for f in buys
            ],
            "refused_for_room_net_edges": [
                str(s["net_edge"])
                for s in record.signals
                if s.get("refused_for_room") and s.get("net_edge") is not None
            ],
            "copied_per_usd": [
                record.intent_per_usd.get(str(f.get("intent_id", "")), "0") for f in buys
            ],
            "refused_for_room_per_usd": [
                str(s["edge_per_usd"])
                for s in record.signals
                if s.get("refused_for_room") and s.get("edge_per_usd") is not None
            ],
            "refused_for_room_by_limit": _count(
                s["refused_for_room"] for s in record.signals if s.get("refused_for_room")
            ),
        },
        "feed": {"frames": record.frames, "rejected": record.rejected},
    }
    if random_seed is not None:
        rng = random.Random(random_seed)
        pool = sorted(w.wallet for w in truth)
        chosen = set(rng.sample(pool, max(1, len(pool) // 2)))
        rand = Book(
            oracle_fills(
                world, chosen, stake_usd=stake, latency_s=record.latency_s, settings=settings
            )
        )
        report["random"] = {
            "wallets": sorted(chosen),
            "copies": len(rand.fills),
            "pnl": _usd(sum(rand.by_market(world).values(), ZERO)),
        }
    return report


def _count(values: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for value in values:
        out[value] = out.get(value, 0) + 1
    return dict(sorted(out.items()))


def to_json(report: dict[str, Any]) -> str:
    """The report as canonical JSON (sorted keys), byte-identical for identical runs."""
    return json.dumps(report, sort_keys=True, indent=2)


# --- text ------------------------------------------------------------------------------------


def terminal_curve(
    ours: list[Decimal], oracle: list[Decimal], width: int = 64, height: int = 12
) -> list[str]:
    """An equity chart in characters: ``*`` ours, ``o`` the oracle, ``#`` both."""
    if not ours:
        return ["(no equity samples)"]
    n = len(ours)
    cols = min(width, n)
    pick = [int(i * (n - 1) / max(cols - 1, 1)) for i in range(cols)]
    values = [ours[i] for i in pick] + [oracle[i] for i in pick]
    low, high = min(values), max(values)
    span = (high - low) or Decimal(1)
    grid = [[" "] * cols for _ in range(height)]

    def row(v: Decimal) -> int:
        return height - 1 - int((v - low) / span * (height - 1))

    for x, i in enumerate(pick):
        a, b = row(ours[i]), row(oracle[i])
        grid[b][x] = "o"
        grid[a][x] = "#" if a == b else "*"
    lines = []
    for y, cells in enumerate(grid):
        label = high - span * y / (height - 1) if height > 1 else high
        lines.append(f"{label:>10.2f} |{''.join(cells)}")
    lines.append(" " * 11 + "+" + "-" * cols)
    return lines


def to_text(report: dict[str, Any]) -> str:
    """The report a trader reads at a glance."""
    pnl, oracle, tax = report["pnl"], report["oracle"], report["latency_tax_cents"]
    lines = [
        f"backtest {report['world']} seed {report['seed']}, {report['hours']:g} h, "
        f"policy {report['policy']}, copies arrive {report['latency_s']:.2f} s after the whale",
        f"signals {report['signals']}, copies {report['copies']}, fees ${report['fees_usd']}, "
        f"deployed ${report['deployed_usd']}",
        f"P&L held to resolution ${pnl['hold_to_resolution']} ± {pnl['se']} "
        f"({pnl['markets']} markets); realized ${pnl['realized']}; "
        f"max drawdown ${report['max_drawdown_usd']}",
        f"win rate {report['win_rate']}, latency tax {tax['mean']} ¢/share {tax['by_source']}",
        f"oracle (copies exactly the wallets with positive copy edge): {oracle['copies']} "
        f"copies, ${oracle['pnl']} ± {oracle['se']}",
        advisors_line(report.get("advisors") or {"mode": "off"}),
        "",
        "equity, positions at cost until they resolve (* ours, o oracle)",
        *terminal_curve(
            [Decimal(v) for v in report["equity"]["ours"]],
            [Decimal(v) for v in report["equity"]["oracle"]],
        ),
        "",
        f"{'whale':<16} {'archetype':<14} {'edge':>8} {'copy edge':>10} {'signals':>8} "
        f"{'copies':>7} {'P&L $':>11} {'score':>7}",
    ]
    for w in sorted(report["whales"], key=lambda w: Decimal(w["true_copy_edge"]), reverse=True):
        score = w["score"] if w["score"] is not None else "-"
        lines.append(
            f"{w['alias'][:16]:<16} {w['archetype'][:14]:<14} {w['true_edge']:>8} "
            f"{w['true_copy_edge']:>10} {w['signals']:>8} {w['copies']:>7} "
            f"{Decimal(w['pnl']):>11.2f} {str(score)[:7]:>7}"
        )
    residual = report["accounting"]["residual_usd"]
    lines.append("")
    lines.append(f"books balance: cash + open basis − (start + realized) = {residual}")
    return "\n".join(lines)


def advisors_line(advisors: dict[str, Any]) -> str:
    """What the advisors did, and what it does not mean."""
    if advisors.get("mode") == "off":
        return "advisors: off (a backtest never calls a model)"
    return (
        f"advisors: recorded answers; {advisors['reviews']} reviews moved {advisors['moved']} "
        f"estimates, shrank {advisors['shrunk']} buys, rejected {advisors['rejected']} "
        "(replayed opinions, not a measure of forecasting skill)"
    )


# --- picture ---------------------------------------------------------------------------------


def to_svg(report: dict[str, Any]) -> str:
    """Equity (ours and the oracle's) and per-whale P&L beside the truth, as an SVG."""
    w, h, pad = 900, 560, 50
    times = report["equity"]["t_s"] or [0.0]
    series = {
        "ours": ([float(v) for v in report["equity"]["ours"]], "#1f77b4"),
        "oracle": ([float(v) for v in report["equity"]["oracle"]], "#d62728"),
    }
    values = [v for s, _ in series.values() for v in s] or [0.0]
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    t_end = max(times[-1], 1.0)
    top_h = 280

    def xy(t: float, v: float) -> str:
        x = pad + (w - 2 * pad) * t / t_end
        y = pad + (top_h - pad) * (1 - (v - low) / span)
        return f"{x:.1f},{y:.1f}"

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
        f'font-family="monospace" font-size="12">',
        f'<rect width="{w}" height="{h}" fill="white"/>',
        f'<text x="{pad}" y="20">{report["world"]} seed {report["seed"]}, '
        f"{report['hours']:g} h: equity, ours (blue) and the oracle (red)</text>",
        f'<text x="5" y="{pad + 4}">{high:.2f}</text>',
        f'<text x="5" y="{top_h + 4}">{low:.2f}</text>',
    ]
    for values_, colour in series.values():
        points = " ".join(xy(t, v) for t, v in zip(times, values_, strict=False))
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>'
        )
    whales = sorted(report["whales"], key=lambda x: float(x["true_copy_edge"]), reverse=True)
    pnls = [abs(float(x["pnl"])) for x in whales] or [1.0]
    scale = max(max(pnls), 1e-9)
    y = top_h + 40
    parts.append(
        f'<text x="{pad}" y="{y}">per whale: P&amp;L of our copies (bar), '
        f"true copy edge per share (right)</text>"
    )
    mid_x = pad + 260
    for whale in whales[:16]:
        y += 14
        pnl = float(whale["pnl"])
        length = 200 * abs(pnl) / scale
        x0 = mid_x if pnl >= 0 else mid_x - length
        colour = "#2ca02c" if pnl >= 0 else "#d62728"
        parts.append(f'<text x="{pad}" y="{y}">{whale["alias"][:24]}</text>')
        parts.append(
            f'<rect x="{x0:.1f}" y="{y - 10}" width="{length:.1f}" height="10" fill="{colour}"/>'
        )
        parts.append(
            f'<text x="{mid_x + 220}" y="{y}">{pnl:+.2f} $  edge '
            f"{whale['true_copy_edge']}  copies {whale['copies']}</text>"
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def plot_problem(path: Any) -> str | None:
    """Why ``--plot path`` cannot be written (checked before the run), or None."""
    from importlib.util import find_spec
    from pathlib import Path

    suffix = Path(path).suffix.lower()
    if suffix not in (".svg", ".png"):
        return f"--plot {path}: use a .svg or .png file name"
    if suffix == ".png" and find_spec("matplotlib") is None:
        return "--plot FILE.png needs matplotlib: pip install 'polytui[plot]' (or use .svg)"
    return None


def write_plot(report: dict[str, Any], path: Any) -> str | None:
    """Write ``.svg`` (built in) or ``.png`` (needs ``polytui[plot]``); returns an error or None."""
    from pathlib import Path

    target = Path(path)
    if target.suffix.lower() == ".svg":
        target.write_text(to_svg(report), encoding="utf-8")
        return None
    if target.suffix.lower() != ".png":
        return f"--plot {target}: use a .svg or .png file name"
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "--plot FILE.png needs matplotlib: pip install 'polytui[plot]' (or use .svg)"
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 8))
    hours = [t / 3600 for t in report["equity"]["t_s"]]
    top.plot(hours, [float(v) for v in report["equity"]["ours"]], label="ours")
    top.plot(hours, [float(v) for v in report["equity"]["oracle"]], label="oracle")
    top.set_xlabel("sim hours")
    top.set_ylabel("equity $")
    top.legend()
    top.set_title(f"{report['world']} seed {report['seed']}")
    whales = sorted(report["whales"], key=lambda x: float(x["true_copy_edge"]))
    bottom.barh([w["alias"] for w in whales], [float(w["pnl"]) for w in whales])
    for i, whale in enumerate(whales):
        bottom.text(0, i, f" edge {whale['true_copy_edge']}", va="center", fontsize=8)
    bottom.set_xlabel("P&L of our copies $ (true copy edge per share beside)")
    fig.tight_layout()
    fig.savefig(target)
    plt.close(fig)
    return None
