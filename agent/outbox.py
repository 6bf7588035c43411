"""Durable delivery of alert versions to every sink, decoupled from detection.

    submit(alert) ─► SQLite row per (sink, alert_id, version) ─► lane per sink ─► sink.deliver
                                  ▲ reloaded on start                 └─ row deleted once delivered

A version is stored before any delivery is attempted, and its row is deleted only after
the sink confirmed it, so delivery is at-least-once across broker outages and SIGKILL; the
idempotency key ``alert_id:version`` travels with every delivery so consumers can drop
repeats. Each sink has its own lane and task, so a slow chat robot never delays MQTT and
nothing in the detection loop awaits a network write. Retryable failures are retried in
order with backoff; a permanent failure is logged, counted and dropped.

Sinks may opt into batches (``deliver_many`` + ``wait_turn``): rate-limited chat robots
take everything queued at their turn and merge it into one digest message. For paging
sinks (``notifies = True``) a newer version supersedes queued older ones of the same
alert, so an acknowledgement cancels a page still waiting to go out.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import orjson

from agent.backoff import Backoff
from agent.errors import DeliveryError
from agent.events import Alert
from agent.logs import get_logger
from agent.metrics import Metrics
from agent.ratelimit import OutageLog
from agent.sinks.base import Sink

_log = get_logger("agent.outbox")

Gate = Callable[[Alert], bool]
# Told of every confirmed delivery (alert version, sink name): the records store's
# "delivered where" column.
DeliveredHook = Callable[[Alert, str], None]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sink TEXT NOT NULL,
    alert_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    payload BLOB NOT NULL,
    created REAL NOT NULL,
    UNIQUE (sink, alert_id, version)
)
"""


def idempotency_key(alert: Alert) -> str:
    """The key consumers deduplicate on: one per alert version."""
    return f"{alert.alert_id}:{alert.version}"


@runtime_checkable
class BatchSink(Protocol):
    """A sink that delivers several queued versions at once (chat robots: one digest)."""

    name: str
    max_batch: int

    async def wait_turn(self) -> None:
        """Wait until the sink may send (rate limits, a platform's block period)."""

    async def deliver_many(self, alerts: Sequence[Alert]) -> None:
        """Deliver a batch as one message; raises ``DeliveryError`` for the whole batch."""


