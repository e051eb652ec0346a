"""The watch list lives in config.toml itself, edited in place so comments and layout stay.

``polytui whales add/remove`` change ``[whales] wallets``, ``[whales] aliases`` and
``[approval] per_wallet`` with tomlkit (a style-preserving TOML editor): every comment, blank
line and key order the user wrote survives. The edited text is validated with the same loader
the app uses before it replaces the file (atomically, keeping its mode), so an edit can never
leave a config the daemon would refuse. A running daemon on the same data directory is then
sent SIGHUP, which reloads whales and policies without dropping a feed.
"""

from __future__ import annotations

import os
import signal
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.items import Array, Table

from polytui.config import POLICIES, WALLET_RE, ConfigError, data_dir, settings_from_dict
from polytui.settings import Settings


class WatchListError(ValueError):
    """A watch-list change that cannot be made (the message says why)."""


@dataclass(frozen=True, slots=True)
class Watched:
    """One watched wallet as the config says it."""

    wallet: str
    alias: str
    policy: str


def check_wallet(address: str) -> str:
    """A proxy-wallet address, lower-cased, or WatchListError."""
    if not WALLET_RE.match(address or ""):
        raise WatchListError(f"{address!r} is not a wallet address (0x followed by 40 hex digits)")
    return address.lower()


def _table(doc: Any, name: str) -> Any:
    if name not in doc:
        doc[name] = tomlkit.table()
    return doc[name]


def _subtable(parent: Any, name: str) -> Any:
    if name not in parent:
        parent[name] = tomlkit.inline_table()
    return parent[name]


def _read(path: Path) -> tomlkit.TOMLDocument:
    if not path.exists():
        return tomlkit.document()
    try:
        return tomlkit.parse(path.read_text(encoding="utf-8"))
    except Exception as exc:  # tomlkit raises its own ParseError subclasses
        raise WatchListError(f"{path}: not valid TOML: {exc}") from None


def _write(path: Path, doc: tomlkit.TOMLDocument) -> None:
    text = tomlkit.dumps(doc)
    try:
        import tomllib

        settings_from_dict(tomllib.loads(text), source=str(path), text=text)
    except (ConfigError, ValueError) as exc:
        raise WatchListError(f"the change would break the config, not written: {exc}") from None
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o600
    fd, tmp = tempfile.mkstemp(prefix=".config-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def add_wallet(
    path: Path, address: str, *, alias: str | None = None, policy: str | None = None
) -> bool:
    """Watch ``address`` (set its alias / policy); returns False when it was already watched."""
    wallet = check_wallet(address)
    if policy is not None and policy not in POLICIES:
        raise WatchListError(f"policy must be one of {', '.join(POLICIES)}, got {policy!r}")
    doc = _read(path)
    whales = _table(doc, "whales")
    if "wallets" not in whales:
        whales["wallets"] = tomlkit.array()
    wallets: Array = whales["wallets"]
    known = [str(w).lower() for w in wallets]
    added = wallet not in known
    if added:
        wallets.append(wallet)
        if len(wallets) > 2:
            wallets.multiline(True)
    if alias is not None:
        _subtable(whales, "aliases")[wallet] = alias
    if policy is not None:
        _subtable(_table(doc, "approval"), "per_wallet")[wallet] = policy
    _write(path, doc)
    return added


def remove_wallet(path: Path, address: str) -> bool:
    """Stop watching ``address`` (its alias and policy go too); False when it was not watched."""
    wallet = check_wallet(address)
    doc = _read(path)
    whales: Table | None = doc.get("whales")  # type: ignore[assignment]
    removed = False
    if whales is not None and "wallets" in whales:
        wallets: Array = whales["wallets"]
        for i in reversed(range(len(wallets))):
            if str(wallets[i]).lower() == wallet:
                del wallets[i]
                removed = True
    for parent, name in ((whales, "aliases"), (doc.get("approval"), "per_wallet")):
        table = parent.get(name) if parent is not None else None
        if table is not None:
            for key in [k for k in table if str(k).lower() == wallet]:
                del table[key]
    if removed or path.exists():
        _write(path, doc)
    return removed


def watched(settings: Settings) -> list[Watched]:
    """The watch list from loaded settings."""
    return [
        Watched(
            w,
            settings.whales.aliases.get(w, ""),
            settings.approval.per_wallet.get(w, settings.approval.policy),
        )
        for w in settings.whales.wallets
    ]


def _is_daemon(pid: int) -> bool:
    """The process is ``polytui --daemon`` (a console holds the same lock and must never get a
    SIGHUP: a terminal app ends on it)."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"--daemon" in argv


def notify_daemon(settings: Settings) -> int | None:
    """SIGHUP the daemon running on this config's data directory; its pid, or None."""
    from polytui.pidlock import owner_pid

    pid = owner_pid(data_dir(settings))
    if pid is None or pid <= 0 or not _is_daemon(pid):
        return None
    try:
        os.kill(pid, signal.SIGHUP)
    except OSError:
        return None
    return pid
