"""Delivery of alert versions to every sink, decoupled from detection.

Each sink has its own bounded queue and delivery task, so a slow chat robot never delays
MQTT and nothing in the detection loop awaits a network write. Failed deliveries are
retried with backoff, in order; a permanent failure is logged and counted.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque

from agent.backoff import Backoff
from agent.errors import DeliveryError
from agent.events import Alert
from agent.logs import get_logger
from agent.metrics import Metrics
from agent.sinks.base import Sink

_log = get_logger("agent.outbox")


class _Lane:
    """One sink's queue and delivery loop."""

    def __init__(self, sink: Sink, metrics: Metrics, capacity: int) -> None:
        self.sink = sink
        self.metrics = metrics
        self.capacity = capacity
        self.items: deque[Alert] = deque()
        self.has_items = asyncio.Event()
        self.has_room = asyncio.Event()
        self.has_room.set()
        self.idle = asyncio.Event()
        self.idle.set()
        self.backoff = Backoff(0.2, 10.0)
        self._pending = metrics.outbox_pending.labels(sink.name)
        self._ok = metrics.deliveries.labels(sink.name, "ok")
        self._retry = metrics.deliveries.labels(sink.name, "retry")
        self._failed = metrics.deliveries.labels(sink.name, "failed")
        self._latency = metrics.end_to_end_latency.labels(sink.name)

    async def put(self, alert: Alert) -> None:
        while len(self.items) >= self.capacity:
            self.has_room.clear()
            await self.has_room.wait()
        self.items.append(alert)
        self.idle.clear()
        self.has_items.set()
        self._pending.set(len(self.items))

    async def run(self) -> None:
        while True:
            while not self.items:
                self.idle.set()
                self.has_items.clear()
                await self.has_items.wait()
            alert = self.items[0]
            try:
                await self.sink.deliver(alert)
            except DeliveryError as exc:
                if exc.retryable:
                    self._retry.inc()
                    delay = self.backoff.next_delay()
                    _log.warning("delivery failed; retrying", sink=self.sink.name,
                                 alert_id=alert.alert_id, error=exc.problem, delay=round(delay, 2))
                    await asyncio.sleep(delay)
                    continue
                self._failed.inc()
                _log.error("delivery failed for good", sink=self.sink.name,
                           alert_id=alert.alert_id, error=exc.problem)
            else:
                self._ok.inc()
                self.backoff.reset()
                if alert.version == 1:
                    self._latency.observe(max(0.0, time.time() - alert.received))
            self.items.popleft()
            self._pending.set(len(self.items))
            self.has_room.set()


class Outbox:
    """Fans each alert version out to every sink's lane."""

    def __init__(self, sinks: list[Sink], metrics: Metrics, capacity: int = 10_000) -> None:
        self.lanes = [_Lane(sink, metrics, capacity) for sink in sinks]

    async def submit(self, alert: Alert) -> None:
        """Queue one alert version for every sink (waits only when a lane is full)."""
        for lane in self.lanes:
            await lane.put(alert)

    async def run(self) -> None:
        """Run every lane until cancelled."""
        async with asyncio.TaskGroup() as tg:
            for lane in self.lanes:
                tg.create_task(lane.run(), name=f"outbox[{lane.sink.name}]")

    async def drained(self) -> None:
        """Wait until every lane has delivered everything queued."""
        for lane in self.lanes:
            await lane.idle.wait()