class OutboxStore:
    """Undelivered versions in a local SQLite file (WAL: a commit survives a killed process)."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL: commits reach the OS at once (safe against SIGKILL) without an fsync each.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(_SCHEMA)

    def add(self, sinks: Sequence[str], alert: Alert) -> list[int | None]:
        """Store one version for each sink; ``None`` where that version was already stored."""
        payload = orjson.dumps(alert.to_dict())
        now = time.time()
        ids: list[int | None] = []
        with self._db:
            for sink in sinks:
                cursor = self._db.execute(
                    "INSERT OR IGNORE INTO outbox (sink, alert_id, version, payload, created)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (sink, alert.alert_id, alert.version, payload, now),
                )
                ids.append(cursor.lastrowid if cursor.rowcount else None)
        return ids

    def remove(self, ids: Sequence[int]) -> None:
        """Forget delivered (or permanently failed) rows."""
        with self._db:
            self._db.executemany("DELETE FROM outbox WHERE id = ?", [(i,) for i in ids])

    def pending(self, sink: str) -> list[tuple[int, Alert]]:
        """Rows still owed to ``sink``, oldest first."""
        rows = self._db.execute(
            "SELECT id, payload FROM outbox WHERE sink = ? ORDER BY id", (sink,)
        ).fetchall()
        return [(row[0], Alert.from_dict(orjson.loads(row[1]))) for row in rows]

    def sinks(self) -> dict[str, int]:
        """Rows owed, per sink name."""
        rows = self._db.execute("SELECT sink, count(*) FROM outbox GROUP BY sink").fetchall()
        return {str(name): int(n) for name, n in rows}

    def count(self) -> int:
        """Rows owed to any sink."""
        row = self._db.execute("SELECT count(*) FROM outbox").fetchone()
        return int(row[0])

    def close(self) -> None:
        """Close the database."""
        self._db.close()


class _Lane:
    """One sink's queue and delivery loop."""

    def __init__(
        self, sink: Sink, metrics: Metrics, capacity: int, store: OutboxStore | None,
        backoff: Backoff, *, on_delivered: DeliveredHook | None = None,
    ) -> None:  # fmt: skip
        self.sink = sink
        self.on_delivered = on_delivered
        self.capacity = capacity
        self.store = store
        self.items: deque[tuple[int | None, Alert]] = deque()
        self.has_items = asyncio.Event()
        self.has_room = asyncio.Event()
        self.has_room.set()
        self.idle = asyncio.Event()
        self.idle.set()
        self.backoff = backoff
        self.outage = OutageLog(_log)
        self.batch_sink = sink if isinstance(sink, BatchSink) else None
        # Paging sinks only need an alert's newest state; logs (jsonl) keep every version.
        self.coalesce = bool(getattr(sink, "notifies", False))
        self.inflight = 0
        self._first_superseded: set[str] = set()
        self._superseded = metrics.deliveries.labels(sink.name, "superseded")
        self._pending = metrics.outbox_pending.labels(sink.name)
        self._ok = metrics.deliveries.labels(sink.name, "ok")
        self._retry = metrics.deliveries.labels(sink.name, "retry")
        self._failed = metrics.deliveries.labels(sink.name, "failed")
        self._latency = metrics.end_to_end_latency.labels(sink.name)

    def restore(self, rows: list[tuple[int, Alert]]) -> None:
        """Queue rows left over from a previous run (before anything new)."""
        self.items.extend(rows)
        if self.items:
            self.idle.clear()
            self.has_items.set()
        self._pending.set(len(self.items))

    async def wait_room(self) -> None:
        while len(self.items) >= self.capacity:
            self.has_room.clear()
            await self.has_room.wait()

    def append(self, row_id: int | None, alert: Alert) -> None:
        if self.coalesce:
            self._supersede(alert)
        self.items.append((row_id, alert))
        self.idle.clear()
        self.has_items.set()
        self._pending.set(len(self.items))

    def _supersede(self, alert: Alert) -> None:
        # A newer version makes queued older ones moot (an ack cancels a pending page):
        # drop them, except those already handed to the sink.
        stale = [
            i
            for i in range(self.inflight, len(self.items))
            if self.items[i][1].alert_id == alert.alert_id
            and self.items[i][1].version < alert.version
        ]
        if not stale:
            return
        ids = [self.items[i][0] for i in stale]
        if any(self.items[i][1].version == 1 for i in stale):
            self._first_superseded.add(alert.alert_id)  # this version is its first publication
        for i in reversed(stale):
            del self.items[i]
        if self.store is not None:
            self.store.remove([i for i in ids if i is not None])
        self._superseded.inc(len(stale))

    def _take(self) -> list[tuple[int | None, Alert]]:
        size = self.batch_sink.max_batch if self.batch_sink is not None else 1
        return [self.items[i] for i in range(min(size, len(self.items)))]

    async def _deliver(self, batch: list[tuple[int | None, Alert]]) -> None:
        if self.batch_sink is not None:
            await self.batch_sink.deliver_many([alert for _, alert in batch])
        else:
            await self.sink.deliver(batch[0][1])

    def _done(self, batch: list[tuple[int | None, Alert]]) -> None:
        self.inflight = 0
        for _ in batch:
            self.items.popleft()
        if self.store is not None:
            self.store.remove([row_id for row_id, _ in batch if row_id is not None])
        self._pending.set(len(self.items))
        self.has_room.set()

    async def run(self) -> None:
        while True:
            while not self.items:
                self.idle.set()
                self.has_items.clear()
                await self.has_items.wait()
            if self.batch_sink is not None:
                await self.batch_sink.wait_turn()
            batch = self._take()
            self.inflight = len(batch)
            try:
                await self._deliver(batch)
            except DeliveryError as exc:
                if exc.retryable:
                    self._retry.inc(len(batch))
                    delay = self.backoff.next_delay()
                    self.inflight = 0  # nothing is with the sink while we wait
                    self.outage.failed("delivery failing; alerts kept in the outbox and retried",
                                       sink=self.sink.name, error=exc.problem,
                                       pending=len(self.items))  # fmt: skip
                    await asyncio.sleep(delay)
                    continue
                self._failed.inc(len(batch))
                _log.error("delivery failed for good", sink=self.sink.name,
                           alert_id=batch[0][1].alert_id, error=exc.problem)  # fmt: skip
            else:
                self._ok.inc(len(batch))
                self.backoff.reset()
                self.outage.recovered("delivery resumed", sink=self.sink.name,
                                      pending=len(self.items) - len(batch))  # fmt: skip
                now = time.time()
                for _, alert in batch:
                    if self.on_delivered is not None:
                        self.on_delivered(alert, self.sink.name)
                    first = alert.version == 1 or alert.alert_id in self._first_superseded
                    if first and alert.received:
                        self._first_superseded.discard(alert.alert_id)
                        self._latency.observe(max(0.0, now - alert.received))
            self._done(batch)


