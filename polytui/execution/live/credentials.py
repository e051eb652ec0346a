"""Credentials from the environment and the three gates to live trading."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO

from polytui import redaction
from polytui.execution.live.errors import LiveError
from polytui.settings import Settings

# Order signature types (PROTOCOL.md §7). POLY_1271 is a deposit wallet (new polymarket.com
# accounts): the wallet is maker and signer, the key signs for it (ERC-7739-style wrapping,
# done by py-clob-client-v2).
SIGNATURE_TYPES = {"EOA": 0, "POLY_PROXY": 1, "POLY_GNOSIS_SAFE": 2, "POLY_1271": 3}
DEPOSIT_WALLET = "POLY_1271"


@dataclass(frozen=True, slots=True)
class LiveCredentials:
    """The private key and L2 API credentials, read from the environment only."""

    private_key: str = field(repr=False)
    api_key: str = field(repr=False)
    api_secret: str = field(repr=False)
    api_passphrase: str = field(repr=False)

    @classmethod
    def from_env(
        cls, settings: Settings, env: Mapping[str, str] | None = None, *, need_api: bool = True
    ) -> LiveCredentials:
        """Read and register for redaction; a missing variable is named, never its value."""
        env = os.environ if env is None else env
        lv = settings.live
        names = {
            "private_key": lv.private_key_env,
            "api_key": lv.api_key_env,
            "api_secret": lv.api_secret_env,
            "api_passphrase": lv.api_passphrase_env,
        }
        values = {k: env.get(name, "").strip() for k, name in names.items()}
        redaction.register_secrets(v for v in values.values() if v)
        required = ["private_key", "api_key", "api_secret", "api_passphrase"]
        if not need_api:
            required = ["private_key"]
        missing = [names[k] for k in required if not values[k]]
        if missing:
            hint = "" if not need_api else " (`polytui keys derive` makes the API credentials)"
            raise LiveError(f"live trading needs {', '.join(missing)} in the environment{hint}")
        key = values["private_key"]
        if not key.startswith("0x"):
            key = "0x" + key
        if len(key) != 66:
            raise LiveError(f"{lv.private_key_env} is not a 32-byte hex private key")
        values["private_key"] = key
        return cls(**values)


CONFIRM_WORD = "LIVE"


def confirm_live(
    loaded: Any,
    live: bool,
    yes_live: bool = False,
    *,
    stdin: TextIO | None = None,
    out: TextIO | None = None,
) -> bool:
    """The three gates to live trading; True only when all pass.

    ``mode = "live"`` in the config, ``--live`` on the command line, and either ``--yes-live``
    (daemon) or the word LIVE typed at a terminal prompt. No terminal (stdin closed, a pipe) →
    refused. Reasons go to ``out`` (stderr by default).
    """
    stdin = sys.stdin if stdin is None else stdin
    out = sys.stderr if out is None else out
    settings = getattr(loaded, "settings", loaded)
    if getattr(settings, "mode", "paper") != "live":
        print('polytui: live trading needs mode = "live" in the config file', file=out)
        return False
    if not live:
        print("polytui: live trading needs --live on the command line", file=out)
        return False
    if yes_live:
        print("polytui: LIVE trading confirmed by --yes-live", file=out)
        return True
    try:
        interactive = stdin is not None and not stdin.closed and stdin.isatty()
    except (ValueError, OSError):
        interactive = False
    if not interactive:
        print(
            "polytui: live trading needs the word LIVE typed at a terminal "
            "(or --yes-live for the daemon); no terminal here, refusing",
            file=out,
        )
        return False
    print(
        "polytui: this will trade REAL money on Polymarket. Type LIVE to continue: ",
        end="",
        file=out,
        flush=True,
    )
    try:
        answer = stdin.readline()
    except (OSError, ValueError, KeyboardInterrupt):
        answer = ""
    if answer.strip() != CONFIRM_WORD:
        print("polytui: not confirmed; nothing was started", file=out)
        return False
    return True
