"""The records store: a bounded in-memory buffer and one background writer.

    submit(record) ─► Op rows ─► deque (bounded) ─► writer task ─► one transaction per batch
       (sync, never waits)          │ full: drop newest, count             │ fails: keep the
                                                                           ▼ rows, back off

``submit`` is what the pipeline and the alert book call on their hot path; it only turns
the record into row dicts and appends them. The writer takes up to ``batch_size`` rows,
writes them in one transaction and removes them from the buffer only after the commit, so
an unreachable, locked, read-only or full database loses nothing while the buffer holds.
Each outage gets one log line when it starts (repeated at most every ``log_every``
seconds while it lasts) and one when writes resume; errors, pending rows, written and
dropped rows are metrics.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, Self

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from agent.backoff import Backoff
from agent.events import Alert, Finding, HostSpeech
from agent.logs import get_logger
from agent.metrics import Metrics
from agent.store import queries, schema
from agent.store.engine import async_url, create_engine, display_url, migrate
from agent.store.errors import StoreError, classify
from agent.store.rows import (
    OP_TABLE,
    CorrectionWatcher,
    Op,
    alert_op,
    book_op,
    delivery_op,
    finding_op,
    resolved_correction,
)

_log = get_logger("agent.store")

Record = Finding | Alert | HostSpeech


class RecordStore:
    """Async context manager: migrates at start, writes in the background, flushes at exit.

    Reusable after exit but not re-entrant. Without a reachable database at start the
    store still starts (alerts must keep flowing) and migrates once it can connect.
    """

    def __init__(
        self,
        url: str,
        metrics: Metrics,
        *,
        buffer_size: int = 100_000,
        batch_size: int = 500,
        flush_interval: float = 0.5,
        retry_initial: float = 0.5,
        retry_max: float = 30.0,
        close_timeout: float = 10.0,
        log_every: float = 60.0,
        retention_days: float | None = None,
        purge_interval: float = 0.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.url = url
        self.display_url = display_url(async_url(url))  # raises StoreError on a bad URL
        # Only PostgreSQL is shared by the instances of a cluster (SQLite is one machine's).
        self.shared = async_url(url).get_backend_name() == "postgresql"
        self.metrics = metrics
        self.buffer_size = buffer_size
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.close_timeout = close_timeout
        self.log_every = log_every
        self.retention_days = retention_days
        self.purge_interval = purge_interval
        self.clock = clock
        self.backoff = Backoff(retry_initial, retry_max)
        self.buffer: deque[Op] = deque()
        self.corrections = CorrectionWatcher()
        self.engine: AsyncEngine | None = None
        self.migrated = False
        self.failing: str | None = None
        self._last_logged = 0.0
        self._wake = asyncio.Event()  # a full batch is ready, or a flush is waiting
        self._has_items = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        # Records ever buffered and ever taken off the buffer (written, or refused): the
        # buffer is FIFO, so "everything up to a mark is out" needs no idle moment.
        self._appended = 0
        self._taken = 0
        self._advanced = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._retention: asyncio.Task[None] | None = None
        self._entered = False
        self._pending = metrics.store_pending
        self._up = metrics.store_up

    @classmethod
    def from_config(cls, config: Any, metrics: Metrics) -> RecordStore:
        """A store from ``agent.config.StoreConfig``."""
        return cls(
            config.url,
            metrics,
            buffer_size=config.buffer_size,
            batch_size=config.batch_size,
            flush_interval=config.flush_interval,
            retry_max=config.retry_max,
            close_timeout=config.close_timeout,
            retention_days=config.retention_days,
            purge_interval=config.purge_interval_hours * 3600.0,
        )

    # -- hot path -------------------------------------------------------------------------

    def submit(self, record: Record) -> None:
        """Queue a record for a batched write; never waits. A full buffer drops and counts."""
        now = self.clock()
        ops: list[Op] = []
        if isinstance(record, Finding):
            op = finding_op(record)
            if op is not None:
                ops.append(op)
                if op.kind == "misstatement":
                    self.corrections.seen(record.room, record.group_key,
                                          op.row["expected"], record.received)  # fmt: skip
        elif isinstance(record, Alert):
            ops.append(alert_op(record, now))
            correction = resolved_correction(record, now)
            if correction is not None:
                ops.append(correction)
        elif isinstance(record, HostSpeech):
            ops.extend(self.corrections(record))
        self._queue(ops)

    def delivered(self, alert: Alert, sink: str) -> None:
        """Record that ``sink`` delivered this alert version (the outbox calls this)."""
        self._queue([delivery_op(alert, sink, self.clock())])

    def mirror_entry(self, row: dict[str, Any]) -> None:
        """Queue the newest state of an alert-book entry; never waits.

        Written at once rather than with the next batch: the instance that takes the room
        over reads what is committed, and a crash loses what is still buffered.
        """
        self._queue([book_op(row)])
        self._wake.set()

    async def load_entries(
        self, rooms: Sequence[str], alert_ids: Sequence[str] = ()
    ) -> list[dict[str, Any]]:
        """Alert-book entries as mirrored by any instance: the unresolved ones of ``rooms``,
        and those of ``alert_ids`` in any state."""
        if self.engine is None:
            raise StoreError("the records store is not open")
        await self._ensure_schema()
        async with self.engine.connect() as conn:
            return await queries.book_entries(conn, rooms, alert_ids)

    def _queue(self, ops: Sequence[Op]) -> None:
        for op in ops:
            if len(self.buffer) >= self.buffer_size:
                self.metrics.records_dropped.labels(OP_TABLE[op.kind], "buffer_full").inc()
                self._log_problem("buffer_full", "records buffer full; dropping new records",
                                  capacity=self.buffer_size)  # fmt: skip
                continue
            self.buffer.append(op)
            self._appended += 1
        if ops:
            self._pending.set(len(self.buffer))
            self._idle.clear()
            self._has_items.set()
            if len(self.buffer) >= self.batch_size:
                self._wake.set()

    def pending(self) -> int:
        """Rows buffered and not yet committed."""
        return len(self.buffer)

    def mark(self) -> int:
        """A mark after everything buffered so far; see ``written``."""
        return self._appended

    async def written(self, mark: int, deadline: float | None = None) -> bool:
        """Wait up to ``deadline`` seconds until everything buffered before ``mark`` is out
        of the buffer (committed, or refused by the database); unlike ``flush`` this does
        not wait for records submitted later."""
        try:
            async with asyncio.timeout(deadline):
                while self._taken < mark:
                    self._advanced.clear()
                    self._wake.set()  # no waiting for a fuller batch
                    await self._advanced.wait()
        except TimeoutError:
            return False
        return True

    def _taken_off(self, count: int) -> None:
        self._taken += count
        self._advanced.set()

    # -- lifecycle ------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        if self._entered:
            raise StoreError("the records store is already open")
        self._entered = True
        self.engine = create_engine(self.url)
        try:
            await self._ensure_schema()
        except Exception as exc:  # any start failure is retried by the writer
            self._failed(exc)
        self._task = asyncio.create_task(self._run(), name="records.writer")
        if self.retention_days is not None and self.purge_interval > 0:
            self._retention = asyncio.create_task(self._purge_loop(), name="records.retention")
        _log.info("records store ready" if self.migrated else "records store waiting for database",
                  url=self.display_url)  # fmt: skip
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self.flush(self.close_timeout)
        finally:
            for task in (self._task, self._retention):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            self._task = self._retention = None
            left = len(self.buffer)
            if left:
                for op in self.buffer:
                    self.metrics.records_dropped.labels(OP_TABLE[op.kind], "shutdown").inc()
                _log.error("records store closed with unwritten records", unwritten=left,
                           timeout=self.close_timeout, url=self.display_url)  # fmt: skip
                self.buffer.clear()
                self._pending.set(0)
            if self.engine is not None:
                await self.engine.dispose()
                self.engine = None
            self.migrated = False
            self._entered = False

    async def flush(self, deadline: float | None = None) -> bool:
        """Wait up to ``deadline`` seconds until everything buffered is committed."""
        self._wake.set()
        try:
            async with asyncio.timeout(deadline):
                await self._idle.wait()
        except TimeoutError:
            return False
        return True

    async def purge_now(self) -> dict[str, int]:
        """Delete the records past ``retention_days``; rows deleted per table."""
        if self.engine is None or self.retention_days is None:
            return {}
        await self._ensure_schema()
        cutoff = self.clock() - self.retention_days * 86400.0
        async with self.engine.begin() as conn:
            return await queries.purge(conn, cutoff)

    async def _purge_loop(self) -> None:
        while True:
            try:
                counts = await self.purge_now()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the next round tries again
                _log.warning("retention purge failed", error=_short(exc))
            else:
                if any(counts.values()):
                    _log.info("records past retention deleted", days=self.retention_days,
                              **counts)  # fmt: skip
            await asyncio.sleep(self.purge_interval)

    # -- the writer -----------------------------------------------------------------------

    async def _ensure_schema(self) -> None:
        if not self.migrated:
            assert self.engine is not None
            await migrate(self.engine)
            self.migrated = True

    async def _run(self) -> None:
        while True:
            if not self.buffer:
                self._idle.set()
                self._has_items.clear()
                await self._has_items.wait()
                continue
            if len(self.buffer) < self.batch_size and not self._wake.is_set():
                # Let a batch gather, unless someone is waiting for a flush.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.flush_interval):
                        await self._wake.wait()
            self._wake.clear()
            batch = [self.buffer[i] for i in range(min(self.batch_size, len(self.buffer)))]
            try:
                await self._ensure_schema()
                await self._write(batch)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # classified, counted, retried
                if not classify(exc)[1]:
                    await self._write_one_by_one(batch)
                    continue
                self._failed(exc)
                await asyncio.sleep(self.backoff.next_delay())
                continue
            self._committed(batch)

    def _committed(self, batch: Sequence[Op]) -> None:
        for _ in batch:
            self.buffer.popleft()
        self._taken_off(len(batch))
        for op in batch:
            self.metrics.records_written.labels(OP_TABLE[op.kind]).inc()
        self._pending.set(len(self.buffer))
        self._up.set(1)
        self.backoff.reset()
        if self.failing is not None:
            _log.info("records store writing again", after=self.failing,
                      pending=len(self.buffer), url=self.display_url)  # fmt: skip
            self.failing = None

    def _failed(self, exc: BaseException) -> None:
        reason, _ = classify(exc)
        self.metrics.store_errors.labels(reason).inc()
        self._up.set(0)
        if self.failing != reason:
            self._last_logged = 0.0
        self.failing = reason
        self._log_problem(reason, "records store unavailable; buffering and retrying",
                          error=_short(exc), pending=len(self.buffer),
                          url=self.display_url)  # fmt: skip

    def _log_problem(self, reason: str, message: str, **fields: Any) -> None:
        now = time.monotonic()
        if self._last_logged and now - self._last_logged < self.log_every:
            return
        self._last_logged = now
        _log.error(message, reason=reason, **fields)

    async def _write_one_by_one(self, batch: Sequence[Op]) -> None:
        """A batch the database refused: write what it accepts, count the rest as dropped."""
        for op in batch:
            try:
                await self._write([op])
            except Exception as exc:  # classified below
                if classify(exc)[1]:
                    self._failed(exc)
                    return  # the database went away meanwhile: keep the rest buffered
                self.buffer.popleft()
                self._taken_off(1)
                self.metrics.records_dropped.labels(OP_TABLE[op.kind], "rejected").inc()
                self.metrics.store_errors.labels("rejected").inc()
                _log.error("record refused by the database; dropped", table=OP_TABLE[op.kind],
                           error=_short(exc))  # fmt: skip
            else:
                self._committed([op])
        self._pending.set(len(self.buffer))

    async def _write(self, batch: Sequence[Op]) -> None:
        assert self.engine is not None
        async with self.engine.begin() as conn:
            await write_ops(conn, batch)


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:300]


def _insert(conn: AsyncConnection, table: sa.Table) -> Any:
    dialect = conn.dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise StoreError(f"unsupported database dialect {dialect!r}")


_STICKY = ("acked_at", "escalated_at", "resolved_at")


async def write_ops(conn: AsyncConnection, batch: Sequence[Op]) -> None:
    """Write a batch inside the caller's transaction: inserts first, then corrections."""
    by_kind: dict[str, list[Op]] = {}
    for op in batch:
        by_kind.setdefault(op.kind, []).append(op)
    plain = {"inquiry": schema.inquiries, "misstatement": schema.misstatements,
             "compliance": schema.compliance}  # fmt: skip
    for kind, table in plain.items():
        if kind in by_kind:
            await conn.execute(table.insert(), [op.row for op in by_kind[kind]])
    if "alert" in by_kind:
        await _upsert_alerts(conn, by_kind["alert"])
    if "book" in by_kind:
        await _upsert_book_entries(conn, by_kind["book"])
    if "delivery" in by_kind:
        stmt = _insert(conn, schema.alert_deliveries).on_conflict_do_nothing()
        await conn.execute(stmt, [op.row for op in by_kind["delivery"]])
    if "correction" in by_kind:
        m = schema.misstatements
        stmt = (
            sa.update(m)
            .where(m.c.room == sa.bindparam("b_room"), m.c.group_key == sa.bindparam("b_key"),
                   m.c.corrected_at.is_(None), m.c.received_ts <= sa.bindparam("b_at"))
            .values(corrected_at=sa.bindparam("b_at"), correction_source=sa.bindparam("b_src"))
        )  # fmt: skip
        rows = [{"b_room": op.row["room"], "b_key": op.row["group_key"], "b_at": op.row["at"],
                 "b_src": op.row["source"]} for op in by_kind["correction"]]  # fmt: skip
        await conn.execute(stmt, rows)


