"""Whale profiles against the known truth: `polytui whales discover` and `rank` on `polytui sim`.

Runs the simulator on the built-in ``whales`` world (30 wallets of every archetype with 48 h of
settled history, ``--truth``), then ``polytui whales discover --json`` and ``polytui whales rank
ADDR… --json`` against it, as a trader would, and prints how the profiles compare with the truth
file: the Spearman correlation of ``copy_edge`` with the truth's copy edge at 2 s, how many of the
truly copyable wallets (truth copy edge at 2 s > 0) ``discover`` puts in its top 20, whether every
fast informed wallet is ``copyable: false`` because its edge is gone by 2 s, whether the
longshot gamblers are labelled so, how many no-information wallets (noise, herd, longshot) show
an edge whose 95 % interval excludes 0, and the realized P&L of every profile against the
truth's (exact: both are redemption proceeds minus cost and fees of the same positions) and the
P&L the profile computes itself from fills, settlements and Gamma's fee schedules (within one
cent per settled position: prices are 4-decimal on the wire, fees are recomputed from them).

The simulator enforces the published rate limits (1,000 / 10 s, 200 for trades, 150 for
positions) and so does the client: the full run makes ~7,000 requests and takes several minutes.
Run: ``python -m bench.whale_truth`` (``--smoke``: 1 h of history, half a minute).
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any

import tomli_w

BUILTIN = Path(__file__).resolve().parent.parent / "polytui/sim/worlds/builtin/whales.toml"
CLI = [sys.executable, "-c", "from polytui.cli import main; main()"]
DELAY = "2"
NO_INFORMATION = ("noise", "herd", "longshot")
PNL_TOLERANCE_PER_POSITION = Decimal("0.01")


def spearman(xs: list[float], ys: list[float]) -> float:
    """Spearman's rank correlation (average ranks for ties)."""

    def ranks(values: list[float]) -> list[float]:
        order = sorted(range(len(values)), key=lambda i: values[i])
        out = [0.0] * len(values)
        i = 0
        while i < len(order):
            j = i
            while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
                j += 1
            for k in range(i, j + 1):
                out[order[k]] = (i + j) / 2
            i = j + 1
        return out

    rx, ry = ranks(xs), ranks(ys)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    var = math.sqrt(sum((a - mx) ** 2 for a in rx) * sum((b - my) ** 2 for b in ry))
    return cov / var if var else 0.0


def compare(
    truth: dict[str, Any], ranked: list[dict[str, Any]], discovered: list[dict[str, Any]]
) -> dict[str, Any]:
    """The truth checks as numbers. ``ranked``: ``whales rank --json`` rows of every wallet
    (with ``profile`` records when taken from ``whales show``); ``discovered``: discover's rows."""
    wallets = {w["wallet"]: w for w in truth["wallets"]}
    rows = {r["wallet"]: r for r in ranked}
    both = [w for w in wallets if w in rows and rows[w]["copy_edge"] is not None]
    est = [float(rows[w]["copy_edge"]) for w in both]
    true = [float(wallets[w]["copy_edge"][DELAY]) for w in both]
    copyable = [w for w in wallets if wallets[w]["copy_edge"][DELAY] > 0]
    top = {r["wallet"] for r in discovered[:20]}
    fast = [w for w in wallets if wallets[w]["archetype"] == "informed_fast"]
    longshot = [w for w in wallets if wallets[w]["archetype"] == "longshot"]
    labelled = {w for w, r in rows.items() if r["reason"].startswith("longshot buyer")}
    blind = [w for w in wallets if wallets[w]["archetype"] in NO_INFORMATION and w in rows]

    def lower(w: str) -> float | None:
        r = rows[w]
        if r["edge_se"] is None:
            return None
        return float(r["edge"]) - 1.96 * float(r["edge_se"])

    def upper(w: str) -> float | None:
        r = rows[w]
        if r["edge_se"] is None:
            return None
        return float(r["edge"]) + 1.96 * float(r["edge_se"])

    pnl_gaps = []
    settled_gaps = []
    for w in rows:
        history = wallets[w].get("history")
        if history is None:
            continue
        expected = Decimal(history["realized_pnl_usd"])
        pnl_gaps.append(abs(Decimal(rows[w]["realized_pnl_usd"]) - expected))
        settled = rows[w].get("settled_pnl_usd")
        if settled is not None:
            allowed = PNL_TOLERANCE_PER_POSITION * max(1, history["positions"])
            settled_gaps.append((abs(Decimal(settled) - expected), allowed))
    return {
        "wallets": len(both),
        "spearman_copy_edge_2s": round(spearman(est, true), 4),
        "truly_copyable": len(copyable),
        "copyable_in_discover_top20": sum(1 for w in copyable if w in top),
        "copyable_flagged": sum(1 for w in copyable if w in rows and rows[w]["copyable"]),
        "fast_informed": len(fast),
        "fast_profiled": sum(1 for w in fast if w in rows),
        "fast_uncopyable": sum(1 for w in fast if w in rows and not rows[w]["copyable"]),
        "fast_edge_gone_reason": sum(
            1 for w in fast if w in rows and "edge gone by" in rows[w]["reason"]
        ),
        "longshot": len(longshot),
        "longshot_labelled": sum(1 for w in longshot if w in labelled),
        "others_labelled_longshot": len(labelled - set(longshot)),
        "no_information": len(blind),
        "no_information_edge_above_0": sum(1 for w in blind if (lower(w) or -1) > 0),
        "no_information_edge_below_0": sum(1 for w in blind if (upper(w) or 1) < 0),
        "max_realized_pnl_gap_usd": str(max(pnl_gaps, default=Decimal(0))),
        "max_settled_pnl_gap_usd": str(max((g for g, _ in settled_gaps), default=Decimal(0))),
        "settled_pnl_within_tolerance": sum(1 for g, a in settled_gaps if g <= a),
        "settled_pnl_checked": len(settled_gaps),
    }


