"""The advisor panel: asks every usable advisor, within a budget, and journals everything.

Per advisor it keeps counters (answered, malformed, schema violations, refusals, timeouts, 429s,
errors, late answers, skips) that health shows; a 429 starts a cool-down of its retry-after,
during which that advisor is skipped. A daily ledger of tokens and cost (UTC day, restored from
the journal at start) stops all calls once ``daily_token_cap`` or ``daily_cost_cap_usd`` is
reached. No failure of an advisor is ever raised to the caller: it is counted and journaled.
Every request is journaled before it is sent (``advisor_request``) and every outcome when it is
known (``advisor_answer``, with tokens, cost and latency, ``late`` when past the budget).
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from polytui.advisors import schema as sch
from polytui.advisors.consensus import Consensus, Opinion, consensus_of
from polytui.advisors.sdk import AdvisorFailure, AdvisorSetupError, Reply, SdkClient
from polytui.amounts import MICRO
from polytui.clock import Clock, SystemClock
from polytui.model import FeedState, FeedStatus
from polytui.settings import AdvisorEntry, AdvisorSettings
from polytui.text import clean_text

log = logging.getLogger(__name__)

Sink = Callable[[str, str, dict[str, Any]], None]
MTOK = Decimal(1_000_000)
RAW_KEPT = 2000  # characters of an unusable answer kept in the journal


@dataclass(slots=True)
class Counters:
    """What one advisor has done since start."""

    requests: int = 0
    answered: int = 0
    malformed: int = 0
    schema: int = 0
    refused: int = 0
    timeout: int = 0
    rate_limited: int = 0
    error: int = 0
    late: int = 0
    skipped: int = 0
    last_latency_ms: float | None = None
    last_problem: str = ""
    last_ok: bool | None = None
    last_answer_mono: float | None = None

    def failures(self) -> int:
        """Answers that could not be used (malformed, off-schema, refused)."""
        return self.malformed + self.schema + self.refused


@dataclass(slots=True)
class Advisor:
    """One configured advisor and its state."""

    entry: AdvisorEntry
    client: Any
    unavailable: str = ""
    counters: Counters = field(default_factory=Counters)
    cooldown_until: float = 0.0

    @property
    def label(self) -> str:
        """Its display name."""
        return self.entry.label


@dataclass(slots=True)
class Ledger:
    """Tokens and USD spent today (UTC)."""

    day: date | None = None
    tokens: int = 0
    cost_usd: Decimal = Decimal(0)

    def roll(self, today: date) -> None:
        """Start a new day's count."""
        if self.day != today:
            self.day, self.tokens, self.cost_usd = today, 0, Decimal(0)


@dataclass(frozen=True, slots=True)
class Answer:
    """One request's outcome: the validated JSON or the failure kind."""

    advisor: str
    status: str
    data: dict[str, Any] | None
    problem: str = ""
    late: bool = False


@dataclass(slots=True)
class _Outcome:
    """What one completion came to, before it is counted and journaled."""

    status: str = "ok"
    problem: str = ""
    data: dict[str, Any] | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    raw: str = ""


def cost_of(entry: AdvisorEntry, tokens_in: int, tokens_out: int) -> Decimal:
    """USD for a request at the entry's prices, to the micro-dollar."""
    raw = (tokens_in * entry.usd_per_mtok_in + tokens_out * entry.usd_per_mtok_out) / MTOK
    return raw.quantize(MICRO)


