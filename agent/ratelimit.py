"""A log-line limiter so that a flood of bad frames is counted, not printed a million times."""

from __future__ import annotations

import time


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