class Outbox:
    """Stores each alert version, then fans it out to every sink's lane.

    ``gate`` decides whether a version is *notified*: sinks that declare ``notifies = True``
    (MQTT, chat robots) skip versions the gate refuses (silenced, muted, inhibited), while
    logging sinks (console, jsonl) get everything.
    """

    def __init__(
        self,
        sinks: list[Sink],
        metrics: Metrics,
        capacity: int = 10_000,
        *,
        store: OutboxStore | None = None,
        gate: Gate | None = None,
        retry_initial: float = 0.2,
        retry_max: float = 30.0,
        on_delivered: DeliveredHook | None = None,
    ) -> None:
        self.store = store
        self.gate = gate
        self.lanes = [
            _Lane(
                sink,
                metrics,
                capacity,
                store,
                Backoff(retry_initial, retry_max),
                on_delivered=on_delivered,
            )
            for sink in sinks
        ]
        if store is not None:
            for lane in self.lanes:
                rows = store.pending(lane.sink.name)
                if rows:
                    _log.info("resuming undelivered alerts", sink=lane.sink.name, count=len(rows))
                lane.restore(list(rows))
            names = {lane.sink.name for lane in self.lanes}
            for name, count in store.sinks().items():
                if name not in names:
                    # Kept, not dropped: the sink may come back in the next config.
                    _log.warning("undelivered alerts for a sink no longer configured",
                                 sink=name, count=count)  # fmt: skip

    def _lanes_for(self, alert: Alert) -> list[_Lane]:
        if self.gate is None or self.gate(alert):
            return self.lanes
        return [lane for lane in self.lanes if not getattr(lane.sink, "notifies", False)]

    async def submit(self, alert: Alert) -> None:
        """Store one alert version and queue it for every sink (waits only when a lane is full)."""
        lanes = self._lanes_for(alert)
        for lane in lanes:
            await lane.wait_room()
        if self.store is None:
            ids: list[int | None] = [None] * len(lanes)
        else:
            ids = self.store.add([lane.sink.name for lane in lanes], alert)
        for lane, row_id in zip(lanes, ids, strict=True):
            if self.store is not None and row_id is None:
                continue  # this exact version was stored before: a resubmission
            lane.append(row_id, alert)

    async def run(self) -> None:
        """Run every lane until cancelled."""
        async with asyncio.TaskGroup() as tg:
            for lane in self.lanes:
                tg.create_task(lane.run(), name=f"outbox[{lane.sink.name}]")

    async def drained(self) -> None:
        """Wait until every lane has delivered everything queued."""
        for lane in self.lanes:
            await lane.idle.wait()

    def pending(self) -> int:
        """Versions queued and not yet delivered, over all sinks."""
        return sum(len(lane.items) for lane in self.lanes)

    def close(self) -> None:
        """Close the store (after the lanes stopped)."""
        if self.store is not None:
            self.store.close()