class AdvisorPanel:
    """Every configured advisor, asked together."""

    def __init__(
        self,
        settings: AdvisorSettings,
        *,
        sink: Sink,
        clock: Clock | None = None,
        env: Mapping[str, str] | None = None,
        clients: Mapping[str, Any] | None = None,
    ) -> None:
        self.settings = settings
        self.sink = sink
        self.clock: Clock = clock or SystemClock()
        self.ledger = Ledger()
        self._tasks: set[asyncio.Task[Any]] = set()
        environment = os.environ if env is None else env
        self.advisors: list[Advisor] = []
        for entry in settings.entries:
            given = (clients or {}).get(entry.label)
            if given is not None:
                self.advisors.append(Advisor(entry, given))
                continue
            key = environment.get(entry.api_key_env, "") if entry.api_key_env else ""
            if entry.api_key_env and not key:
                self.advisors.append(Advisor(entry, None, f"{entry.api_key_env} is not set"))
                continue
            try:
                self.advisors.append(Advisor(entry, SdkClient(entry, key)))
            except AdvisorSetupError as exc:
                self.advisors.append(Advisor(entry, None, str(exc)))

    # --- bookkeeping -----------------------------------------------------------------------------

    def restore_ledger(self, journal: Any) -> None:
        """Today's tokens and cost from the journal, so a restart does not reset the cap."""
        today = self.clock.now().astimezone(UTC).date()
        self.ledger.roll(today)
        since = datetime.combine(today, time(0), UTC)
        for event in journal.recent("advisor_answer", since):
            p = event.payload
            self.ledger.tokens += int(p.get("input_tokens", 0)) + int(p.get("output_tokens", 0))
            self.ledger.cost_usd += Decimal(str(p.get("cost_usd", "0")))

    def cap_reason(self) -> str:
        """Why calls are stopped for today ("" when they are not)."""
        self.ledger.roll(self.clock.now().astimezone(UTC).date())
        s = self.settings
        if s.daily_token_cap and self.ledger.tokens >= s.daily_token_cap:
            return f"daily token cap reached ({self.ledger.tokens:,} of {s.daily_token_cap:,})"
        if s.daily_cost_cap_usd and self.ledger.cost_usd >= s.daily_cost_cap_usd:
            return f"daily cost cap reached ({self.ledger.cost_usd} of {s.daily_cost_cap_usd} USD)"
        return ""

    def usable(self) -> list[Advisor]:
        """Advisors built successfully (cool-downs and caps are checked per request)."""
        return [a for a in self.advisors if a.client is not None]

    def _skip(self, advisor: Advisor, ref: str, purpose: str, reason: str) -> Answer:
        advisor.counters.skipped += 1
        self.sink(
            "advisor_skip", ref, {"advisor": advisor.label, "purpose": purpose, "reason": reason}
        )
        return Answer(advisor.label, "skipped", None, reason)

    # --- one request ---------------------------------------------------------------------------

    def _refusal(self, advisor: Advisor) -> str | None:
        """Why ``advisor`` is not asked now (None when it is)."""
        if advisor.client is None:
            return advisor.unavailable
        capped = self.cap_reason()
        if capped:
            return capped
        now_mono = self.clock.monotonic()
        if now_mono < advisor.cooldown_until:
            wait = advisor.cooldown_until - now_mono
            return f"cooling down after a 429 ({wait:.0f} s)"
        return None

    async def ask(
        self,
        advisor: Advisor,
        *,
        purpose: str,
        ref: str,
        system: str,
        user: str,
        schema: dict[str, Any],
        name: str,
        closed: list[bool] | None = None,
    ) -> Answer:
        """Ask one advisor; ``closed[0]`` True by the time it answers marks the answer late."""
        refusal = self._refusal(advisor)
        if refusal is not None:
            return self._skip(advisor, ref, purpose, refusal)
        request_id = uuid.uuid4().hex[:12]
        advisor.counters.requests += 1
        self.sink(
            "advisor_request",
            ref,
            {
                "advisor": advisor.label,
                "kind": advisor.entry.kind,
                "model": advisor.entry.model,
                "purpose": purpose,
                "request_id": request_id,
                "system": system,
                "user": user,
            },
        )
        started = self.clock.monotonic()
        outcome = await self._complete(advisor, system, user, schema, name)
        latency_ms = (self.clock.monotonic() - started) * 1000
        late = bool(closed and closed[0])
        cost = self._count(advisor, outcome, latency_ms, late)
        payload: dict[str, Any] = {
            "advisor": advisor.label,
            "purpose": purpose,
            "request_id": request_id,
            "status": outcome.status,
            "late": late,
            "latency_ms": round(latency_ms),
            "input_tokens": outcome.tokens_in,
            "output_tokens": outcome.tokens_out,
            "cost_usd": cost,
            "answer": outcome.data,
        }
        if outcome.status != "ok":
            payload["problem"] = outcome.problem
            if outcome.raw:
                payload["text"] = clean_text(outcome.raw, RAW_KEPT)
        self.sink("advisor_answer", ref, payload)
        return Answer(advisor.label, outcome.status, outcome.data, outcome.problem, late)

    async def _complete(
        self, advisor: Advisor, system: str, user: str, schema: dict[str, Any], name: str
    ) -> _Outcome:
        """One completion, parsed and validated; every failure becomes a status, never raised."""
        out = _Outcome()
        try:
            reply: Reply = await advisor.client.complete(
                system=system,
                user=user,
                schema=sch.wire_schema(schema),
                name=name,
                max_tokens=self.settings.max_output_tokens,
            )
            out.tokens_in, out.tokens_out, out.raw = (
                reply.input_tokens,
                reply.output_tokens,
                reply.text,
            )
            try:
                parsed = sch.parse_json(reply.text)
            except ValueError:
                raise AdvisorFailure("malformed", "answer is not JSON") from None
            try:
                sch.validate(parsed, schema)
            except sch.SchemaError as exc:
                raise AdvisorFailure("schema", f"schema violation: {exc}") from None
            out.data = parsed
        except AdvisorFailure as exc:
            out.status, out.problem = exc.kind, clean_text(str(exc), 300)
            out.tokens_in = out.tokens_in or exc.input_tokens
            out.tokens_out = out.tokens_out or exc.output_tokens
            if exc.kind == "rate_limited":
                wait = exc.retry_after_s if exc.retry_after_s is not None else 60.0
                advisor.cooldown_until = self.clock.monotonic() + wait
                out.problem = f"{out.problem}; retry after {wait:g} s"
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # an SDK bug or a body no parser expected: never fatal
            out.status, out.problem = "error", f"unexpected {type(exc).__name__}"
            log.warning("advisor %s: %s", advisor.label, out.problem)
        return out

    def _count(self, advisor: Advisor, outcome: _Outcome, latency_ms: float, late: bool) -> Decimal:
        """The outcome into the day's ledger and the advisor's counters; returns its cost."""
        cost = cost_of(advisor.entry, outcome.tokens_in, outcome.tokens_out)
        self.ledger.roll(self.clock.now().astimezone(UTC).date())
        self.ledger.tokens += outcome.tokens_in + outcome.tokens_out
        self.ledger.cost_usd += cost
        counters = advisor.counters
        counters.last_latency_ms = latency_ms
        counters.last_answer_mono = self.clock.monotonic()
        counters.last_ok = outcome.status == "ok"
        if outcome.status == "ok":
            counters.answered += 1
        else:
            setattr(counters, outcome.status, getattr(counters, outcome.status) + 1)
            counters.last_problem = outcome.problem
        if late:
            counters.late += 1
        return cost

    # --- many requests, one budget ---------------------------------------------------------------

    async def opinions(self, ref: str, system: str, user: str) -> Consensus:
        """Every usable advisor's opinion on one intent, waiting at most ``budget_ms``.

        Answers after the budget are still journaled (``late``) and counted, never used.
        """
        advisors = self.usable()
        closed = [False]
        tasks = {
            asyncio.create_task(
                self.ask(
                    a,
                    purpose="intent",
                    ref=ref,
                    system=system,
                    user=user,
                    schema=sch.OPINION_SCHEMA,
                    name="second_opinion",
                    closed=closed,
                ),
                name=f"advisor:{a.label}:{ref}",
            ): a
            for a in advisors
        }
        for task in tasks:
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        if tasks:
            await asyncio.wait(tasks, timeout=self.settings.budget_ms / 1000)
        closed[0] = True  # from here on, an answer is late
        opinions: list[Opinion] = []
        asked = 0
        for task, advisor in tasks.items():
            if not task.done():
                asked += 1
                continue
            answer = task.result()
            if answer.status != "skipped":
                asked += 1
            if answer.status == "ok" and answer.data is not None:
                opinions.append(
                    Opinion(
                        advisor.label,
                        advisor.entry.weight,
                        Decimal(answer.data["probability"]),
                        Decimal(answer.data["confidence"]),
                        clean_text(answer.data["rationale"], 300),
                    )
                )
        return consensus_of(opinions, asked)

    async def close(self) -> None:
        """Cancel requests still out and close the SDK clients."""
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        for advisor in self.advisors:
            close = getattr(advisor.client, "close", None)
            if close is not None:
                try:
                    await close()
                except Exception as exc:  # closing is best effort
                    log.debug("closing advisor %s: %s", advisor.label, exc)

    # --- health ---------------------------------------------------------------------------------

    def statuses(self) -> list[FeedStatus]:
        """One health row per advisor (never touches the network)."""
        capped = self.cap_reason()
        now = self.clock.monotonic()
        rows: list[FeedStatus] = []
        for a in self.advisors:
            c = a.counters
            if a.client is None or capped:
                state = FeedState.DISABLED
            elif now < a.cooldown_until or c.last_ok is False:
                state = FeedState.DEGRADED
            else:
                state = FeedState.LIVE
            counts = (
                f"answered {c.answered} · malformed {c.malformed} · schema {c.schema} · "
                f"refused {c.refused} · timeout {c.timeout} · 429 {c.rate_limited} · "
                f"error {c.error} · late {c.late} · skipped {c.skipped}"
            )
            spend = f"today {self.ledger.tokens:,} tokens, {self.ledger.cost_usd} USD"
            why = a.unavailable or capped or c.last_problem
            rows.append(
                FeedStatus(
                    name=f"advisor {a.label}",
                    state=state,
                    connected=a.client is not None,
                    last_data_age_s=None
                    if c.last_answer_mono is None
                    else now - c.last_answer_mono,
                    messages=c.answered,
                    rejected=c.failures(),
                    reconnects=c.rate_limited,
                    connections=c.requests,
                    latency_ms=c.last_latency_ms,
                    detail=f"{counts}; {spend}" + (f"; {why}" if why else ""),
                )
            )
        return rows
