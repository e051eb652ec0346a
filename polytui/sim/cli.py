"""``polytui sim``: run the loopback exchange alone and tell the user how to point polytui at it."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path


def run_sim(scenario: str, seed: int, speed: float, write_config: Path | None) -> int:
    """Run until Ctrl-C; print the endpoints, a config snippet and the env line."""
    from polytui.sim.scenario import SCENARIOS

    if scenario not in SCENARIOS:
        print(
            f"polytui sim: unknown scenario {scenario!r}; choose {', '.join(SCENARIOS)}",
            file=sys.stderr,
        )
        return 2
    if speed <= 0:
        print("polytui sim: --speed must be positive", file=sys.stderr)
        return 2
    try:
        asyncio.run(_serve(scenario, seed, speed, write_config))
    except KeyboardInterrupt:
        return 0
    except OSError as exc:
        print(f"polytui sim: cannot start: {exc}", file=sys.stderr)
        return 1
    return 0


async def _serve(scenario: str, seed: int, speed: float, write_config: Path | None) -> None:
    import tomli_w

    from polytui.config import ConfigError, apply_overrides
    from polytui.config import write_config as write
    from polytui.settings import Settings
    from polytui.sim.server import SimServer

    async with SimServer(scenario, seed=seed, speed=speed) as sim:
        print(f"simulator '{scenario}' (seed {seed}, speed {speed}×) on 127.0.0.1:{sim.port}")
        for name, url in sim.urls.items():
            print(f"  {name:16} {url}")
        print(
            "  exchange         CLOB V2 order entry under /clob (chain 137, every address starts"
            f" with {sim.exchange.default_balance} pUSD);\n"
            "                   fault knobs: POST /sim/exchange/<knob> (see polytui.sim.exchange)"
        )
        for key, value in sim.environment().items():
            print(f"\nexport {key}={value}")
        overrides = sim.settings_overrides()
        if write_config is not None:
            try:
                write(apply_overrides(Settings(), overrides), write_config, force=True)
            except ConfigError as exc:
                print(f"polytui sim: {exc}", file=sys.stderr)
            else:
                print(f"\nwrote {write_config}; run: polytui --config {write_config}")
        else:
            print("\n# config.toml snippet pointing polytui at the simulator:")
            print(tomli_w.dumps(overrides))
        print("Ctrl-C stops the simulator.", flush=True)
        await asyncio.Event().wait()
