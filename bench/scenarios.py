"""The benchmark scenarios: names, what they measure, which servers take part.

A scenario name is a kind followed by a client count (``echo100``, ``bcast5000``); any
count works, the defaults are the ones issue 3 asks for. Shared by bench/run.py,
bench/loadgen.py and bench/report.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ALL_IMPLS = ("ours", "ref", "node", "raw")

# kind -> (label, unit of the rate, implementations that take part, host)
#   host None: every stack of the run (uvicorn, aiohttp); "threading": werkzeug, sync servers
KINDS: dict[str, tuple[str, str, tuple[str, ...], str | None]] = {
    "echo": ("echo", "acks", ALL_IMPLS, None),
    "bin": ("64 KiB binary echo", "acks", ALL_IMPLS, None),
    "bcast": ("broadcast", "deliveries", ALL_IMPLS, None),
    "idle": ("idle", "", ALL_IMPLS, None),
    "poll": ("polling echo", "acks", ("ours", "ref", "node"), None),
    "thread": ("threading echo", "acks", ("ours", "ref"), "threading"),
}

DEFAULT = (
    "echo10,echo100,echo1000,bin10,bcast1000,bcast5000,idle1000,idle10000,"
    "poll10,poll50,thread10,thread50"
)


@dataclass(frozen=True, kw_only=True)
class Scenario:
    name: str
    kind: str
    clients: int

    @property
    def label(self) -> str:
        return f"{KINDS[self.kind][0]} N={self.clients}"

    @property
    def unit(self) -> str:
        return KINDS[self.kind][1]

    @property
    def impls(self) -> tuple[str, ...]:
        return KINDS[self.kind][2]

    @property
    def host(self) -> str | None:
        return KINDS[self.kind][3]

    @property
    def throughput(self) -> bool:
        return self.kind != "idle"


def parse(name: str) -> Scenario:
    match = re.fullmatch(r"([a-z]+)(\d+)", name.strip())
    if not match or match.group(1) not in KINDS or int(match.group(2)) < 1:
        kinds = ", ".join(KINDS)
        raise ValueError(f"unknown scenario {name!r} (a kind among {kinds}, then a count)")
    return Scenario(name=name.strip(), kind=match.group(1), clients=int(match.group(2)))


def parse_list(text: str) -> list[Scenario]:
    return [parse(n) for n in text.split(",") if n.strip()]
