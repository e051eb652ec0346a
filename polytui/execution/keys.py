"""``polytui keys derive``: create or derive the CLOB API credentials with L1 auth.

L1 auth is an EIP-712 ``ClobAuth`` signature by the private key (PROTOCOL.md §2), done by the
official py-clob-client-v2: ``POST /auth/api-key`` creates the key for nonce 0, and when one
exists already ``GET /auth/derive-api-key`` returns it. The private key comes from the
environment variable named by ``[live] private_key_env``.

Output: ``export NAME=value`` lines for the three variables named in ``[live]``, ready for
``eval``. With ``--write FILE`` the lines go to FILE instead (created with mode 0600, never
wider), and the screen shows only where they went, so the secret stays out of the scrollback.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path
from typing import Any

from polytui import redaction
from polytui.execution.live import SIGNATURE_TYPES, LiveCredentials, LiveError


def derive_keys(loaded: Any, write: Path | None = None) -> int:
    """Create or derive the API credentials; print or write the export lines. Exit code."""
    settings = loaded.settings
    redaction.install(settings)
    try:
        key = LiveCredentials.from_env(settings, need_api=False).private_key
    except LiveError as exc:
        print(f"polytui keys derive: {exc}", file=sys.stderr)
        return 2
    try:
        from py_clob_client_v2.client import ClobClient
    except ImportError:
        print(
            "polytui keys derive: needs py-clob-client-v2 (pip install 'polytui[live]')",
            file=sys.stderr,
        )
        return 1
    lv = settings.live
    client = ClobClient(
        settings.feeds.clob_rest_url.rstrip("/"),
        chain_id=lv.chain_id,
        key=key,
        signature_type=SIGNATURE_TYPES[lv.signature_type],
        funder=lv.funder or None,
    )
    try:
        creds = client.create_or_derive_api_key()
    except Exception as exc:  # the client's errors carry the HTTP body, never our key
        detail = redaction.redact(f"{type(exc).__name__}: {exc}")[:200]
        print(f"polytui keys derive: the CLOB refused: {detail}", file=sys.stderr)
        return 1
    redaction.register_secrets([creds.api_key, creds.api_secret, creds.api_passphrase])
    lines = [
        f"export {lv.api_key_env}={shlex.quote(creds.api_key)}",
        f"export {lv.api_secret_env}={shlex.quote(creds.api_secret)}",
        f"export {lv.api_passphrase_env}={shlex.quote(creds.api_passphrase)}",
    ]
    address = client.get_address()
    if write is None:
        print("\n".join(lines))
        print(f"# API credentials of {address}; keep them secret", file=sys.stderr)
        return 0
    try:
        _write_private(Path(write), "\n".join(lines) + "\n")
    except OSError as exc:
        print(f"polytui keys derive: cannot write {write}: {exc.strerror}", file=sys.stderr)
        return 1
    print(f"wrote {write} (mode 0600): API credentials of {address}")
    print(f"load them with: set -a; . {shlex.quote(str(write))}; set +a")
    return 0


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by the owner only, even if it existed wider."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, text.encode())
    finally:
        os.close(fd)