async def _upsert_alerts(conn: AsyncConnection, ops: Sequence[Op]) -> None:
    a = schema.alerts
    stmt = _insert(conn, a)
    excluded = stmt.excluded
    updates: dict[str, Any] = {
        c.name: excluded[c.name] for c in a.columns if c.name not in ("alert_id", "created_at")
    }
    for name in _STICKY:
        updates[name] = sa.func.coalesce(a.c[name], excluded[name])
    stmt = stmt.on_conflict_do_update(
        index_elements=[a.c.alert_id], set_=updates, where=a.c.version < excluded.version
    )
    # One statement per version: two versions of one alert in a batch must apply in order.
    for op in ops:
        await conn.execute(stmt, op.row)
    events = _insert(conn, schema.alert_events).on_conflict_do_nothing()
    await conn.execute(events, [op.event for op in ops if op.event is not None])


async def _upsert_book_entries(conn: AsyncConnection, ops: Sequence[Op]) -> None:
    b = schema.book_entries
    stmt = _insert(conn, b)
    excluded = stmt.excluded
    # Instances race on one alert only around a hand-over; the newer state always wins.
    newer = sa.or_(
        b.c.version < excluded.version,
        sa.and_(b.c.version == excluded.version, b.c.revision < excluded.revision),
    )
    updates = {c.name: excluded[c.name] for c in b.columns if c.name != "alert_id"}
    stmt = stmt.on_conflict_do_update(index_elements=[b.c.alert_id], set_=updates, where=newer)
    for op in ops:  # in order: several states of one entry may share a batch
        await conn.execute(stmt, op.row)