def _world_file(hours: float, folder: Path) -> Path:
    text = BUILTIN.read_text()
    text = re.sub(r"^history_hours = .*$", f"history_hours = {hours:g}", text, flags=re.M)
    path = folder / "whales.toml"
    path.write_text(text)
    return path


def _cli(*args: str) -> dict[str, Any]:
    env = {**os.environ, "NO_COLOR": "1"}
    done = subprocess.run([*CLI, *args], capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"polytui {' '.join(args[:2])}: {done.stderr.strip()[-500:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _settled_pnl(data_dir: Path) -> dict[str, str]:
    """Each saved profile's P&L from its own fills, settlements and fees (the journal's)."""
    from polytui.journal import Journal, journal_path
    from polytui.whales.store import ProfileStore

    journal = Journal.open(journal_path(data_dir, "paper"), mode="paper", backup=False)
    try:
        profiles = ProfileStore(journal).profiles()
    finally:
        journal.close()
    return {w: str(p.extra.get("settled_pnl_usd")) for w, p in profiles.items()}


def run(hours: float, folder: Path, min_resolved: int = 20) -> dict[str, Any]:
    """Simulator + discover + rank; returns the truth, the rows and the wall time."""
    truth_path, config = folder / "truth.json", folder / "sim.toml"
    world = _world_file(hours, folder)
    sim = subprocess.Popen(
        [*CLI, "sim", "--scenario-file", str(world), "--truth", str(truth_path),
         "--write-config", str(config)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        assert sim.stdout is not None
        for line in sim.stdout:
            if line.startswith("Ctrl-C stops"):
                break
        else:
            raise RuntimeError("the simulator did not start")
        settings = tomllib.loads(config.read_text())
        settings.setdefault("storage", {})["data_dir"] = str(folder / "data")
        settings.setdefault("history", {})["min_resolved"] = min_resolved
        config.write_text(tomli_w.dumps(settings))
        started = time.monotonic()
        cpu = os.times()
        found = _cli("whales", "discover", "--json", "--period", "week", "--limit", "20",
                     "--config", str(config))  # fmt: skip
        truth = json.loads(truth_path.read_text())
        ranked = _cli("whales", "rank", *(w["wallet"] for w in truth["wallets"]), "--json",
                      "--no-refresh", "--config", str(config))  # fmt: skip
        after = os.times()
        extra = _settled_pnl(folder / "data")
        rows = [{**r, "settled_pnl_usd": extra.get(r["wallet"])} for r in ranked["wallets"]]
        return {
            "truth": truth,
            "ranked": rows,
            "discovered": found["candidates"],
            "wall_s": time.monotonic() - started,
            "cli_cpu_s": (after.children_user + after.children_system)
            - (cpu.children_user + cpu.children_system),
        }
    finally:
        sim.terminate()
        sim.wait(timeout=30)


def main(argv: list[str]) -> dict[str, Any]:
    """Run the check and print the figures."""
    smoke = "--smoke" in (argv or [])
    hours = 1.0 if smoke else 48.0
    with tempfile.TemporaryDirectory() as tmp:
        out = run(hours, Path(tmp), min_resolved=10 if smoke else 20)
    figures = compare(out["truth"], out["ranked"], out["discovered"])
    print(
        f"whales world, {hours:g} h of history, {figures['wallets']} wallets profiled in "
        f"{out['wall_s']:.0f} s:\n"
        f"  Spearman(copy_edge, truth copy edge at 2 s) = {figures['spearman_copy_edge_2s']:.3f}"
        " (target >= 0.8)\n"
        f"  truly copyable in discover's top 20: {figures['copyable_in_discover_top20']} of "
        f"{figures['truly_copyable']} (target >= 80 %); flagged copyable: "
        f"{figures['copyable_flagged']}\n"
        f"  fast informed copyable: false {figures['fast_uncopyable']} of "
        f"{figures['fast_profiled']} profiled ({figures['fast_informed']} in the world; 'edge "
        f"gone by 2 s': {figures['fast_edge_gone_reason']})\n"
        f"  longshot labelled: {figures['longshot_labelled']} of {figures['longshot']} "
        f"(others labelled: {figures['others_labelled_longshot']})\n"
        f"  no-information wallets whose 95 % edge interval is above 0: "
        f"{figures['no_information_edge_above_0']} of {figures['no_information']} "
        f"(below 0: {figures['no_information_edge_below_0']})\n"
        f"  realized P&L vs truth: max gap ${figures['max_realized_pnl_gap_usd']}; "
        f"P&L from fills: max gap ${figures['max_settled_pnl_gap_usd']}, within 1 ¢/position "
        f"{figures['settled_pnl_within_tolerance']} of {figures['settled_pnl_checked']}"
    )
    return {
        "bench": "whale_truth",
        "figures": [
            {
                "figure": "Spearman copy_edge vs truth at 2 s",
                "value": figures["spearman_copy_edge_2s"],
                "unit": "",
                "target": ">= 0.8",
            },
            {
                "figure": "truly copyable wallets in discover's top 20",
                "value": figures["copyable_in_discover_top20"],
                "unit": f"of {figures['truly_copyable']}",
                "target": ">= 80 %",
            },
        ],
        **figures,
        "history_hours": hours,
        "wall_s": round(out["wall_s"], 1),
        "cli_cpu_s": round(out["cli_cpu_s"], 1),
    }


if __name__ == "__main__":
    main(sys.argv[1:])
