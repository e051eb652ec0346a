"""``polytui sim``: run the loopback exchange alone and tell the user how to point polytui at it."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from polytui.sim.worlds import World


def run_sim(
    scenario: str,
    seed: int,
    speed: float,
    write_config: Path | None,
    scenario_file: Path | None = None,
    truth: Path | None = None,
    hours: float | None = None,
) -> int:
    """Run until Ctrl-C; print the endpoints, a config snippet and the env line."""
    from polytui.sim.scenario import SCENARIOS
    from polytui.sim.worlds import SpecError, builtin_names, builtin_spec, load_spec
    from polytui.sim.worlds.past import build_world_with_past

    if speed <= 0:
        print("polytui sim: --speed must be positive", file=sys.stderr)
        return 2
    if hours is not None and hours <= 0:
        print("polytui sim: --hours must be positive", file=sys.stderr)
        return 2
    world = None
    try:
        if scenario_file is not None:
            spec = load_spec(scenario_file)
        elif scenario in SCENARIOS and truth is None and hours is None:
            spec = None  # the classic built-in scenario
        else:
            spec = builtin_spec(scenario)
    except SpecError as exc:
        choices = sorted(set(SCENARIOS) | set(builtin_names()))
        detail = str(exc) if scenario_file is not None else f"unknown scenario {scenario!r}"
        print(f"polytui sim: {detail}; built-in: {', '.join(choices)}", file=sys.stderr)
        return 2
    if spec is not None:
        past = f", {spec.history_hours:g} h of history" if spec.history_hours else ""
        print(f"building world '{spec.name}' (seed {seed}{past}) …", flush=True)
        world = build_world_with_past(spec, seed=seed, hours=hours)
    try:
        asyncio.run(_serve(scenario, seed, speed, write_config, world, truth))
    except KeyboardInterrupt:
        return 0
    except OSError as exc:
        print(f"polytui sim: cannot start: {exc}", file=sys.stderr)
        return 1
    return 0


async def _serve(
    scenario: str,
    seed: int,
    speed: float,
    write_config: Path | None,
    world: World | None,
    truth: Path | None,
) -> None:
    import json

    import platformdirs
    import tomli_w

    from polytui.config import ConfigError, apply_overrides
    from polytui.config import write_config as write
    from polytui.settings import Settings
    from polytui.sim.server import SimServer
    from polytui.sim.worlds.past import truth_with_history

    async with SimServer(scenario, seed=seed, speed=speed, world=world) as sim:
        name = scenario if world is None else world.spec.name
        print(f"simulator '{name}' (seed {seed}, speed {speed}×) on 127.0.0.1:{sim.port}")
        if world is not None and truth is not None:
            document = truth_with_history(world, origin_unix=sim.world.wall0)
            truth.write_text(json.dumps(document, indent=1))
            print(f"  truth            {truth}")
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
            # The simulator's paper journal lives apart from the trader's real one.
            data_dir = Path(platformdirs.user_data_dir("polytui")) / "sim"
            overrides["storage"] = {"data_dir": str(data_dir)}
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
