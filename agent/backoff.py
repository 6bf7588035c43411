"""Reconnect delays: exponential growth with full jitter, and a pure retry classifier."""

from __future__ import annotations

import random
from collections.abc import Iterator


def backoff_delays(
    initial: float = 1.0,
    maximum: float = 30.0,
    factor: float = 2.0,
    rng: random.Random | None = None,
) -> Iterator[float]:
    """Yield delays drawn uniformly from ``[initial/2, ceiling]`` where the ceiling doubles.

    Full jitter spreads the reconnects of hundreds of rooms after a shared outage, so they
    do not hit the server in one wave; the floor of ``initial/2`` keeps the first retry quick.
    """
    draw = rng or random.Random()
    ceiling = initial
    while True:
        yield draw.uniform(initial / 2, ceiling)
        ceiling = min(maximum, ceiling * factor)


class Backoff:
    """A resettable stream of backoff delays."""

    def __init__(self, initial: float = 1.0, maximum: float = 30.0, factor: float = 2.0) -> None:
        self._args = (initial, maximum, factor)
        self._delays = backoff_delays(*self._args)
        self.attempts = 0

    def next_delay(self) -> float:
        """The delay before the next attempt."""
        self.attempts += 1
        return next(self._delays)

    def reset(self) -> None:
        """Start again from the initial delay (after a connection proved healthy)."""
        self._delays = backoff_delays(*self._args)
        self.attempts = 0
