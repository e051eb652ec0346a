"""Command line: Typer commands only, no logic.

Every command imports its implementation lazily, so ``polytui --help`` never loads Textual,
web3 or the network stack. Errors a trader can fix print one line and exit non-zero; nothing
prints a traceback.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from polytui import __version__

app = typer.Typer(
    add_completion=True,
    no_args_is_help=False,
    invoke_without_command=True,
    pretty_exceptions_enable=False,
    help="polytui — a keyboard-driven Polymarket copy-trading console (paper by default).",
)
config_app = typer.Typer(help="Inspect configuration.", no_args_is_help=True)
keys_app = typer.Typer(help="Live-trading API credentials.", no_args_is_help=True)
whales_app = typer.Typer(
    help="Whale intelligence: discover, profile and rank wallets.", no_args_is_help=True
)
app.add_typer(config_app, name="config")
app.add_typer(keys_app, name="keys")
app.add_typer(whales_app, name="whales")

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", "-c", help="Config file (default: XDG config dir).")
]

EXIT_CONFIG = 2


def _fail(message: str, code: int = 1) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(code)


def _load(config: Path | None) -> Any:
    """Load config or exit 2 with the one-line reason."""
    from polytui.config import ConfigError, load_settings

    try:
        loaded = load_settings(config)
    except ConfigError as exc:
        _fail(f"polytui: config error: {exc}", EXIT_CONFIG)
    return loaded


def _dispatch(command: str, target: str, *args: Any, **kwargs: Any) -> None:
    """Import ``module:function`` lazily and run it; its return value is the exit code."""
    module_name, func_name = target.split(":")
    try:
        module = importlib.import_module(module_name)
        func = getattr(module, func_name)
    except (ImportError, AttributeError) as exc:  # a broken installation, not bad input
        _fail(f"polytui {command}: cannot load {target} ({exc}); reinstall polytui")
    try:
        code = func(*args, **kwargs)
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    raise typer.Exit(int(code or 0))


def _version(value: bool) -> None:
    if value:
        typer.echo(f"polytui {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    ctx: typer.Context,
    daemon: Annotated[bool, typer.Option("--daemon", help="Run headless (no UI).")] = False,
    demo: Annotated[
        bool, typer.Option("--demo", help="Loopback simulator + console; no network, no keys.")
    ] = False,
    config: ConfigOpt = None,
    live: Annotated[
        bool, typer.Option("--live", help='Trade live (also needs mode = "live" in config).')
    ] = False,
    yes_live: Annotated[
        bool, typer.Option("--yes-live", help="Confirm live trading without a prompt (daemon).")
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Open the console (default), the demo, or the headless daemon."""
    if ctx.invoked_subcommand is not None:
        return
    if demo:
        _dispatch("--demo", "polytui.demo:run_demo", config)
    loaded = _load(config)
    if live and loaded.settings.mode != "live":
        _fail(
            'polytui: --live needs mode = "live" in the config file; paper trading is the default',
            EXIT_CONFIG,
        )
    if live:
        # The third gate: --yes-live (daemon), or LIVE typed at the terminal before the app
        # starts. The daemon has no prompt, so it needs --yes-live.
        from polytui.execution.live import confirm_live

        if daemon and not yes_live:
            _fail("polytui: --daemon --live needs --yes-live (there is no prompt)", EXIT_CONFIG)
        if not confirm_live(loaded, live, yes_live):
            raise typer.Exit(EXIT_CONFIG)
    if daemon:
        _dispatch("--daemon", "polytui.daemon:run_daemon", loaded, live, yes_live)
    _dispatch("console", "polytui.tui.app:run_app", loaded, live)


@app.command()
def init(
    path: Annotated[Path | None, typer.Option(help="Where to write (default: XDG config).")] = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
) -> None:
    """Write a config file with every default (mode 0600)."""
    from polytui.config import ConfigError, default_config_path, write_config
    from polytui.settings import Settings

    target = path or default_config_path()
    try:
        written = write_config(Settings(), target, force=force)
    except ConfigError as exc:
        _fail(f"polytui init: {exc}", EXIT_CONFIG)
    typer.echo(f"wrote {written}")


@config_app.command("check")
def config_check(config: ConfigOpt = None) -> None:
    """Validate the config and print the effective settings (secrets redacted)."""
    from polytui.config import redacted_view

    loaded = _load(config)
    for note in loaded.notes:
        typer.echo(f"# {note}")
    typer.echo(f"# config: {loaded.path or 'defaults'}")
    typer.echo(redacted_view(loaded.settings))


