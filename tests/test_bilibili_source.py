"""The Bilibili source against a loopback server that speaks the protocol (no protocol mocks)."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import AsyncIterator

import brotli
import pytest

from agent.config import BackoffConfig, BilibiliSourceConfig
from agent.events import Comment, Event
from agent.ingress import QueueIngress
from agent.metrics import Metrics
from agent.prefilter import (
    PRIORITY_AFTER_SALES,
    PRIORITY_CHATTER,
    PRIORITY_PAID,
    default_prefilter,
)
from agent.sources.bilibili import BilibiliSource, ignored_kind
from agent.sources.bilibili_codec import (
    HEADER,
    OP_COMMAND,
    VER_BROTLI,
    VER_ZLIB,
    encode_packet,
)
from tests.bilibili_server import (
    POPULARITY,
    BilibiliServer,
    batch,
    command_packet,
    danmu_packet,
    super_chat_packet,
)

ROOM = "21452505"


@pytest.fixture
async def server() -> AsyncIterator[BilibiliServer]:
    """A fresh protocol server on a free loopback port."""
    async with BilibiliServer() as srv:
        yield srv


def _source(url: str, metrics: Metrics, **extra: object) -> BilibiliSource:
    options: dict[str, object] = {
        "heartbeat": 0.05,
        "idle_timeout": 2.0,
        "reconnect": BackoffConfig(initial=0.05, maximum=0.2, min_uptime=5.0),
    }
    options.update(extra)
    config = BilibiliSourceConfig(type="bilibili", room=ROOM, url=url, **options)  # type: ignore[arg-type]
    return BilibiliSource(config, metrics)


async def _collect(ingress: QueueIngress, count: int) -> list[Event]:
    got: list[Event] = []
    async with asyncio.timeout(5):
        while len(got) < count:
            got.extend(await ingress.get_batch(100))
    return got


async def _until(check: object, what: str) -> None:
    """Poll ``check()`` until it is truthy (5 s at most)."""
    assert callable(check)
    try:
        async with asyncio.timeout(5):
            while not check():  # noqa: ASYNC110 - polls metrics, which have no event
                await asyncio.sleep(0.01)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _interact_v2(uid: int, uname: str) -> bytes:
    name = uname.encode()
    pb = (b"\x08" + _varint(uid) + b"\x12" + _varint(len(name)) + name
          + b"\x28" + _varint(1) + b"\x38" + _varint(1767225600))  # fmt: skip
    return command_packet(
        {"cmd": "INTERACT_WORD_V2", "data": {"pb": base64.b64encode(pb).decode()}}
    )


def _sample(metrics: Metrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


async def test_auth_then_heartbeats(server: BilibiliServer, metrics: Metrics) -> None:
    """The first packet is the op 7 auth; op 2 heartbeats follow at the configured interval."""
    source = _source(server.url, metrics)
    task = asyncio.create_task(source.run(QueueIngress(metrics, 100)))
    try:
        await server.wait_client()
        started = time.monotonic()
        await server.wait_heartbeats(4)
        # One at once after auth, then one per 0.05 s: four need at least 0.15 s.
        assert time.monotonic() - started >= 0.1
        await _until(lambda: source.popularity == POPULARITY, "the op 3 popularity")
        assert _sample(metrics, "danmaku_connection_up", room=ROOM, source="bilibili") == 1
    finally:
        task.cancel()
    auth = server.auths[0]
    assert auth == {"uid": 0, "roomid": 21452505, "protover": 3, "platform": "web", "type": 2,
                    "buvid": "", "key": ""}  # fmt: skip
    assert server.headers[0]["Origin"] == "https://live.bilibili.com"
    assert "Cookie" not in server.headers[0]


async def test_login_from_environment(
    server: BilibiliServer, metrics: Metrics, monkeypatch: pytest.MonkeyPatch
) -> None:
    """uid, key and buvid go into the auth packet, SESSDATA and buvid into the cookie."""
    monkeypatch.setenv("BILI_UID", "123456")
    monkeypatch.setenv("BILI_KEY", "tok-abc")
    monkeypatch.setenv("BILI_BUVID", "BUVID-XYZ")
    monkeypatch.setenv("BILI_SESSDATA", "sess%2C1")
    source = _source(server.url, metrics, uid_env="BILI_UID", key_env="BILI_KEY",
                     buvid_env="BILI_BUVID", sessdata_env="BILI_SESSDATA")  # fmt: skip
    task = asyncio.create_task(source.run(QueueIngress(metrics, 100)))
    try:
        await server.wait_client()
    finally:
        task.cancel()
    auth = server.auths[0]
    assert (auth["uid"], auth["key"], auth["buvid"]) == (123456, "tok-abc", "BUVID-XYZ")
    assert server.headers[0]["Cookie"] == "SESSDATA=sess%2C1; buvid3=BUVID-XYZ"


@pytest.mark.parametrize("ver", [VER_ZLIB, VER_BROTLI], ids=["zlib", "brotli"])
async def test_compressed_batches_become_comments(
    server: BilibiliServer, metrics: Metrics, ver: int
) -> None:
    """A batch maps DANMU_MSG and super chats to comments and counts other commands by name."""
    ingress = QueueIngress(metrics, 100)
    task = asyncio.create_task(_source(server.url, metrics).run(ingress))
    try:
        await server.wait_client()
        frame = batch([
            danmu_packet("主播好", uid=1001, ts_ms=1767225600123),
            danmu_packet("我的快递怎么还没到", uid=1002, suffix=":4:0:2:2:2:0"),
            command_packet({"cmd": "SEND_GIFT", "data": {"uid": 7, "uname": "x",
                                                         "giftName": "小心心", "num": 1}}),
            _interact_v2(9, "路人"),
            command_packet({"cmd": "SEND_GIFT_V2", "data": {"pb": "AAAA"}}),
            command_packet({"cmd": "SOMETHING_NEW_FROM_BILIBILI", "data": {}}),
            super_chat_packet("能开发票吗", uid=2002),
            danmu_packet("匿名", uid=0),
        ], ver)  # fmt: skip
        await server.send(frame)
        events = await _collect(ingress, 4)
    finally:
        task.cancel()
    assert all(isinstance(e, Comment) for e in events)
    comments = [e for e in events if isinstance(e, Comment)]
    assert [(c.text, c.user, c.paid) for c in comments] == [
        ("主播好", "1001", False),
        ("我的快递怎么还没到", "1002", False),
        ("能开发票吗", "2002", True),
        ("匿名", "用户0", False),
    ]
    assert comments[0].ts == pytest.approx(1767225600.123)
    assert comments[2].ts == 1767225601
    assert {c.room for c in comments} == {ROOM}
    assert {c.source for c in comments} == {"bilibili"}
    # Sources leave ranking to the ingress; the paid flag is what ranks a super chat.
    assert [default_prefilter().priority(c) for c in comments] == [
        PRIORITY_CHATTER, PRIORITY_AFTER_SALES, PRIORITY_PAID, PRIORITY_CHATTER,
    ]  # fmt: skip
    for kind in ("SEND_GIFT", "INTERACT_WORD_V2", "SEND_GIFT_V2", "other"):
        assert _sample(metrics, "danmaku_events_ignored_total", source="bilibili", kind=kind) == 1
    assert _sample(metrics, "danmaku_messages_received_total", room=ROOM, source="bilibili") == 4
    assert (
        _sample(metrics, "danmaku_frames_rejected_total", source="bilibili", reason="bad_json") == 0
    )


async def test_malformed_frames_are_counted_and_reading_goes_on(
    server: BilibiliServer, metrics: Metrics
) -> None:
    """Lying lengths, bombs, junk bodies and text frames are counted; good data still flows."""
    ingress = QueueIngress(metrics, 100)
    source = _source(server.url, metrics)
    task = asyncio.create_task(source.run(ingress))
    try:
        await server.wait_client()
        zero_len = HEADER.pack(0, 16, 0, OP_COMMAND, 0) + b"{}"
        short_header = HEADER.pack(18, 8, 0, OP_COMMAND, 0) + b"{}"
        too_long = HEADER.pack(500, 16, 0, OP_COMMAND, 0) + b'{"cmd":"X"}'
        bomb = encode_packet(OP_COMMAND, brotli.compress(b"\0" * (8 << 20)), ver=VER_BROTLI)
        unknown_ver = encode_packet(OP_COMMAND, b"{}", ver=9)
        mixed = batch([
            danmu_packet("第一条"),
            command_packet(b'{"cmd": "DANMU_MSG", "info": [broken'),
            command_packet(b"\xff\xfe not utf-8"),
            command_packet([1, 2, 3]),
            command_packet({"cmd": "DANMU_MSG", "info": "not a list"}),
            danmu_packet("第二条"),
        ], VER_ZLIB)  # fmt: skip
        for frame in (zero_len, short_header, too_long, bomb, unknown_ver, mixed):
            await server.send(frame)
        await server.send("a text frame")
        await server.send(batch([danmu_packet("第三条")]))
        events = await _collect(ingress, 3)
        assert _sample(metrics, "danmaku_connection_up", room=ROOM, source="bilibili") == 1
    finally:
        task.cancel()
    assert [e.text for e in events] == ["第一条", "第二条", "第三条"]
    rejected = {
        reason: _sample(metrics, "danmaku_frames_rejected_total", source="bilibili", reason=reason)
        for reason in ("bad_packet_len", "bad_header_len", "length_exceeds_buffer",
                       "decompressed_too_large", "unknown_version", "bad_json", "bad_utf8",
                       "not_object", "bad_fields", "text_frame")
    }  # fmt: skip
    assert rejected == dict.fromkeys(rejected, 1.0)
    assert source.connections == 1


async def test_abrupt_close_reconnects_within_two_seconds_with_fresh_auth(
    server: BilibiliServer, metrics: Metrics
) -> None:
    """After a TCP abort the default backoff reconnects in under 2 s and authenticates again."""
    ingress = QueueIngress(metrics, 100)
    source = _source(server.url, metrics, reconnect=BackoffConfig())
    task = asyncio.create_task(source.run(ingress))
    try:
        await server.wait_client()
        await server.send(batch([danmu_packet("断线前")]))
        before = await _collect(ingress, 1)
        dropped = time.monotonic()
        await server.drop()
        await server.wait_client()
        elapsed = time.monotonic() - dropped
        await server.send(batch([danmu_packet("重连后")]))
        after = await _collect(ingress, 1)
    finally:
        task.cancel()
    assert elapsed < 2.0
    assert [e.text for e in before + after] == ["断线前", "重连后"]
    assert len(server.auths) == 2
    assert server.auths[0] == server.auths[1]
    assert _sample(metrics, "danmaku_reconnects_total", room=ROOM, source="bilibili") == 1
    assert source.connections == 2


async def test_server_restart_on_the_same_port(metrics: Metrics) -> None:
    """While the server is down the source keeps retrying; it is back soon after the server."""
    server = BilibiliServer()
    await server.start()
    ingress = QueueIngress(metrics, 100)
    task = asyncio.create_task(_source(server.url, metrics).run(ingress))
    try:
        await server.wait_client()
        await server.stop()
        await _until(
            lambda: _sample(metrics, "danmaku_reconnects_total", room=ROOM, source="bilibili") >= 3,
            "retries while the server is down",
        )
        assert _sample(metrics, "danmaku_connection_up", room=ROOM, source="bilibili") == 0
        await server.start()
        await server.wait_client()
        await server.send(batch([danmu_packet("回来了")]))
        assert [e.text for e in await _collect(ingress, 1)] == ["回来了"]
    finally:
        task.cancel()
        await server.stop()


async def test_rejected_auth_is_retried_with_backoff(metrics: Metrics) -> None:
    """A non-zero op 8 code never marks the room up; the source authenticates again later."""
    async with BilibiliServer(auth_code=-101) as server:
        task = asyncio.create_task(_source(server.url, metrics).run(QueueIngress(metrics, 10)))
        try:
            await _until(lambda: len(server.auths) >= 3, "three auth attempts")
        finally:
            task.cancel()
    assert _sample(metrics, "danmaku_connection_up", room=ROOM, source="bilibili") == 0
    assert _sample(metrics, "danmaku_reconnects_total", room=ROOM, source="bilibili") >= 2


async def test_silent_server_is_dropped_after_idle_timeout(metrics: Metrics) -> None:
    """A server that stops answering heartbeats is left after idle_timeout and reconnected."""
    async with BilibiliServer(answer_heartbeats=False) as server:
        source = _source(server.url, metrics, idle_timeout=0.3)
        task = asyncio.create_task(source.run(QueueIngress(metrics, 10)))
        try:
            await _until(lambda: len(server.auths) >= 2, "a second connection")
        finally:
            task.cancel()
    assert source.connections >= 2


async def test_cancel_closes_the_connection(server: BilibiliServer, metrics: Metrics) -> None:
    """Cancelling run() closes the websocket and marks the room down."""
    task = asyncio.create_task(_source(server.url, metrics).run(QueueIngress(metrics, 10)))
    await server.wait_client()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await _until(lambda: not server.clients, "the server to see the close")
    assert _sample(metrics, "danmaku_connection_up", room=ROOM, source="bilibili") == 0


def test_ignored_kind_is_a_closed_set() -> None:
    """Known command names label themselves; invented ones fold into other."""
    assert ignored_kind("INTERACT_WORD_V2") == "INTERACT_WORD_V2"
    assert ignored_kind("X" * 64) == "other"
