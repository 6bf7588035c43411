"""The push endpoint with real websocket relays on loopback: auth, limits, floods, rooms."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from agent.config import PushSourceConfig
from agent.events import Event
from agent.ingress import QueueIngress
from agent.metrics import Metrics
from agent.prefilter import PRIORITY_AFTER_SALES, default_prefilter
from agent.sources.push import PushSource, TokenBucket
from tests.conftest import free_port

TOKEN = "s3cret-push-token"


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_PUSH_TOKEN", TOKEN)


@asynccontextmanager
async def running(
    metrics: Metrics, ingress: QueueIngress, **extra: object
) -> AsyncIterator[PushSource]:
    """A push source serving on a free port until the block ends (then cancelled)."""
    options: dict[str, object] = {"rooms": ["r1", "r2"]}
    options.update(extra)
    config = PushSourceConfig(type="push", listen=f"127.0.0.1:{free_port()}",
                              token_env="TEST_PUSH_TOKEN", **options)  # type: ignore[arg-type]  # fmt: skip
    source = PushSource(config, metrics)
    task = asyncio.create_task(source.run(ingress))
    try:
        async with asyncio.timeout(5):
            await source.ready.wait()
        yield source
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


def _url(source: PushSource) -> str:
    return f"ws://127.0.0.1:{source.port}/push"


def _auth(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _event(text: str, room: str = "r1", **extra: object) -> str:
    obj = {"type": "comment", "room": room, "user": "u1", "text": text, "ts": 1763800000.5}
    return json.dumps({**obj, **extra})


async def _collect(ingress: QueueIngress, count: int) -> list[Event]:
    got: list[Event] = []
    async with asyncio.timeout(5):
        while len(got) < count:
            got.extend(await ingress.get_batch(100))
    return got


def _rejected(metrics: Metrics, reason: str) -> float:
    return (
        metrics.registry.get_sample_value(
            "danmaku_frames_rejected_total", {"source": "push", "reason": reason}
        )
        or 0.0
    )


async def _wait_rejected(metrics: Metrics, reason: str, count: float) -> None:
    async with asyncio.timeout(5):
        while _rejected(metrics, reason) < count:  # noqa: ASYNC110 - polls a metric
            await asyncio.sleep(0.01)


async def test_good_token_delivers_events(metrics: Metrics) -> None:
    """A relay with the right bearer token pushes events of its rooms into the ingress."""
    ingress = QueueIngress(metrics, 100)
    async with (
        running(metrics, ingress) as source,
        connect(_url(source), additional_headers=_auth()) as ws,
    ):
        await ws.send(_event("什么时候发货"))
        await ws.send(_event("主播好", room="r2"))
        await ws.send(json.dumps({"type": "speech", "room": "r1", "text": "这款包邮", "sku": "A1"}))
        events = await _collect(ingress, 3)
        assert (
            metrics.registry.get_sample_value(
                "danmaku_push_connections", {"listen": source.config.listen}
            )
            == 1
        )
    assert [(e.room, e.text) for e in events] == [("r1", "什么时候发货"), ("r2", "主播好"),
                                                  ("r1", "这款包邮")]  # fmt: skip
    assert events[0].source == "push"
    assert events[0].ts == 1763800000.5
    assert default_prefilter().priority(events[0]) == PRIORITY_AFTER_SALES


@pytest.mark.parametrize("headers", [{}, _auth("wrong"), {"Authorization": TOKEN}],
                         ids=["missing", "wrong", "no-scheme"])  # fmt: skip
async def test_bad_token_gets_401(metrics: Metrics, headers: dict[str, str]) -> None:
    """Missing, wrong or scheme-less tokens are refused with HTTP 401 and counted."""
    async with running(metrics, QueueIngress(metrics, 10)) as source:
        with pytest.raises(InvalidStatus) as info:
            async with connect(_url(source), additional_headers=headers):
                pass
        assert info.value.response.status_code == 401
        assert (
            metrics.registry.get_sample_value(
                "danmaku_push_handshakes_rejected_total",
                {"listen": source.config.listen, "reason": "unauthorized"},
            )
            == 1
        )


async def test_oversize_frame_closes_with_1009(metrics: Metrics) -> None:
    """A frame over max_frame_bytes closes that relay with 1009 and counts too_large."""
    ingress = QueueIngress(metrics, 10)
    async with running(metrics, ingress, max_frame_bytes=1024) as source:
        async with connect(_url(source), additional_headers=_auth()) as ws:
            await ws.send(_event("x" * 2000))
            with pytest.raises(ConnectionClosed) as info:
                await asyncio.wait_for(ws.recv(), 5)
            assert info.value.rcvd is not None
            assert info.value.rcvd.code == 1009
        await _wait_rejected(metrics, "too_large", 1)
        # Another relay is unaffected.
        async with connect(_url(source), additional_headers=_auth()) as ws:
            await ws.send(_event("还在"))
            assert [e.text for e in await _collect(ingress, 1)] == ["还在"]


async def test_flood_is_rate_limited_and_counted(metrics: Metrics) -> None:
    """Past the burst a flooding relay loses frames (counted); a polite relay has its own bucket."""
    ingress = QueueIngress(metrics, 10_000)
    async with (
        running(metrics, ingress, per_second=10, burst=20) as source,
        connect(_url(source), additional_headers=_auth()) as flood,
    ):
        for i in range(500):
            await flood.send(_event(f"刷屏{i}"))
        async with asyncio.timeout(5):
            # Every flood frame is either queued or counted as rate limited.
            while _rejected(metrics, "rate_limited") + len(ingress) < 500:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        async with connect(_url(source), additional_headers=_auth()) as polite:
            await polite.send(_event("正常一条", room="r2"))
            events = await _collect(ingress, len(ingress) + 1)
    texts = [e.text for e in events]
    assert "正常一条" in texts
    flooded = [t for t in texts if t.startswith("刷屏")]
    # The burst plus what refilled during the flood (10/s for well under a second).
    assert 20 <= len(flooded) <= 35
    assert flooded[:20] == [f"刷屏{i}" for i in range(20)]
    assert _rejected(metrics, "rate_limited") == 500 - len(flooded)


async def test_rooms_are_restricted(metrics: Metrics) -> None:
    """Events of unconfigured rooms are rejected as room_not_allowed; configured ones pass."""
    ingress = QueueIngress(metrics, 10)
    async with (
        running(metrics, ingress) as source,
        connect(_url(source), additional_headers=_auth()) as ws,
    ):
        await ws.send(_event("外人", room="r9"))
        await ws.send(_event("自己人"))
        events = await _collect(ingress, 1)
    assert [e.text for e in events] == ["自己人"]
    assert _rejected(metrics, "room_not_allowed") == 1


async def test_allow_all_rooms(metrics: Metrics) -> None:
    """With allow_all_rooms any room passes (and is folded by the room label cap)."""
    ingress = QueueIngress(metrics, 10)
    async with (
        running(metrics, ingress, rooms=[], allow_all_rooms=True) as source,
        connect(_url(source), additional_headers=_auth()) as ws,
    ):
        await ws.send(_event("任意房间", room="r9"))
        events = await _collect(ingress, 1)
    assert [e.room for e in events] == ["r9"]


async def test_malformed_frames_are_counted(metrics: Metrics) -> None:
    """Bad JSON, binary frames and bad fields are rejected by reason; the relay stays connected."""
    ingress = QueueIngress(metrics, 10)
    async with (
        running(metrics, ingress) as source,
        connect(_url(source), additional_headers=_auth()) as ws,
    ):
        await ws.send("{nope")
        await ws.send(b"\x00\x01")
        await ws.send(json.dumps({"type": "comment", "room": "r1"}))
        await ws.send("[" * 2000 + "]" * 2000)
        await ws.send(json.dumps({"type": "gift", "room": "r1"}))
        await ws.send(_event("最后一条"))
        events = await _collect(ingress, 1)
    assert [e.text for e in events] == ["最后一条"]
    for reason in ("bad_json", "binary_frame", "missing_field", "too_deep"):
        assert _rejected(metrics, reason) == 1, reason


async def test_connection_cap(metrics: Metrics) -> None:
    """Past max_connections a relay is refused with 503; a slot frees when one leaves."""
    async with running(metrics, QueueIngress(metrics, 10), max_connections=2) as source:
        url = _url(source)
        async with (
            connect(url, additional_headers=_auth()),
            connect(url, additional_headers=_auth()),
        ):
            with pytest.raises(InvalidStatus) as info:
                async with connect(url, additional_headers=_auth()):
                    pass
            assert info.value.response.status_code == 503
        async with asyncio.timeout(5):
            while source.active:  # noqa: ASYNC110 - waits for the server side to notice
                await asyncio.sleep(0.01)
        async with connect(url, additional_headers=_auth()) as ws:
            await ws.ping()


async def test_cancel_closes_server_and_relays(metrics: Metrics) -> None:
    """Cancelling run() closes connected relays and frees the port."""
    async with running(metrics, QueueIngress(metrics, 10)) as source:
        port = source.port
        ws = await connect(_url(source), additional_headers=_auth())
    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(ws.recv(), 5)
    assert port is not None
    with pytest.raises(OSError):
        await connect(f"ws://127.0.0.1:{port}/push", additional_headers=_auth(), open_timeout=1)
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", port)
    server.close()
    await server.wait_closed()


async def test_missing_token_variable_is_a_config_error(
    metrics: Metrics, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unset token variable stops the source with a ConfigError naming it."""
    monkeypatch.delenv("TEST_PUSH_TOKEN")
    config = PushSourceConfig(type="push", listen="127.0.0.1:0", token_env="TEST_PUSH_TOKEN")
    with pytest.raises(Exception, match="TEST_PUSH_TOKEN"):
        await PushSource(config, metrics).run(QueueIngress(metrics, 10))


def test_token_bucket() -> None:
    """A bucket allows its burst at once, then refills at its rate."""
    bucket = TokenBucket(rate=2.0, burst=3, now=0.0)
    assert [bucket.allow(0.0) for _ in range(4)] == [True, True, True, False]
    assert bucket.allow(0.5)
    assert not bucket.allow(0.5)
    assert [bucket.allow(100.0) for _ in range(4)] == [True, True, True, False]
