"""Time for timers: the wall clock in production, a hand-driven clock in tests.

Escalation deadlines are epoch seconds (they survive restarts and show on the desk), so the
clock is ``time.time`` based; ``ManualClock`` lets tests jump an SLA without sleeping.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    """Current epoch time and a sleep that ends early when woken."""

    def now(self) -> float:
        """Epoch seconds."""

    async def sleep_until(self, deadline: float, wake: asyncio.Event) -> None:
        """Return at ``deadline`` or as soon as ``wake`` is set, whichever comes first."""


class SystemClock:
    """The wall clock."""

    def now(self) -> float:
        """Epoch seconds."""
        return time.time()

    async def sleep_until(self, deadline: float, wake: asyncio.Event) -> None:
        """Sleep on ``wake`` with a timeout."""
        delay = max(0.0, deadline - time.time())
        try:
            async with asyncio.timeout(delay):
                await wake.wait()
        except TimeoutError:
            pass


class ManualClock:
    """A clock that moves only when told; ``advance`` wakes sleepers whose deadline passed."""

    def __init__(self, start: float = 1_763_800_000.0) -> None:
        self._now = start
        self._moved = asyncio.Event()

    def now(self) -> float:
        """The current manual time."""
        return self._now

    async def advance(self, seconds: float) -> None:
        """Move time forward and let due sleepers run."""
        self._now += seconds
        moved, self._moved = self._moved, asyncio.Event()
        moved.set()
        # Give woken tasks a chance to act before the caller looks at the result.
        for _ in range(10):
            await asyncio.sleep(0)

    async def sleep_until(self, deadline: float, wake: asyncio.Event) -> None:
        """Wait until manual time reaches ``deadline`` or ``wake`` is set."""
        while self._now < deadline and not wake.is_set():
            waits = {asyncio.ensure_future(wake.wait()), asyncio.ensure_future(self._moved.wait())}
            try:
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in waits:
                    task.cancel()
