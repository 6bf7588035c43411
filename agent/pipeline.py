"""The stages wired with bounded queues inside one TaskGroup, and a staged, drained shutdown.

    sources ─► ingress ─► normalise+detect ─► findings ─► aggregate ─► outbox ─► sinks
                                   └──── records (on the side) ◄──────┘

Shutdown (stop event, or every source finite and done): stop the sources, let detection
drain the ingress, let aggregation flush pending updates, let the outbox deliver all, each
within ``shutdown_timeout``; past it, cancel and say so.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import Callable
from typing import Protocol

from agent.aggregate import Aggregator
from agent.detect import Detector
from agent.events import Alert, Event, Finding, HostSpeech
from agent.ingress import QueueIngress
from agent.logs import get_logger
from agent.metrics import Metrics
from agent.outbox import Outbox
from agent.sources.base import Source

_log = get_logger("agent.pipeline")


class Records(Protocol):
    """The records store as the pipeline sees it: a non-blocking submit."""

    def submit(self, record: Finding | Alert | HostSpeech) -> None:
        """Queue a record for a batched write; never waits on disk."""


AlertHook = Callable[[Alert], Alert]


def _source_ts(event: Event) -> float:
    return event.ts


class Pipeline:
    """Runs sources and stages until stopped or until every finite source is done."""

    def __init__(
        self,
        *,
        sources: list[Source],
        ingress: QueueIngress,
        redact: Callable[[Event], Event],
        detector: Detector,
        aggregator: Aggregator,
        outbox: Outbox,
        metrics: Metrics,
        batch_size: int = 256,
        queue_size: int = 10_000,
        shutdown_timeout: float = 10.0,
        tick_seconds: float = 0.1,
        records: Records | None = None,
        route: AlertHook | None = None,
        exit_when_sources_end: bool = True,
    ) -> None:
        self.ingress = ingress
        self.exit_when_sources_end = exit_when_sources_end
        self.redact = redact
        self.detector = detector
        self.aggregator = aggregator
        self.outbox = outbox
        self.metrics = metrics
        self.batch_size = batch_size
        self.shutdown_timeout = shutdown_timeout
        # Short ticks: each tick hands the outbox every alert that went quiet since the last
        # one, and a first publication queued behind a second's worth of them waits for all.
        self.tick_seconds = tick_seconds
        self.records = records
        self.route = route
        self.findings: asyncio.Queue[Finding | None] = asyncio.Queue(queue_size)
        metrics.track_queue("findings", self.findings.qsize, queue_size)
        self._pending_sources = list(sources)
        self._source_tasks: dict[str, asyncio.Task[None]] = {}
        self._sources: dict[str, Source] = {}
        self._stopping = False
        self._tg: asyncio.TaskGroup | None = None
        self._sources_changed = asyncio.Event()
        self._detect_latency = metrics.pipeline_latency.labels("detect")
        self._aggregate_latency = metrics.pipeline_latency.labels("aggregate")

    # -- sources ------------------------------------------------------------------------

    @property
    def source_names(self) -> list[str]:
        """Names of the sources currently running."""
        return list(self._source_tasks)

    def add_source(self, source: Source) -> None:
        """Start a source in the running pipeline (reload)."""
        if self._tg is None:
            self._pending_sources.append(source)
            return
        task = self._tg.create_task(self._run_source(source), name=f"source[{source.name}]")
        self._source_tasks[source.name] = task
        self._sources[source.name] = source
        task.add_done_callback(lambda done: self._source_done(source.name, done))

    def running_source(self, name: str) -> Source | None:
        """The source running under ``name``, if any."""
        return self._sources.get(name) if name in self._source_tasks else None

    def replace_source(self, source: Source) -> None:
        """Restart a running source with new settings; the new one starts once the old ended.

        Waiting matters for sources that hold a resource under their name (a push endpoint's
        listening port).
        """
        old = self._source_tasks.get(source.name)
        if old is None:
            self.add_source(source)
            return
        old.add_done_callback(lambda _: None if self._stopping else self.add_source(source))
        old.cancel()

    def remove_source(self, name: str) -> None:
        """Stop one source without disturbing the others (reload)."""
        task = self._source_tasks.get(name)
        if task is not None:
            task.cancel()

    def _source_done(self, name: str, task: asyncio.Task[None]) -> None:
        # A source removed and re-added under the same name must not be forgotten when
        # the old task finishes after the new one started.
        if self._source_tasks.get(name) is task:
            del self._source_tasks[name]
            self._sources.pop(name, None)
        self._sources_changed.set()

    async def _run_source(self, source: Source) -> None:
        # A live source that crashes on a bug is restarted; it must never take others down.
        while True:
            try:
                await source.run(self.ingress)
            except asyncio.CancelledError:
                raise
            except Exception:
                _log.exception("source crashed", source=source.name)
                if source.finite:
                    return
                await asyncio.sleep(5.0)
                continue
            if source.finite:
                return

    # -- stages -------------------------------------------------------------------------

    async def _detect_loop(self) -> None:
        metrics = self.metrics
        while batch := await self.ingress.get_batch(self.batch_size):
            started = time.perf_counter()
            events = [self.redact(e) for e in batch]
            findings = self.detector(events)
            if self.records is not None:
                # The host's words are kept so a later on-air correction (更正…) closes the
                # misstatement it corrects, with its time to correction.
                for event in events:
                    if isinstance(event, HostSpeech):
                        self.records.submit(event)
            now = time.time()
            self._detect_latency.observe(time.perf_counter() - started)
            # The oldest event of the batch: under overload that is the lag that matters.
            oldest = min(events, key=_source_ts)
            metrics.source_lag.labels(oldest.source).observe(max(0.0, now - oldest.ts))
            for finding in findings:
                metrics.findings.labels(
                    metrics.room(finding.room), finding.kind, finding.category
                ).inc()
                metrics.finding_lag.labels(finding.kind).observe(max(0.0, now - finding.ts))
                if self.records is not None:
                    self.records.submit(finding)
                await self.findings.put(finding)
        await self.findings.put(None)

    async def _publish(self, alerts: list[Alert]) -> None:
        metrics = self.metrics
        for alert in alerts:
            if self.route is not None:
                alert = self.route(alert)
            if alert.version == 1:
                metrics.alerts.labels(metrics.room(alert.room), alert.kind, alert.severity).inc()
                metrics.alert_transitions.labels("open").inc()
            elif alert.state == "resolved":
                metrics.alert_transitions.labels("resolved").inc()
            if self.records is not None:
                self.records.submit(alert)
            await self.outbox.submit(alert)
            # A tick can close a hundred alerts at once, each stored and routed: let the
            # sources read and detection run between them, or every room waits for the lot.
            await asyncio.sleep(0)

    async def _aggregate_loop(self) -> None:
        last_tick = time.monotonic()
        while True:
            finding: Finding | bool | None = False
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.tick_seconds):
                    finding = await self.findings.get()
            started = time.perf_counter()
            now = time.time()
            if finding is None:
                await self._publish(self.aggregator.flush(now))
                return
            alerts = self.aggregator(finding, now) if isinstance(finding, Finding) else []
            if time.monotonic() - last_tick >= self.tick_seconds:
                last_tick = time.monotonic()
                alerts.extend(self.aggregator.tick(now))
            if isinstance(finding, Finding):
                self._aggregate_latency.observe(time.perf_counter() - started)
            await self._publish(alerts)

    # -- lifecycle ----------------------------------------------------------------------

    async def _wait_for_end(self, stop: asyncio.Event) -> str:
        """Wait until stopped, or until every source has ended (all were finite) unless the
        pipeline was asked to keep running after that."""
        told = False
        while True:
            if stop.is_set():
                return "stopped"
            if not self._source_tasks:
                if self.exit_when_sources_end:
                    return "sources finished"
                if not told:
                    told = True
                    _log.info("every source finished; running until stopped (Ctrl-C)")
            self._sources_changed.clear()
            stop_wait = asyncio.ensure_future(stop.wait())
            change_wait = asyncio.ensure_future(self._sources_changed.wait())
            try:
                await asyncio.wait({stop_wait, change_wait}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                stop_wait.cancel()
                change_wait.cancel()

    async def run(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set or every source is done; then drain and return."""
        # What exists before the run (model, catalog, imports, config) lives as long as the
        # process. Frozen, it is left out of full collections, which otherwise stop the loop
        # for tens of milliseconds while rooms keep sending.
        gc.collect()
        gc.freeze()
        try:
            await self._run(stop)
        finally:
            gc.unfreeze()

    async def _run(self, stop: asyncio.Event) -> None:
        async with asyncio.TaskGroup() as tg:
            self._tg = tg
            outbox_task = tg.create_task(self.outbox.run(), name="outbox")
            detect_task = tg.create_task(self._detect_loop(), name="detect")
            aggregate_task = tg.create_task(self._aggregate_loop(), name="aggregate")
            for source in self._pending_sources:
                self.add_source(source)
            self._pending_sources.clear()
            why = await self._wait_for_end(stop)
            self._stopping = True
            _log.info("shutting down", reason=why, queued=len(self.ingress))
            for task in list(self._source_tasks.values()):
                task.cancel()
            await asyncio.gather(*self._source_tasks.values(), return_exceptions=True)
            self.ingress.close()
            try:
                async with asyncio.timeout(self.shutdown_timeout):
                    await detect_task
                    await aggregate_task
                    await self.outbox.drained()
            except TimeoutError:
                left = len(self.ingress) + self.findings.qsize()
                # Versions still in the outbox are stored; the next start delivers them.
                _log.error(
                    "shutdown deadline passed; cancelling",
                    unprocessed=left,
                    kept_in_outbox=self.outbox.pending(),
                    timeout=self.shutdown_timeout,
                )
                for task in (detect_task, aggregate_task):
                    task.cancel()
            outbox_task.cancel()
        self._tg = None
        _log.info("pipeline stopped")
