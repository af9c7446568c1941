"""When each request of an open-loop level is meant to go out (pure; no Locust here).

An open loop sends on a schedule fixed in advance, whatever the server does, so a slow
server cannot slow the load down (coordinated omission): each latency is measured from
the request's *intended* send time. `constant` spaces sends evenly; `poisson` draws
exponential gaps from a seeded generator, so the same seed gives the same schedule for
every variant.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from infragap.errors import ConfigError

ArrivalKind = Literal["constant", "poisson"]
ARRIVAL_KINDS: tuple[ArrivalKind, ...] = ("constant", "poisson")


@dataclass(frozen=True)
class Arrivals:
    """An open-loop schedule: `rate_per_s` requests per second, spaced by `kind`."""

    kind: ArrivalKind
    rate_per_s: float
    seed: int = 0

    def __post_init__(self) -> None:
        if self.kind not in ARRIVAL_KINDS:
            raise ConfigError(f"--arrival {self.kind!r}: choose one of {', '.join(ARRIVAL_KINDS)}")
        if not self.rate_per_s > 0:
            raise ConfigError(f"rate {self.rate_per_s!r}: give a positive requests-per-second rate")

    def offsets(self) -> Iterator[float]:
        """Seconds from the schedule's start at which send 0, 1, 2, ... is due."""
        if self.kind == "constant":
            gap = 1.0 / self.rate_per_s
            index = 0
            while True:
                yield index * gap
                index += 1
        rng = random.Random(self.seed)
        at = 0.0
        while True:
            yield at
            at += rng.expovariate(self.rate_per_s)


def parse_rates(text: str) -> list[float]:
    """`--rates 50,100,200` -> [50.0, 100.0, 200.0], or ConfigError saying what is wrong."""
    try:
        rates = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ConfigError(f"--rates {text!r}: give requests per second like 50,100,200") from None
    if not rates or any(not r > 0 or r != r or r == float("inf") for r in rates):
        raise ConfigError(f"--rates {text!r}: give positive requests per second like 50,100,200")
    return rates


def connections_for(rate_per_s: float, expected_latency_s: float = 0.25) -> int:
    """Enough connections that the generator never waits for one below saturation
    (Little's law: in flight = rate x latency), within [4, 256]."""
    return max(4, min(256, round(rate_per_s * expected_latency_s) + 1))
