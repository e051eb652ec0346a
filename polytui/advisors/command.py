"""``polytui whales explain ADDR``: a wallet's playbook in plain words, every claim checked.

Reads the saved profile (refreshed first unless ``--no-refresh``) and the wallet's recent fills
from the journal, asks one advisor (the first usable one, or ``--advisor NAME``) and prints the
claims that cite evidence which checks out, with that evidence, and the dropped ones with why.
The request and the answer are journaled with tokens and cost like every advisor call, and the
daily cap applies. Errors a trader can fix print one line and exit non-zero.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from polytui.config import LoadedConfig

EXIT_ERROR = 1
EXIT_USAGE = 2


def _say(message: str) -> None:
    print(f"polytui whales explain: {message}", file=sys.stderr)


async def _explain(
    settings: Any, profile: Any, advisor_name: str | None, trades_n: int
) -> tuple[Any, str]:
    from polytui.advisors import explain
    from polytui.advisors import schema as sch
    from polytui.advisors.panel import AdvisorPanel
    from polytui.config import data_dir
    from polytui.journal import Journal, journal_path
    from polytui.whales.store import ProfileStore

    journal = Journal.open(
        journal_path(data_dir(settings), settings.mode), mode=settings.mode, backup=False
    )
    try:

        def sink(kind: str, ref: str, payload: dict[str, Any]) -> None:
            journal.append(kind, payload, ref=ref)

        panel = AdvisorPanel(settings.advisors, sink=sink)
        panel.restore_ledger(journal)
        try:
            chosen = [a for a in panel.advisors if advisor_name in (None, a.label) and a.client]
            if not chosen:
                reasons = "; ".join(
                    f"{a.label}: {a.unavailable}" for a in panel.advisors if a.unavailable
                )
                return None, "no usable advisor" + (f" ({reasons})" if reasons else "")
            advisor = chosen[0]
            facts = explain.facts_of(profile)
            trades = explain.trade_table(ProfileStore(journal).fills(profile.wallet), trades_n)
            user = json.dumps(explain.request_doc(profile, facts, trades), indent=1)
            answer = await panel.ask(
                advisor,
                purpose="explain",
                ref=profile.wallet,
                system=explain.SYSTEM,
                user=user,
                schema=sch.PLAYBOOK_SCHEMA,
                name="playbook",
            )
        finally:
            await panel.close()
            journal.flush()
        if answer.status != "ok" or answer.data is None:
            return None, f"{advisor.label} gave no usable answer: {answer.status} {answer.problem}"
        return explain.check(answer.data, facts, trades, profile.wallet, advisor.label), ""
    finally:
        journal.close()


def print_playbook(playbook: Any) -> None:
    """The human form."""
    from rich.console import Console
    from rich.markup import escape

    out = Console(highlight=False, soft_wrap=False)
    out.print(f"[b]{playbook.wallet}[/b] as {escape(playbook.advisor)} reads it")
    if not playbook.claims:
        out.print("no claim survived the evidence check")
    for claim in playbook.claims:
        out.print(f"  • {escape(claim.text)}")
        for item in claim.evidence:
            out.print(f"      [dim]{escape(item)}[/dim]")
    for text, why in playbook.dropped:
        out.print(f"[dim]dropped: {escape(text)} — {escape(why)}[/dim]")


def run_explain(
    loaded: LoadedConfig,
    wallet: str,
    advisor: str | None,
    trades_n: int,
    as_json: bool,
    refresh: bool,
) -> int:
    """``whales explain ADDR``."""
    from polytui import redaction
    from polytui.whales.output import Progress, emit_json
    from polytui.whales.session import profiles_for
    from polytui.whales.watchlist import WatchListError, check_wallet

    settings = loaded.settings
    redaction.install(settings)  # before an SDK can log anything
    try:
        target = check_wallet(wallet)
    except WatchListError as exc:
        _say(str(exc))
        return EXIT_USAGE
    if not settings.advisors.entries:
        _say("no advisor configured: add an [[advisors.entries]] table (README, Advisors)")
        return EXIT_USAGE
    if not 0 <= trades_n <= 200:
        _say("--trades must be between 0 and 200")
        return EXIT_USAGE
    with Progress(not as_json) as progress:
        profiles, errors = asyncio.run(profiles_for(settings, [target], refresh, progress))
    for error in errors:
        _say(error)
    if not profiles:
        return EXIT_ERROR
    playbook, problem = asyncio.run(_explain(settings, profiles[0], advisor, trades_n))
    if playbook is None:
        _say(problem)
        return EXIT_ERROR
    if as_json:
        from polytui.advisors.explain import to_json

        emit_json(to_json(playbook))
    else:
        print_playbook(playbook)
    return 0
