"""The durable outbox: stored before delivery, retried in order, resumed after a restart."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

from agent.alertbook import AlertBook
from agent.errors import DeliveryError
from agent.events import Alert
from agent.metrics import Metrics
from agent.outbox import Outbox, OutboxStore, idempotency_key
from agent.routing import BookStore, ManualClock
from tests.conftest import ROOT


def alert(n: int, version: int = 1, severity: str = "low") -> Alert:
    return Alert.from_dict({"alert_id": f"a{n}", "version": version, "room": "r1",
                            "kind": "inquiry", "category": "logistics", "severity": severity,
                            "first_seen": 1.0, "last_seen": 1.0, "source_ts": 1.0})  # fmt: skip


class MemorySink:
    """Records deliveries; fails the first ``fail`` attempts (retryable or not)."""

    def __init__(self, name: str = "mem", fail: int = 0, retryable: bool = True,
                 notifies: bool = False) -> None:  # fmt: skip
        self.name = name
        self.fail = fail
        self.retryable = retryable
        self.notifies = notifies
        self.got: list[str] = []
        self.attempts = 0
        self.gate = asyncio.Event()
        self.gate.set()
        self.called = asyncio.Event()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None

    async def deliver(self, alert: Alert) -> None:
        self.called.set()
        await self.gate.wait()
        self.attempts += 1
        if self.attempts <= self.fail:
            raise DeliveryError(self.name, "down", retryable=self.retryable)
        self.got.append(idempotency_key(alert))


class DigestSink(MemorySink):
    """A batch sink: takes everything queued at its turn."""

    max_batch = 10

    def __init__(self) -> None:
        super().__init__("digest")
        self.batches: list[list[str]] = []

    async def wait_turn(self) -> None:
        await self.gate.wait()

    async def deliver_many(self, alerts: Sequence[Alert]) -> None:
        self.batches.append([idempotency_key(a) for a in alerts])


async def run_until_drained(outbox: Outbox) -> None:
    task = asyncio.create_task(outbox.run())
    await asyncio.wait_for(outbox.drained(), 5)
    task.cancel()


async def test_retryable_failures_are_retried_in_order(metrics: Metrics) -> None:
    """Two failures then success: every version arrives once, in order, counted."""
    sink = MemorySink(fail=2)
    outbox = Outbox([sink], metrics, retry_initial=0.001, retry_max=0.002)
    for n in range(3):
        await outbox.submit(alert(n))
    await run_until_drained(outbox)
    assert sink.got == ["a0:1", "a1:1", "a2:1"]
    assert metrics.registry.get_sample_value(
        "danmaku_deliveries_total", {"sink": "mem", "result": "retry"}) == 2  # fmt: skip


async def test_permanent_failure_is_dropped_and_counted(metrics: Metrics) -> None:
    """A non-retryable error drops that version and moves on."""
    sink = MemorySink(fail=1, retryable=False)
    outbox = Outbox([sink], metrics)
    await outbox.submit(alert(0))
    await outbox.submit(alert(1))
    await run_until_drained(outbox)
    assert sink.got == ["a1:1"]
    assert metrics.registry.get_sample_value(
        "danmaku_deliveries_total", {"sink": "mem", "result": "failed"}) == 1  # fmt: skip


async def test_stored_before_delivery_and_resumed_after_restart(
    metrics: Metrics, tmp_path: Path
) -> None:
    """Undelivered rows survive a crash and are delivered by the next process; delivered rows go."""
    path = tmp_path / "outbox.db"
    stuck = MemorySink()
    stuck.gate.clear()  # the sink never answers: the process "dies" mid-delivery
    outbox = Outbox([stuck], metrics, store=OutboxStore(path))
    for n in range(3):
        await outbox.submit(alert(n))
    assert OutboxStore(path).count() == 3
    outbox.close()
    sink = MemorySink()
    again = Outbox([sink], Metrics(), store=OutboxStore(path))
    await again.submit(alert(3))
    await again.submit(alert(3))  # a resubmitted version is stored once
    await run_until_drained(again)
    assert sink.got == ["a0:1", "a1:1", "a2:1", "a3:1"]
    assert again.store is not None
    assert again.store.count() == 0
    again.close()


async def test_gate_skips_notifying_sinks_only(metrics: Metrics) -> None:
    """A refused version still reaches log sinks, not notifying ones."""
    log, page = MemorySink("log"), MemorySink("page", notifies=True)
    outbox = Outbox([log, page], metrics, gate=lambda a: a.severity != "low")
    await outbox.submit(alert(0))
    await outbox.submit(alert(1, severity="high"))
    await run_until_drained(outbox)
    assert log.got == ["a0:1", "a1:1"]
    assert page.got == ["a1:1"]


async def test_batch_sink_takes_everything_queued(metrics: Metrics) -> None:
    """A rate-limited sink gets what queued while it waited as one batch."""
    sink = DigestSink()
    sink.gate.clear()
    outbox = Outbox([sink], metrics)
    task = asyncio.create_task(outbox.run())
    for n in range(4):
        await outbox.submit(alert(n))
    sink.gate.set()
    await asyncio.wait_for(outbox.drained(), 5)
    task.cancel()
    assert sink.batches == [["a0:1", "a1:1", "a2:1", "a3:1"]]


async def test_sigkilled_agent_resumes_alerts_timers_and_deliveries(tmp_path: Path) -> None:
    """A process killed with SIGKILL leaves its open alerts, deadlines and undelivered versions."""
    db = tmp_path / "alerts.db"
    script = f"""
