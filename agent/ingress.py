"""The bounded queue between sources and detection.

``put`` waits for room (finite sources lose nothing); ``offer`` never waits and sheds under
overload (live sources must keep reading their sockets). Every accepted message is counted
per room and source here, once, so sources only count what they reject.

Shedding is by priority (``agent.prefilter``): when the queue is full, an offered event evicts
the oldest queued event of the lowest priority below its own (``reason="evicted"``); when
nothing queued ranks lower, the offered event itself is dropped (``reason="overload"``). A
likely after-sales comment therefore pushes out chatter instead of being lost. Detection
still sees the survivors in arrival order.

Ranking is lazy: the keyword scan costs more than decoding a danmaku, and it only matters
once the queue may have to shed. Below ``rank_from`` (half the capacity) events queue
unranked; the first event to reach it ranks the backlog, and every event is ranked on
arrival from then until the queue has drained empty. So every queued event is ranked
whenever the queue is full.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque

from prometheus_client import Counter, Gauge

from agent.events import Event
from agent.metrics import OTHER_ROOM, Metrics
from agent.prefilter import MAX_PRIORITY, Prefilter, default_prefilter

# Per-room metric children kept for the hot path; more (room, source) pairs than this
# restarts the cache rather than growing it.
MAX_CACHED_ROOMS = 4096


class IngressClosed(Exception):
    """Raised by ``put`` after ``close``: the pipeline is draining."""


class _Slot:
    """One queued event; an evicted slot stays in the arrival queue, marked dead.

    ``priority`` is None while the event waits unranked (the queue was less than half full).
    """

    __slots__ = ("alive", "event", "priority")

    def __init__(self, event: Event, priority: int | None) -> None:
        self.event = event
        self.priority = priority
        self.alive = True


class QueueIngress:
    """A bounded FIFO with back-pressure for ``put`` and priority shedding for ``offer``."""

    def __init__(
        self, metrics: Metrics, capacity: int = 10_000, *, prefilter: Prefilter | None = None
    ) -> None:
        self.metrics = metrics
        self.capacity = capacity
        self.prefilter = prefilter if prefilter is not None else default_prefilter()
        self.rank_from = capacity // 2
        # Arrival order (alive and evicted slots); per priority, the alive ranked slots in
        # order; the alive unranked slots in order (all younger than every ranked one).
        self._items: deque[_Slot] = deque()
        self._levels: list[deque[_Slot]] = [deque() for _ in range(MAX_PRIORITY + 1)]
        self._unranked: deque[_Slot] = deque()
        self._ranking = False
        self._children: dict[tuple[str, str], tuple[Counter, Gauge]] = {}
        self._size = 0
        self._not_empty = asyncio.Event()
        self._not_full = asyncio.Event()
        self._not_full.set()
        self._closed = False
        metrics.track_queue("ingress", lambda: self._size, capacity)

    def __len__(self) -> int:
        return self._size

    @property
    def closed(self) -> bool:
        """True once ``close`` was called; remaining items still drain."""
        return self._closed

    def _count(self, event: Event) -> None:
        # ``labels()`` takes a lock and builds a key per call; the children are cached.
        key = (event.room, event.source)
        children = self._children.get(key)
        if children is None:
            room = self.metrics.room(event.room)
            children = (
                self.metrics.messages_received.labels(room, event.source),
                self.metrics.last_message_timestamp.labels(room),
            )
            if room != OTHER_ROOM:  # folded rooms count every message in rooms_folded
                if len(self._children) >= MAX_CACHED_ROOMS:
                    self._children.clear()
                self._children[key] = children
        received, last = children
        received.inc()
        last.set(event.received)

    def _drop(self, event: Event, reason: str) -> None:
        self.metrics.messages_dropped.labels(self.metrics.room(event.room), reason).inc()

    def _append(self, event: Event, priority: int | None) -> None:
        slot = _Slot(event, priority)
        self._items.append(slot)
        if priority is None:
            self._unranked.append(slot)
        else:
            self._levels[priority].append(slot)
        self._size += 1
        self._not_empty.set()
        if self._size >= self.capacity:
            self._not_full.clear()
        if not self._ranking and self._size >= self.rank_from:
            self._rank_backlog()

    def _rank_backlog(self) -> None:
        """Start ranking: the unranked slots join their levels, oldest first."""
        self._ranking = True
        priority = self.prefilter.priority
        levels = self._levels
        for slot in self._unranked:
            slot.priority = priority(slot.event)
            levels[slot.priority].append(slot)
        self._unranked.clear()

    def _priority(self, event: Event) -> int | None:
        """The event's rank when the queue is ranking, else None (ranked later if need be)."""
        return self.prefilter.priority(event) if self._ranking else None

    def _evict_below(self, priority: int) -> Event | None:
        """Remove the oldest alive event ranked below ``priority``; None when there is none."""
        for level in self._levels[:priority]:
            if level:
                slot = level.popleft()
                slot.alive = False
                self._size -= 1
                if len(self._items) > 2 * self.capacity:
                    self._compact()
                return slot.event
        return None

    def _compact(self) -> None:
        """Forget evicted slots so the arrival queue stays within twice the capacity."""
        self._items = deque(slot for slot in self._items if slot.alive)

    async def put(self, event: Event) -> None:
        """Enqueue, waiting while full."""
        while self._size >= self.capacity and not self._closed:
            await self._not_full.wait()
        if self._closed:
            raise IngressClosed
        self._count(event)
        self._append(event, self._priority(event))

    def offer(self, event: Event) -> bool:
        """Enqueue without waiting; when full, shed the lowest priority, this event or a queued one.

        Returns False when ``event`` itself was dropped.
        """
        if self._closed:
            self._drop(event, "shutdown")
            return False
        self._count(event)
        if self._size < self.capacity:
            self._append(event, self._priority(event))
            return True
        # Full, so ranking (rank_from <= capacity): every queued slot has its level.
        priority = self.prefilter.priority(event)
        evicted = self._evict_below(priority)
        if evicted is None:
            self._drop(event, "overload")
            return False
        self._drop(evicted, "evicted")
        self._append(event, priority)
        return True

    def close(self) -> None:
        """Refuse new events; ``get_batch`` returns what is left, then an empty list."""
        self._closed = True
        self._not_empty.set()
        self._not_full.set()

    async def get_batch(self, limit: int) -> list[Event]:
        """Wait for at least one event and take up to ``limit``; ``[]`` once closed and empty."""
        while not self._size:
            if self._closed:
                return []
            self._not_empty.clear()
            await self._not_empty.wait()
        batch: list[Event] = []
        items, levels, unranked = self._items, self._levels, self._unranked
        while len(batch) < limit and items:
            slot = items.popleft()
            if slot.alive:
                # The oldest alive slot of its level is this one: levels keep arrival order.
                (unranked if slot.priority is None else levels[slot.priority]).popleft()
                batch.append(slot.event)
        self._size -= len(batch)
        if self._size < self.capacity:
            self._not_full.set()
        if not self._size:
            # Drained: nothing ranked is left, so new arrivals may queue unranked again.
            self._ranking = False
        return batch


def now() -> float:
    """Receive time as epoch seconds (one place, so tests can reason about it)."""
    return time.time()
