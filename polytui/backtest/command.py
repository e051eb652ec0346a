"""``polytui backtest``: build the world, run the engine on it, print the report."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any


def backtest_report(
    loaded: Any,
    *,
    scenario: str | None,
    scenario_file: Path | None,
    seed: int,
    hours: float,
    random_seed: int | None = None,
    truth: Path | None = None,
    advisor_clients: dict[str, Any] | None = None,
    history: bool = True,
    mempool: bool = False,
) -> dict[str, Any]:
    """Run one backtest and return its JSON report (raises WorldError on a bad world, OSError
    when ``truth`` cannot be written; the truth is written before the run). With ``history``
    the watched wallets are first profiled from the world's served past."""
    from polytui.backtest.report import build_report
    from polytui.backtest.run import prepare_settings, run_world
    from polytui.backtest.world import open_world

    world = open_world(scenario, scenario_file, seed, hours)
    if truth is not None:
        write_truth(world, truth)
    record = run_world(world, loaded, advisor_clients, history=history, mempool=mempool)
    settings, _ = prepare_settings(loaded, world, Path("."))
    return build_report(world, record, settings, random_seed=random_seed)


def write_truth(world: Any, path: Path) -> None:
    """The world's truth as ``polytui sim --truth`` writes it, on the backtest's clock."""
    import json

    from polytui.sim.worlds.past import truth_with_history

    document = truth_with_history(world.honest, origin_unix=world.sim.wall0)
    Path(path).write_text(json.dumps(document, indent=1))


def backtest(
    loaded: Any,
    scenario: str | None,
    scenario_file: Path | None,
    seed: int,
    hours: float,
    report: str,
    plot: Path | None,
    truth: Path | None = None,
    advisor_answers: Path | None = None,
    history: bool = True,
    mempool: bool = False,
) -> int:
    """The command: exit 0 with the report, 2 with a one-line reason on bad input."""
    from polytui.backtest.render import plot_problem, to_text, write_plot
    from polytui.backtest.report import to_json
    from polytui.backtest.world import WorldError

    if report not in ("text", "json"):
        print(f"polytui backtest: --report must be text or json, not {report!r}", file=sys.stderr)
        return 2
    if hours <= 0:
        print("polytui backtest: --hours must be above 0", file=sys.stderr)
        return 2
    if (scenario is None) == (scenario_file is None):
        print("polytui backtest: give one of --scenario NAME or --scenario-file F", file=sys.stderr)
        return 2
    if plot is not None and (problem := plot_problem(plot)) is not None:
        print(f"polytui backtest: {problem}", file=sys.stderr)
        return 2
    clients: dict[str, Any] | None = None
    if advisor_answers is not None:
        clients, problem = recorded_clients(loaded, advisor_answers)
        if problem:
            print(f"polytui backtest: {problem}", file=sys.stderr)
            return 2
    try:
        payload = backtest_report(
            loaded,
            scenario=scenario,
            scenario_file=scenario_file,
            seed=seed,
            hours=hours,
            truth=truth,
            advisor_clients=clients,
            history=history,
            mempool=mempool,
        )
    except WorldError as exc:
        print(f"polytui backtest: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"polytui backtest: cannot write --truth {truth}: {exc.strerror}", file=sys.stderr)
        return 2
    print(to_json(payload) if report == "json" else to_text(payload))
    if plot is not None:
        error = write_plot(payload, plot)
        if error is not None:
            print(f"polytui backtest: {error}", file=sys.stderr)
            return 2
    return 0


def recorded_clients(loaded: Any, path: Path) -> tuple[dict[str, Any] | None, str]:
    """One recorded-answer client per configured advisor, or the reason there are none."""
    from polytui.advisors.replay import AnswersError, RecordedClient, load_answers

    entries = loaded.settings.advisors.entries
    if not entries:
        return None, "--advisor-answers needs [[advisors.entries]] in --config (their names)"
    try:
        answers = load_answers(path)
    except AnswersError as exc:
        return None, str(exc)
    return {e.label: RecordedClient(e.label, answers) for e in entries}, ""