import asyncio
from agent.alertbook import AlertBook
from agent.events import Alert
from agent.metrics import Metrics
from agent.outbox import Outbox, OutboxStore
from agent.routing import BookStore, ManualClock

class Stuck:
    name = "mqtt"
    async def deliver(self, alert):
        await asyncio.Event().wait()

async def main():
    book = AlertBook(metrics=Metrics(), clock=ManualClock(1000.0), store=BookStore({str(db)!r}))
    outbox = Outbox([Stuck()], Metrics(), store=OutboxStore({str(db)!r}))
    book.publish = outbox.submit
    asyncio.create_task(outbox.run())
    for n in range(3):
        alert = book(Alert.from_dict({{"alert_id": f"a{{n}}", "room": "r1", "kind": "inquiry",
            "category": "quality", "severity": "critical", "first_seen": 1.0,
            "last_seen": 1.0, "source_ts": 1.0}}))
        await outbox.submit(alert)
    await book.ack("a0", "li")
    print("ready", flush=True)
    await asyncio.sleep(60)

asyncio.run(main())
"""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, stdout=asyncio.subprocess.PIPE, env=env
    )
    assert proc.stdout is not None
    while (await proc.stdout.readline()).strip() != b"ready":
        assert proc.returncode is None
    proc.kill()
    await proc.wait()
    store = BookStore(db)
    book = AlertBook(metrics=Metrics(), clock=ManualClock(1000.0), store=store)
    assert {a.alert_id: a.state for a in book.list()} == {"a0": "acked", "a1": "open", "a2": "open"}
    assert book.next_deadline("a1") == 1060.0
    assert book.next_deadline("a0") == 1000.0 + 900.0
    sink = MemorySink("mqtt")
    outbox = Outbox([sink], Metrics(), store=OutboxStore(db))
    await run_until_drained(outbox)
    assert sink.got == ["a0:1", "a1:1", "a2:1", "a0:2"]
    store.close()
    outbox.close()


async def test_newer_version_supersedes_queued_pages(metrics: Metrics, tmp_path: Path) -> None:
    """For a paging sink, queued older versions of an alert are dropped for the newest."""
    page, log = MemorySink("page", notifies=True), MemorySink("log")
    page.gate.clear()
    store = OutboxStore(tmp_path / "o.db")
    outbox = Outbox([page, log], metrics, store=store)
    task = asyncio.create_task(outbox.run())
    await outbox.submit(alert(0))
    await asyncio.wait_for(page.called.wait(), 5)  # a0:1 is with the sink
    for version in (1, 2, 3):
        await outbox.submit(alert(1, version))
    await outbox.submit(alert(0, 2))
    page.gate.set()
    await asyncio.wait_for(outbox.drained(), 5)
    task.cancel()
    assert page.got == ["a0:1", "a1:3", "a0:2"]
    assert log.got == ["a0:1", "a1:1", "a1:2", "a1:3", "a0:2"]
    assert store.count() == 0
    assert metrics.registry.get_sample_value(
        "danmaku_deliveries_total", {"sink": "page", "result": "superseded"}) == 2  # fmt: skip
    outbox.close()


async def test_confirmed_deliveries_are_reported_once_per_sink(metrics: Metrics) -> None:
    """The delivered hook hears each confirmed version per sink, never a failed attempt."""
    heard: list[tuple[str, str]] = []
    flaky, steady = MemorySink("flaky", fail=1), MemorySink("steady")
    outbox = Outbox([flaky, steady], metrics, retry_initial=0.001, retry_max=0.002,
                    on_delivered=lambda a, sink: heard.append((idempotency_key(a), sink)))  # fmt: skip
    await outbox.submit(alert(0))
    await outbox.submit(alert(0, version=2))
    await run_until_drained(outbox)
    assert sorted(heard) == [("a0:1", "flaky"), ("a0:1", "steady"),
                             ("a0:2", "flaky"), ("a0:2", "steady")]  # fmt: skip
