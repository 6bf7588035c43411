"""Log-line limiters: a flood of bad frames is counted, not printed a million times, and an
outage of a broker or endpoint is told once, not at every retry."""

from __future__ import annotations

import time
from typing import Any


class LogThrottle:
    """Allow at most ``burst`` lines per ``period`` seconds for each key; count the rest."""

    def __init__(self, period: float = 10.0, burst: int = 5) -> None:
        self.period = period
        self.burst = burst
        self._windows: dict[str, tuple[float, int, int]] = {}

    def allow(self, key: str, now: float | None = None) -> tuple[bool, int]:
        """Whether to log now, and how many lines of this key were suppressed before."""
        at = time.monotonic() if now is None else now
        start, count, suppressed = self._windows.get(key, (at, 0, 0))
        if at - start >= self.period:
            self._windows[key] = (at, 1, 0)
            return True, suppressed
        if count < self.burst:
            self._windows[key] = (start, count + 1, suppressed)
            return True, 0
        self._windows[key] = (start, count, suppressed + 1)
        return False, 0


class OutageLog:
    """One line when a dependency starts failing, a reminder at most every ``every`` seconds
    while it stays down, and one line when it works again.

    A dead broker or robot endpoint is retried with backoff; logging every retry would bury
    the one line that says what is wrong.
    """

    def __init__(self, log: Any, every: float = 60.0) -> None:
        self.log = log
        self.every = every
        self.since: float | None = None
        self._last = 0.0
        self._failures = 0

    @property
    def down(self) -> bool:
        """Whether an outage is in progress."""
        return self.since is not None

    def failed(self, event: str, now: float | None = None, **fields: Any) -> None:
        """A failed attempt: logged when the outage starts and then at most every ``every`` s."""
        at = time.monotonic() if now is None else now
        self._failures += 1
        if self.since is None:
            self.since, self._last = at, at
            self.log.warning(event, **fields)
        elif at - self._last >= self.every:
            self._last = at
            self.log.warning(f"{event} (still)", down_seconds=round(at - self.since, 1),
                             attempts=self._failures, **fields)  # fmt: skip

    def recovered(self, event: str, now: float | None = None, **fields: Any) -> None:
        """A success: logged only when it ends an outage."""
        if self.since is None:
            return
        at = time.monotonic() if now is None else now
        self.log.info(event, down_seconds=round(at - self.since, 1), attempts=self._failures,
                      **fields)  # fmt: skip
        self.since, self._failures = None, 0
