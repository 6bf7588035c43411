"""The json_ws source against a real websockets server on 127.0.0.1, restarts included."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from websockets.asyncio.server import Server, ServerConnection, serve

from agent.backoff import Backoff, backoff_delays
from agent.config import BackoffConfig, JsonWsSourceConfig
from agent.events import Comment, Event
from agent.ingress import QueueIngress
from agent.metrics import Metrics
from agent.sources.base import IDLE_SLACK, extend_deadline
from agent.sources.json_ws import JsonWsSource
from tests.conftest import free_port


def _frames(start: int, count: int) -> list[str]:
    return [
        json.dumps({"type": "comment", "room": "r1", "user": f"u{i}", "text": f"第{i}条", "ts": 1763800000 + i})
        for i in range(start, start + count)
    ]


@asynccontextmanager
async def relay(port: int, frames: list[str], *, close_after: bool) -> AsyncIterator[Server]:
    """A relay that sends ``frames`` to each client, then closes the connection or idles."""

    async def handler(ws: ServerConnection) -> None:
        for frame in frames:
            await ws.send(frame)
        if close_after:
            await ws.close()
        else:
            # Idle until the client or the server's shutdown closes the connection; a bare
            # Future would keep the handler, and so the server's shutdown, waiting forever.
            await ws.wait_closed()

    async with serve(handler, "127.0.0.1", port) as server:
        yield server


def _source(port: int, metrics: Metrics, **extra: object) -> JsonWsSource:
    config = JsonWsSourceConfig(
        type="json_ws",
        room="r1",
        url=f"ws://127.0.0.1:{port}/stream",
        reconnect=BackoffConfig(initial=0.05, maximum=0.2, min_uptime=5.0),
        **extra,  # type: ignore[arg-type]
    )
    return JsonWsSource(config, metrics)


async def _collect(ingress: QueueIngress, count: int) -> list[Event]:
    got: list[Event] = []
    async with asyncio.timeout(10):
        while len(got) < count:
            got.extend(await ingress.get_batch(100))
    return got


async def test_reads_frames_and_survives_a_server_restart(metrics: Metrics) -> None:
    """Frames before and after a relay restart all arrive, in order; the reconnect is counted."""
    port = free_port()
    ingress = QueueIngress(metrics, 1000)
    source = _source(port, metrics)
    async with relay(port, _frames(0, 20), close_after=True):
        task = asyncio.create_task(source.run(ingress))
        first = await _collect(ingress, 20)
    # The server is gone: the source retries until it comes back on the same port.
    await asyncio.sleep(0.2)
    async with relay(port, _frames(20, 15), close_after=False):
        second = await _collect(ingress, 15)
        assert metrics.registry.get_sample_value(
            "danmaku_connection_up", {"room": "r1", "source": "json_ws"}
        ) == 1.0
    task.cancel()
    texts = [e.text for e in first + second]
    assert texts[:20] == [f"第{i}条" for i in range(20)]
    assert set(texts[20:]) <= {f"第{i}条" for i in range(35)}
    assert {f"第{i}条" for i in range(20, 35)} <= set(texts)
    assert all(isinstance(e, Comment) and e.room == "r1" for e in first + second)
    reconnects = metrics.registry.get_sample_value(
        "danmaku_reconnects_total", {"room": "r1", "source": "json_ws"}
    )
    assert reconnects is not None
    assert reconnects >= 1
    assert source.connections >= 2


async def test_bad_frames_are_counted_and_reading_goes_on(metrics: Metrics) -> None:
    """Malformed frames are rejected by reason; good frames around them still arrive."""
    port = free_port()
    frames = [
        "{not json",
        json.dumps([1, 2, 3]),
        json.dumps({"type": "comment", "text": 5.5}),
        json.dumps({"type": "gift", "room": "r1"}),
        json.dumps({"type": "comment", "user": "u", "text": "还在吗"}),
    ]
    ingress = QueueIngress(metrics, 100)
    async with relay(port, frames, close_after=False):
        task = asyncio.create_task(_source(port, metrics).run(ingress))
        events = await _collect(ingress, 1)
        task.cancel()
    assert [e.text for e in events] == ["还在吗"]
    sample = metrics.registry.get_sample_value
    assert sample("danmaku_frames_rejected_total", {"source": "json_ws", "reason": "bad_json"}) == 1
    assert sample("danmaku_frames_rejected_total", {"source": "json_ws", "reason": "not_object"}) == 1
    assert sample("danmaku_frames_rejected_total", {"source": "json_ws", "reason": "bad_field"}) == 1
    assert sample("danmaku_events_ignored_total", {"source": "json_ws", "kind": "gift"}) == 1


async def test_oversized_frame_drops_the_connection_and_reconnects(metrics: Metrics) -> None:
    """A frame over max_frame_bytes is counted as too_large and the source reconnects."""
    port = free_port()
    big = json.dumps({"type": "comment", "text": "x" * 5000})
    ok = json.dumps({"type": "comment", "text": "好的"})
    ingress = QueueIngress(metrics, 100)
    async with relay(port, [big, ok], close_after=False):
        task = asyncio.create_task(_source(port, metrics, max_frame_bytes=1024).run(ingress))
        async with asyncio.timeout(5):
            while not metrics.registry.get_sample_value(  # noqa: ASYNC110 - polls a metric
                "danmaku_reconnects_total", {"room": "r1", "source": "json_ws"}
            ):
                await asyncio.sleep(0.02)
        task.cancel()
    assert metrics.registry.get_sample_value(
        "danmaku_frames_rejected_total", {"source": "json_ws", "reason": "too_large"}
    ) >= 1


async def test_dropped_connection_reconnects_within_two_seconds(metrics: Metrics) -> None:
    """With the default backoff, a relay that drops the connection is read again within 2 s."""
    port = free_port()
    ingress = QueueIngress(metrics, 100)
    config = JsonWsSourceConfig(type="json_ws", room="r1", url=f"ws://127.0.0.1:{port}/")
    assert config.reconnect == BackoffConfig()
    source = JsonWsSource(config, metrics)
    async with relay(port, _frames(0, 1), close_after=True):
        task = asyncio.create_task(source.run(ingress))
        try:
            await _collect(ingress, 1)
            dropped = time.monotonic()
            await _collect(ingress, 1)  # the same frame, sent on the next connection
            elapsed = time.monotonic() - dropped
        finally:
            task.cancel()
    assert elapsed < 2.0
    assert source.connections == 2


def test_backoff_starts_quick_with_jitter_and_caps() -> None:
    """First delay in [initial/2, initial]; the ceiling doubles up to maximum; reset restarts."""
    delays = backoff_delays(1.0, 30.0, 2.0, rng=random.Random(1))
    firsts = [next(backoff_delays(1.0, 30.0, 2.0, rng=random.Random(seed))) for seed in range(50)]
    assert all(0.5 <= d <= 1.0 for d in firsts)
    assert len(set(firsts)) == 50  # jittered: rooms dropped together do not retry together
    later = [next(delays) for _ in range(10)]
    ceilings = [min(30.0, 2.0**i) for i in range(10)]
    assert all(0.5 <= d <= c for d, c in zip(later, ceilings, strict=True))
    backoff = Backoff(1.0, 30.0, 2.0)
    for _ in range(8):
        backoff.next_delay()
    backoff.reset()
    assert backoff.attempts == 0
    assert backoff.next_delay() <= 1.0


async def test_idle_deadline_moves_once_it_is_near() -> None:
    """A frame pushes the idle deadline only when it is less than idle away, never below it."""
    clock = asyncio.get_running_loop().time
    async with asyncio.timeout(1.0) as deadline:  # noqa: ASYNC100 - only its deadline is used
        now = clock()
        extend_deadline(deadline, 1.0, now)
        assert deadline.when() == now + IDLE_SLACK
        extend_deadline(deadline, 1.0, now + 0.05)
        assert deadline.when() == now + IDLE_SLACK
        extend_deadline(deadline, 1.0, now + 0.2)
        assert deadline.when() == now + 0.2 + IDLE_SLACK


async def test_silent_relay_is_dropped_after_idle_timeout(metrics: Metrics) -> None:
    """A relay that sends nothing is left after idle_timeout (not before) and reconnected."""
    port = free_port()
    async with relay(port, [], close_after=False):
        source = _source(port, metrics, idle_timeout=0.3)
        task = asyncio.create_task(source.run(QueueIngress(metrics, 10)))
        started = time.monotonic()
        try:
            async with asyncio.timeout(5):
                while source.connections < 2:  # noqa: ASYNC110 - polls a counter
                    await asyncio.sleep(0.01)
        finally:
            task.cancel()
    assert time.monotonic() - started >= 0.3