@app.command()
def sim(
    scenario: Annotated[
        str, typer.Option(help="demo, quiet, chaos (classic) or a world: noise, mixed, …")
    ] = "demo",
    seed: Annotated[int, typer.Option(help="Scenario seed.")] = 7,
    speed: Annotated[float, typer.Option(help="Sim seconds per wall second.")] = 1.0,
    write_config: Annotated[
        Path | None, typer.Option(help="Write a config pointing at the simulator.")
    ] = None,
    scenario_file: Annotated[
        Path | None, typer.Option(help="A world file (docs/scenarios.md).")
    ] = None,
    truth: Annotated[
        Path | None, typer.Option(help="Write the world's truth as JSON to this file.")
    ] = None,
    hours: Annotated[
        float | None, typer.Option(help="Sim hours the wallets trade (default: the world's).")
    ] = None,
) -> None:
    """Run the loopback exchange simulator alone."""
    _dispatch(
        "sim",
        "polytui.sim.cli:run_sim",
        scenario,
        seed,
        speed,
        write_config,
        scenario_file,
        truth,
        hours,
    )


@app.command()
def record(
    out: Annotated[Path, typer.Option(help="Capture file (JSON Lines).")],
    duration: Annotated[float | None, typer.Option(help="Seconds to record.")] = None,
    config: ConfigOpt = None,
) -> None:
    """Capture raw feed frames to a file."""
    _dispatch("record", "polytui.capture:record", _load(config), out, duration)


@app.command()
def replay(
    file: Annotated[Path, typer.Argument(help="Capture file.")],
    speed: Annotated[float, typer.Option(help="Replay speed factor.")] = 1.0,
    max_speed: Annotated[bool, typer.Option("--max", help="As fast as possible.")] = False,
    report: Annotated[str, typer.Option(help="json or text.")] = "text",
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="Use this config's whales, strategy, risk, policy."),
    ] = None,
) -> None:
    """Run the engine in paper mode on a capture and report."""
    loaded = _load(config) if config is not None else None
    _dispatch("replay", "polytui.capture:replay", file, speed, max_speed, report, loaded)


@app.command()
def backtest(
    scenario: Annotated[
        str | None, typer.Option(help="Built-in world: demo, noise, mixed, chaos or quiet.")
    ] = None,
    scenario_file: Annotated[
        Path | None, typer.Option("--scenario-file", help="A world file (TOML).")
    ] = None,
    seed: Annotated[int, typer.Option(help="World seed.")] = 7,
    hours: Annotated[float, typer.Option(help="Sim hours to run.")] = 1.0,
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="Whales, strategy, risk, policy (default: built-in)."),
    ] = None,
    report: Annotated[str, typer.Option(help="text or json.")] = "text",
    plot: Annotated[Path | None, typer.Option(help="Picture: FILE.svg or FILE.png.")] = None,
    truth: Annotated[
        Path | None, typer.Option(help="Write the world's truth as JSON to this file.")
    ] = None,
    advisor_answers: Annotated[
        Path | None,
        typer.Option(help="Recorded advisor answers (JSONL); advisors are off without them."),
    ] = None,
    history: Annotated[
        bool,
        typer.Option(
            "--history/--no-history",
            help="Profile the watched wallets from the world's served past before the start.",
        ),
    ] = True,
    mempool: Annotated[
        bool,
        typer.Option(
            "--mempool/--no-mempool",
            help="Also see each fill's pending transaction at 0.65 s (the mempool source).",
        ),
    ] = False,
) -> None:
    """Run the real engine on a simulated world on a virtual clock; score it against the truth."""
    loaded = _load(config) if config is not None else _defaults()
    _dispatch(
        "backtest",
        "polytui.backtest.command:backtest",
        loaded,
        scenario,
        scenario_file,
        seed,
        hours,
        report,
        plot,
        truth,
        advisor_answers,
        history,
        mempool,
    )


def _defaults() -> Any:
    from polytui.config import LoadedConfig
    from polytui.settings import Settings

    return LoadedConfig(Settings(), None)


@app.command()
def report(
    since: Annotated[str | None, typer.Option(help="ISO date/time to start from.")] = None,
    csv: Annotated[Path | None, typer.Option(help="Write CSV here instead of a table.")] = None,
    config: ConfigOpt = None,
) -> None:
    """Parity report: each copied trade next to the whale's fill."""
    _dispatch("report", "polytui.report:run_report", _load(config), since, csv)


@app.command()
def attach(config: ConfigOpt = None) -> None:
    """Open the console attached to a running daemon."""
    _dispatch("attach", "polytui.tui.app:run_attach", _load(config))


@app.command()
def serve(
    host: Annotated[
        str | None,
        typer.Option(
            help="Address to listen on; default 127.0.0.1. Any other is reachable "
            "from other machines: use an SSH tunnel or an authenticating proxy."
        ),
    ] = None,
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8765,
    config: ConfigOpt = None,
) -> None:
    """The console attached to the running daemon, in a browser (behind a one-time token URL)."""
    _dispatch("serve", "polytui.remote.serve:run_serve", _load(config), host, port)


