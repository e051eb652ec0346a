"""Secret redaction for every log record, from every library.

web3 and websockets log the URLs they connect to, and Polygon RPC URLs usually carry an API key.
Redaction therefore happens in the log-record factory: each record's message is rendered and
scrubbed when it is created, before any handler, formatter or test capture can see it. What is
scrubbed: the values of the environment variables that config names as secret holders (and the
query values and long path segments of URL-shaped ones), and anything shaped like a private key.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlsplit

from polytui.settings import Settings

MASK = "[redacted]"
PRIVATE_KEY_RE = re.compile(r"(?<![0-9a-fA-F])(0x)?[0-9a-fA-F]{64}(?![0-9a-fA-F])")
MIN_SECRET_LEN = 6

_secrets: set[str] = set()
_installed = False


def secret_env_names(settings: Settings) -> list[str]:
    """Environment variables that hold secrets, as named by the config."""
    live = settings.live
    return [
        settings.feeds.polygon_ws_env,
        live.private_key_env,
        live.api_key_env,
        live.api_secret_env,
        live.api_passphrase_env,
        settings.telegram.bot_token_env,
        *(e.api_key_env for e in settings.advisors.entries if e.api_key_env),
    ]


def _pieces(value: str) -> Iterable[str]:
    yield value
    if "://" in value:
        parts = urlsplit(value)
        for _, v in parse_qsl(parts.query):
            yield v
        if parts.password:
            yield parts.password
        for segment in parts.path.split("/"):
            if len(segment) >= 12:
                yield segment


def register_secrets(values: Iterable[str]) -> None:
    """Add secret values (and their URL parts) to the redaction set."""
    for value in values:
        for piece in _pieces(value.strip()):
            if len(piece) >= MIN_SECRET_LEN:
                _secrets.add(piece)


TRUNCATION_MARKS = ("...", "…")
MIN_PARTIAL_LEN = 4


def redact(text: str) -> str:
    """Scrub known secrets and key-shaped strings from ``text``.

    Libraries shorten long frames in their debug logs (websockets: ``'{"auth": {"apiKey":
    "78d8…...s": []}'``), which cuts a secret in two; a piece of a secret next to a truncation
    mark is scrubbed as well.
    """
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    if any(mark in text for mark in TRUNCATION_MARKS):
        text = _scrub_partials(text)
    return PRIVATE_KEY_RE.sub(MASK, text)


def _scrub_partials(text: str) -> str:
    for secret in _secrets:
        for mark in TRUNCATION_MARKS:
            for k in range(len(secret) - 1, MIN_PARTIAL_LEN - 1, -1):
                head, tail = secret[:k] + mark, mark + secret[-k:]
                if head in text:
                    text = text.replace(head, MASK + mark)
                if tail in text:
                    text = text.replace(tail, mark + MASK)
    return text


def install(settings: Settings) -> None:
    """Register the configured secrets and make every future log record redacted."""
    global _installed
    register_secrets(v for name in secret_env_names(settings) if (v := os.environ.get(name)))
    if _installed:
        return
    base = logging.getLogRecordFactory()

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = base(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not break logging
            return record
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        return record

    logging.setLogRecordFactory(factory)
    _installed = True
