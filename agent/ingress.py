"""The bounded queue between sources and detection.

``put`` waits for room (finite sources lose nothing); ``offer`` never waits and sheds under
overload (live sources must keep reading their sockets). Every accepted message is counted
per room and source here, once, so sources only count what they reject.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque

from agent.events import Event
from agent.metrics import Metrics


class IngressClosed(Exception):
    """Raised by ``put`` after ``close``: the pipeline is draining."""


class QueueIngress:
    """A bounded FIFO with back-pressure for ``put`` and drop-and-count for ``offer``."""

    def __init__(self, metrics: Metrics, capacity: int = 10_000) -> None:
        self.metrics = metrics
        self.capacity = capacity
        self._items: deque[Event] = deque()
        self._not_empty = asyncio.Event()
        self._not_full = asyncio.Event()
        self._not_full.set()
        self._closed = False
        metrics.track_queue("ingress", lambda: len(self._items), capacity)

    def __len__(self) -> int:
        return len(self._items)

    @property
    def closed(self) -> bool:
        """True once ``close`` was called; remaining items still drain."""
        return self._closed

    def _count(self, event: Event) -> None:
        room = self.metrics.room(event.room)
        self.metrics.messages_received.labels(room, event.source).inc()
        self.metrics.last_message_timestamp.labels(room).set(event.received)

    def _append(self, event: Event) -> None:
        self._items.append(event)
        self._not_empty.set()
        if len(self._items) >= self.capacity:
            self._not_full.clear()

    async def put(self, event: Event) -> None:
        """Enqueue, waiting while full."""
        while len(self._items) >= self.capacity and not self._closed:
            await self._not_full.wait()
        if self._closed:
            raise IngressClosed
        self._count(event)
        self._append(event)

    def offer(self, event: Event) -> bool:
        """Enqueue without waiting; when full the event is dropped and counted."""
        if self._closed:
            self.metrics.messages_dropped.labels(self.metrics.room(event.room), "shutdown").inc()
            return False
        self._count(event)
        if len(self._items) >= self.capacity:
            self.metrics.messages_dropped.labels(self.metrics.room(event.room), "overload").inc()
            return False
        self._append(event)
        return True

    def close(self) -> None:
        """Refuse new events; ``get_batch`` returns what is left, then an empty list."""
        self._closed = True
        self._not_empty.set()
        self._not_full.set()

    async def get_batch(self, limit: int) -> list[Event]:
        """Wait for at least one event and take up to ``limit``; ``[]`` once closed and empty."""
        while not self._items:
            if self._closed:
                return []
            self._not_empty.clear()
            await self._not_empty.wait()
        batch = [self._items.popleft() for _ in range(min(limit, len(self._items)))]
        if len(self._items) < self.capacity:
            self._not_full.set()
        return batch


def now() -> float:
    """Receive time as epoch seconds (one place, so tests can reason about it)."""
    return time.time()
