"""Scenario files: what a world is made of (markets, whales, clusters, seed), read from TOML.

Every key is documented in docs/scenarios.md. A bad file raises :class:`SpecError` naming the key
and what is wrong with it. The built-in worlds are TOML files shipped beside this module.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from polytui.sim.worlds.fees import FEE_SCHEDULES

ARCHETYPES = ("noise", "informed_slow", "informed_fast", "longshot", "herd", "informed_cluster")
CLUSTERS = ("herd", "informed_cluster")
INFORMED = ("informed_slow", "informed_fast", "informed_cluster")
BUILTIN_DIR = Path(__file__).with_name("builtin")


class SpecError(ValueError):
    """A scenario file that cannot be used; the message names the key."""


@dataclass(frozen=True, slots=True)
class MarketGroup:
    """Markets of one kind, ``count`` open at once (rolling: a resolved one is replaced)."""

    name: str
    count: int
    rolling: bool
    duration_s: tuple[float, float]
    question: str
    fee: str
    depth: float
    frontrun: float
    large_usd: float
    react_s: tuple[float, float]
    refill_s: float
    info: float
    prior: tuple[float, float]
    tape_s: float = 2.0
    category: str = ""


@dataclass(frozen=True, slots=True)
class WhaleGroup:
    """``count`` wallets (or clusters of ``members`` wallets) of one archetype."""

    archetype: str
    count: int
    watched: bool
    alias: str
    usd: tuple[float, float]
    every_s: float
    accuracy: float
    reveal_s: tuple[float, float]
    max_price: float
    min_edge: float
    members: int
    window_s: float
    markets: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class WorldSpec:
    """A whole scenario file."""

    name: str
    description: str
    seed: int
    hours: float
    step_s: float
    markets: tuple[MarketGroup, ...]
    whales: tuple[WhaleGroup, ...]
    history_hours: float = 0.0


def builtin_names() -> tuple[str, ...]:
    """Names of the shipped worlds (``demo``, ``noise``, ``mixed``, ``chaos``, ``quiet``)."""
    return tuple(sorted(p.stem for p in BUILTIN_DIR.glob("*.toml")))


def builtin_spec(name: str) -> WorldSpec:
    """A shipped world by name."""
    path = BUILTIN_DIR / f"{name}.toml"
    if not path.is_file():
        raise SpecError(f"unknown scenario {name!r}; choose one of {', '.join(builtin_names())}")
    return load_spec(path)


def load_spec(path: Path) -> WorldSpec:
    """Read and check a scenario file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SpecError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: not valid TOML: {exc}") from None
    try:
        return parse_spec(data, default_name=path.stem)
    except SpecError as exc:
        raise SpecError(f"{path}: {exc}") from None


