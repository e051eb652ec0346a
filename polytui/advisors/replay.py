"""Recorded answers in place of a model, for the backtest (``--advisor-answers FILE``).

A backtest never calls a model. Given a recorded answer set it answers from it instead: one JSON
object per line, ``{"advisor": NAME, "question": Q, "outcome": O, "answer": {...}}`` (or
``"text"`` for a raw answer, to replay a malformed one). The lookup key is the market question
and outcome the request names, which the simulator's worlds keep stable per seed. A request with
no recorded answer is counted as an error for that advisor. This replays opinions; it does not
and cannot measure how good a model's forecasts are.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from polytui.advisors.sdk import ERROR, AdvisorFailure, Reply


class AnswersError(ValueError):
    """A recorded answer file that cannot be read (the message names the line)."""


def load_answers(path: Path) -> dict[tuple[str, str, str], str]:
    """``(advisor, question, outcome) → answer text`` from a JSONL file."""
    out: dict[tuple[str, str, str], str] = {}
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise AnswersError(f"{path}: cannot read: {exc.strerror}") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            key = (str(raw["advisor"]), str(raw["question"]), str(raw["outcome"]))
            text = raw["text"] if "text" in raw else json.dumps(raw["answer"])
        except (ValueError, KeyError, TypeError):
            raise AnswersError(
                f"{path} line {n}: needs advisor, question, outcome and answer (or text)"
            ) from None
        out[key] = str(text)
    return out


class RecordedClient:
    """Answers one advisor's requests from a recorded set."""

    def __init__(self, label: str, answers: dict[tuple[str, str, str], str]) -> None:
        self.label = label
        self.answers = answers

    async def complete(
        self, *, system: str, user: str, schema: dict[str, Any], name: str, max_tokens: int
    ) -> Reply:
        """The recorded answer for the request's market and outcome."""
        try:
            doc = json.loads(user)
            key = (self.label, str(doc["market"]["question"]), str(doc["trade"]["outcome"]))
        except (ValueError, KeyError, TypeError):
            raise AdvisorFailure(ERROR, "request has no market and outcome to look up") from None
        text = self.answers.get(key)
        if text is None:
            raise AdvisorFailure(ERROR, "no recorded answer for this market and outcome")
        return Reply(text, 0, 0, "recorded", "recorded")

    async def close(self) -> None:
        """Nothing to close."""
