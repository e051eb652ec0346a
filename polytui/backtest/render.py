"""The backtest report read by a person: text with a terminal equity chart, and a picture (SVG
built in, PNG with ``polytui[plot]``), both drawn from the JSON report alone."""

from __future__ import annotations

from decimal import Decimal
from typing import Any


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
        f"started from {report.get('history_profiles', 0)} watched wallets' history profiles "
        "(the world's settled past)",
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