class _Table:
    """One TOML table being read; remembers which keys were used so unknown ones are reported."""

    def __init__(self, data: Any, where: str) -> None:
        if not isinstance(data, dict):
            raise SpecError(f"{where}: must be a table")
        self.data: dict[str, Any] = data
        self.where = where
        self.used: set[str] = set()

    def _get(self, key: str, default: Any) -> Any:
        self.used.add(key)
        return self.data.get(key, default)

    def key(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def string(self, key: str, default: str, choices: tuple[str, ...] | None = None) -> str:
        value = self._get(key, default)
        if not isinstance(value, str):
            raise SpecError(f"{self.key(key)}: must be a string, got {value!r}")
        if choices is not None and value not in choices:
            raise SpecError(f"{self.key(key)}: {value!r} is not one of {', '.join(choices)}")
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self._get(key, default)
        if not isinstance(value, bool):
            raise SpecError(f"{self.key(key)}: must be true or false, got {value!r}")
        return value

    def number(
        self, key: str, default: float, lo: float, hi: float, integer: bool = False
    ) -> float:
        value = self._get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SpecError(f"{self.key(key)}: must be a number, got {value!r}")
        if integer and not isinstance(value, int):
            raise SpecError(f"{self.key(key)}: must be a whole number, got {value!r}")
        if not lo <= value <= hi:
            raise SpecError(f"{self.key(key)}: {value} is outside [{lo}, {hi}]")
        return float(value)

    def pair(
        self, key: str, default: tuple[float, float], lo: float, hi: float
    ) -> tuple[float, float]:
        value = self._get(key, list(default))
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = [value, value]
        if (
            not isinstance(value, list)
            or len(value) != 2
            or any(isinstance(v, bool) or not isinstance(v, int | float) for v in value)
        ):
            raise SpecError(f"{self.key(key)}: must be a number or [low, high], got {value!r}")
        a, b = float(value[0]), float(value[1])
        if not lo <= a <= b <= hi:
            raise SpecError(f"{self.key(key)}: needs {lo} ≤ low ≤ high ≤ {hi}, got [{a}, {b}]")
        return a, b

    def strings(self, key: str) -> tuple[str, ...]:
        value = self._get(key, [])
        if not isinstance(value, list) or any(not isinstance(v, str) for v in value):
            raise SpecError(f"{self.key(key)}: must be a list of strings, got {value!r}")
        return tuple(value)

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise SpecError(f"{self.key(unknown[0])}: unknown key")


def parse_spec(data: dict[str, Any], default_name: str = "world") -> WorldSpec:
    """Check a parsed scenario file and turn it into a :class:`WorldSpec`."""
    top = _Table(data, "")
    name = top.string("name", default_name)
    description = top.string("description", "")
    seed = int(top.number("seed", 7, 0, 2**63, integer=True))
    hours = top.number("hours", 24.0, 0.01, 24 * 365)
    step_s = top.number("step_s", 2.0, 0.1, 60.0)
    history_hours = top.number("history_hours", 0.0, 0.0, 24 * 90)
    raw_markets = top._get("markets", None)
    raw_whales = top._get("whales", [])
    top.done()
    if not isinstance(raw_markets, list) or not raw_markets:
        raise SpecError("markets: at least one [[markets]] table is needed")
    if not isinstance(raw_whales, list):
        raise SpecError("whales: must be a list of [[whales]] tables")
    markets = tuple(_market(m, i) for i, m in enumerate(raw_markets))
    names = [m.name for m in markets]
    if len(set(names)) != len(names):
        raise SpecError("markets.name: every [[markets]] group needs its own name")
    whales = tuple(_whale(w, i, set(names)) for i, w in enumerate(raw_whales))
    return WorldSpec(name, description, seed, hours, step_s, markets, whales, history_hours)


def _market(raw: Any, i: int) -> MarketGroup:
    t = _Table(raw, f"markets[{i}]")
    group = MarketGroup(
        name=t.string("name", f"group{i}"),
        count=int(t.number("count", 1, 1, 10_000, integer=True)),
        rolling=t.boolean("rolling", True),
        duration_s=t.pair("duration_s", (900.0, 3600.0), 30.0, 365 * 86400.0),
        question=t.string("question", "Will event {n} happen?"),
        fee=t.string("fee", "none", tuple(FEE_SCHEDULES)),
        depth=t.number("depth", 5000.0, 1.0, 1e9),
        frontrun=t.number("frontrun", 0.0, 0.0, 10.0),
        large_usd=t.number("large_usd", 1000.0, 0.0, 1e12),
        react_s=t.pair("react_s", (0.15, 0.5), 0.0, 60.0),
        refill_s=t.number("refill_s", 60.0, 0.1, 86400.0),
        info=t.number("info", 1.0, 0.01, 100.0),
        prior=t.pair("prior", (0.1, 0.9), 0.01, 0.99),
        tape_s=t.number("tape_s", 2.0, 0.1, 86400.0),
        category=t.string("category", ""),
    )
    t.done()
    return group


def _whale(raw: Any, i: int, market_names: set[str]) -> WhaleGroup:
    t = _Table(raw, f"whales[{i}]")
    archetype = t.string("archetype", "noise", ARCHETYPES)
    group = WhaleGroup(
        archetype=archetype,
        count=int(t.number("count", 1, 0, 100_000, integer=True)),
        watched=t.boolean("watched", False),
        alias=t.string("alias", archetype.replace("_", "-")),
        usd=t.pair("usd", (200.0, 2000.0), 1.0, 1e9),
        every_s=t.number("every_s", 300.0, 0.1, 1e9),
        accuracy=t.number("accuracy", 0.75, 0.5, 0.999),
        reveal_s=t.pair("reveal_s", (1.0, 2.0), 0.0, 86400.0),
        max_price=t.number("max_price", 0.15, 0.01, 0.99),
        min_edge=t.number("min_edge", 0.02, 0.0, 1.0),
        members=int(t.number("members", 3, 1, 1000, integer=True)),
        window_s=t.number("window_s", 120.0, 0.0, 86400.0),
        markets=t.strings("markets"),
    )
    t.done()
    for name in group.markets:
        if name not in market_names:
            raise SpecError(f"whales[{i}].markets: no [[markets]] group is named {name!r}")
    if archetype not in CLUSTERS and "members" in t.data:
        raise SpecError(f"whales[{i}].members: only herd and informed_cluster have members")
    return group