def _one_shot(command: str, args: dict[str, str], as_json: bool, config: Path | None) -> None:
    _dispatch(command, "polytui.control:one_shot", _load(config), command, args, as_json)


@app.command()
def status(
    json_: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    config: ConfigOpt = None,
) -> None:
    """Show the running daemon's state."""
    _one_shot("status", {}, json_, config)


@app.command()
def pause(config: ConfigOpt = None) -> None:
    """Pause new entries on the running daemon."""
    _one_shot("pause", {}, False, config)


@app.command()
def resume(config: ConfigOpt = None) -> None:
    """Resume new entries on the running daemon."""
    _one_shot("resume", {}, False, config)


@app.command()
def approve(intent_id: str, config: ConfigOpt = None) -> None:
    """Approve a pending trade on the running daemon."""
    _one_shot("approve", {"intent_id": intent_id}, False, config)


@app.command()
def reject(intent_id: str, config: ConfigOpt = None) -> None:
    """Reject a pending trade on the running daemon."""
    _one_shot("reject", {"intent_id": intent_id}, False, config)


@app.command()
def kill(config: ConfigOpt = None) -> None:
    """Kill switch on the running daemon: pause and reject every pending trade."""
    _one_shot("kill", {}, False, config)


@keys_app.command("derive")
def keys_derive(
    write: Annotated[Path | None, typer.Option(help="Also write a 0600 env file.")] = None,
    config: ConfigOpt = None,
) -> None:
    """Create or derive CLOB API credentials (prints export lines)."""
    _dispatch("keys derive", "polytui.execution.keys:derive_keys", _load(config), write)


JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
RefreshOpt = Annotated[
    bool, typer.Option("--refresh/--no-refresh", help="Fetch what is new first (default).")
]
WHALES = "polytui.whales.commands"


@whales_app.command("discover")
def whales_discover(
    period: Annotated[str, typer.Option(help="day, week, month or all.")] = "week",
    category: Annotated[str, typer.Option(help="Leaderboard category.")] = "overall",
    limit: Annotated[int | None, typer.Option(help="Candidates to rank.")] = None,
    json_: JsonOpt = False,
    refresh: RefreshOpt = True,
    config: ConfigOpt = None,
) -> None:
    """Candidates from leaderboards, winners, holders and the firehose, profiled and ranked."""
    _dispatch(
        "whales discover",
        f"{WHALES}:run_discover",
        _load(config),
        period,
        category,
        limit,
        json_,
        refresh,
    )


@whales_app.command("rank")
def whales_rank(
    wallets: Annotated[list[str] | None, typer.Argument(help="Wallets (default: watched).")] = None,
    json_: JsonOpt = False,
    refresh: RefreshOpt = True,
    config: ConfigOpt = None,
) -> None:
    """Watched (or given) wallets ranked by estimated copy edge."""
    _dispatch("whales rank", f"{WHALES}:run_rank", _load(config), wallets or [], json_, refresh)


@whales_app.command("show")
def whales_show(
    wallet: str, json_: JsonOpt = False, refresh: RefreshOpt = True, config: ConfigOpt = None
) -> None:
    """One wallet's profile: record, breakdowns, playbooks, copyability."""
    _dispatch("whales show", f"{WHALES}:run_show", _load(config), wallet, json_, refresh)


@whales_app.command("explain")
def whales_explain(
    wallet: str,
    advisor: Annotated[str | None, typer.Option(help="Advisor name (default: the first).")] = None,
    trades: Annotated[int, typer.Option(help="Recent fills shown to the advisor.")] = 30,
    json_: JsonOpt = False,
    refresh: RefreshOpt = True,
    config: ConfigOpt = None,
) -> None:
    """A language model's reading of a wallet's playbook; every claim cites checked evidence."""
    _dispatch(
        "whales explain",
        "polytui.advisors.command:run_explain",
        _load(config),
        wallet,
        advisor,
        trades,
        json_,
        refresh,
    )


@whales_app.command("add")
def whales_add(
    wallet: str,
    alias: Annotated[str | None, typer.Option(help="Display name.")] = None,
    policy: Annotated[str | None, typer.Option(help="manual, auto or observe.")] = None,
    config: ConfigOpt = None,
) -> None:
    """Watch a wallet (edits config.toml in place; a running daemon reloads)."""
    _dispatch("whales add", f"{WHALES}:run_add", _load(config), wallet, alias, policy)


@whales_app.command("remove")
def whales_remove(wallet: str, config: ConfigOpt = None) -> None:
    """Stop watching a wallet."""
    _dispatch("whales remove", f"{WHALES}:run_remove", _load(config), wallet)


@whales_app.command("list")
def whales_list(json_: JsonOpt = False, config: ConfigOpt = None) -> None:
    """The watch list, with each wallet's saved profile summary."""
    _dispatch("whales list", f"{WHALES}:run_list", _load(config), json_)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
