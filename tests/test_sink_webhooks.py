"""企业微信 / 钉钉 / 飞书 robot sinks against local emulators of their webhook APIs."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st

from agent.config import DingtalkSinkConfig, FeishuSinkConfig, StaffConfig, WecomSinkConfig
from agent.errors import DeliveryError
from agent.events import Alert
from agent.metrics import Metrics
from agent.outbox import Outbox
from agent.sinks.dingtalk import DingtalkSink
from agent.sinks.feishu import FeishuSink
from agent.sinks.webhook import (
    RateLimiter,
    dingtalk_sign,
    escape_markdown,
    escape_text,
    feishu_sign,
    fit,
)
from agent.sinks.wecom import WecomSink

DING_SECRET = "SECd0c3a1f2e9b84b7c9a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3"
FEISHU_SECRET = "demo-feishu-secret"
STAFF = {"li": StaffConfig(name="李雷", mobile="13800000001", feishu_user_id="ou_li")}


def alert(n: int, version: int = 1, **kw: object) -> Alert:
    base: dict[str, object] = {"alert_id": f"a{n}", "version": version, "room": "r1",
                               "kind": "inquiry", "category": "quality", "severity": "high",
                               "first_seen": 1.0, "last_seen": 1.0, "source_ts": 1.0,
                               "title": "质量问题咨询", "team": "qa",
                               "examples": [f"第{n}条 漏液了 v{version}"]}  # fmt: skip
    base.update(kw)
    return Alert.from_dict(base)


# -- pure parts ---------------------------------------------------------------------------


def test_signing_test_vectors() -> None:
    """The 钉钉 and 飞书 signatures reproduce the published test vectors."""
    assert (
        dingtalk_sign(DING_SECRET, 1700000000002) == "6bv+Y/9TPlM2d2L3EgjfQvEU4UPSsHVqfqnew7noApg="
    )
    assert feishu_sign(FEISHU_SECRET, 1700000000) == "V3Wp8znUoP+7XezI+6p/Lp2Uyk2BLceZJJbP1KE87hk="


@pytest.mark.parametrize("escape", [escape_markdown, escape_text])
def test_danmaku_cannot_inject_mentions_links_or_blocks(escape: Any) -> None:
    """@all, links, headings and <at> tags in danmaku come out inert."""
    nasty = "@all @所有人 [点我](http://evil.example) <at id=all></at>\n# 标题 www.x.cn"
    out = escape(nasty)
    assert "@all" not in out
    assert "@所有人" not in out
    assert "http://" not in out
    assert "www." not in out
    assert "\n" not in out
    if escape is escape_markdown:
        assert "<at" not in out
        assert "](" not in out


def test_fit_truncates_with_count_of_the_rest() -> None:
    """Blocks past the byte limit are replaced by "…另有 N 条"; the limit holds."""
    blocks = [f"告警{i} " + "漏液" * 100 for i in range(30)]
    out = fit(blocks, 4096)
    assert len(out.encode()) <= 4096
    kept = out.count("告警")
    assert out.endswith(f"…另有 {30 - kept} 条")
    assert fit(["短"], 4096) == "短"
    huge = fit(["长" * 5000, "b"], 2048)
    assert len(huge.encode()) <= 2048
    assert huge.endswith("…另有 1 条")


def test_rate_limiter_per_minute_per_second_and_blocks() -> None:
    """20/min and 5/s windows; a platform block holds every send."""
    limiter = RateLimiter(per_minute=20, per_second=5)
    for i in range(5):
        assert limiter.delay(100.0) == 0
        limiter.record(100.0 + i * 0.01)
    assert 0 < limiter.delay(100.05) <= 1.0
    for i in range(15):
        limiter.record(102.0 + i)
    assert limiter.delay(120.0) == pytest.approx(40.0)
    limiter.block(200.0, 600.0)
    assert limiter.delay(200.0) == 600.0


# -- emulators ----------------------------------------------------------------------------


@dataclass
class Robots:
    """What the emulated platforms received, and their knobs."""

    url: str = ""
    received: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    per_minute: int = 20
    sent: dict[str, list[float]] = field(default_factory=dict)

    def limited(self, platform: str) -> bool:
        now = time.monotonic()
        window = [t for t in self.sent.get(platform, []) if now - t < 60]
        self.sent[platform] = [*window, now]
        return len(window) >= self.per_minute


def _wecom(robots: Robots) -> Any:
    async def handler(request: web.Request) -> web.Response:
        if request.query.get("key") != "good-key":
            return web.json_response({"errcode": 93000, "errmsg": "invalid webhook url"})
        if robots.limited("wecom"):
            return web.json_response({"errcode": 45009, "errmsg": "api freq out of limit"})
        body = await request.json()
        kind = body["msgtype"]
        limit = 2048 if kind == "text" else 4096
        if len(body[kind]["content"].encode()) > limit:
            return web.json_response({"errcode": 40058, "errmsg": "content exceed max length"})
        robots.received.setdefault("wecom", []).append(body)
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    return handler


def _dingtalk(robots: Robots) -> Any:
    async def handler(request: web.Request) -> web.Response:
        if request.query.get("access_token") != "tok":
            return web.json_response({"errcode": 300001, "errmsg": "token is not exist"})
        ts = request.query.get("timestamp", "0")
        key = DING_SECRET.encode()
        want = base64.b64encode(
            hmac.new(key, f"{ts}\n{DING_SECRET}".encode(), hashlib.sha256).digest()
        ).decode()
        if request.query.get("sign") != want or abs(time.time() * 1000 - int(ts)) > 3600_000:
            return web.json_response({"errcode": 310000, "errmsg": "sign not match"})
        if robots.limited("dingtalk"):
            return web.json_response({"errcode": 130101, "errmsg": "send too fast"})
        robots.received.setdefault("dingtalk", []).append(await request.json())
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    return handler


def _feishu(robots: Robots) -> Any:
    async def handler(request: web.Request) -> web.Response:
        body = await request.json()
        ts = body.get("timestamp", "0")
        key = f"{ts}\n{FEISHU_SECRET}".encode()
        want = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
        if body.get("sign") != want:
            return web.json_response({"code": 19021, "msg": "sign match fail", "data": {}})
        if robots.limited("feishu"):
            return web.json_response({"code": 11232, "msg": "frequency limited", "data": {}})
        robots.received.setdefault("feishu", []).append(body)
        return web.json_response({"code": 0, "msg": "success", "data": {}})

    return handler


@pytest.fixture
async def robots() -> AsyncIterator[Robots]:
    """Emulated robot webhooks on a free loopback port."""
    state = Robots()
    app = web.Application()
    app.router.add_post("/cgi-bin/webhook/send", _wecom(state))
    app.router.add_post("/robot/send", _dingtalk(state))
    app.router.add_post("/open-apis/bot/v2/hook/abc", _feishu(state))
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    state.url = f"http://{host}:{port}"
    yield state
    await runner.cleanup()


def ack_link(alert_id: str, staff: str) -> str:
    return f"http://desk.local/ack?a={alert_id}&s={staff}"


# -- 企业微信 -------------------------------------------------------------------------------


async def test_wecom_text_with_mobile_mention_and_markdown_otherwise(robots: Robots) -> None:
    """An assigned open alert @-s the on-duty mobile; others go as markdown."""
    config = WecomSinkConfig(type="wecom", url=f"{robots.url}/cgi-bin/webhook/send?key=good-key")
    async with WecomSink(config, staff=STAFF, ack_link=ack_link) as sink:
        await sink.deliver_many([alert(1, assignee="li"), alert(2, examples=["@all 快来"])])
        await sink.deliver_many([alert(3, state="acked", assignee="li")])
    first, second = robots.received["wecom"]
    assert first["msgtype"] == "text"
    assert first["text"]["mentioned_mobile_list"] == ["13800000001"]
    assert "确认处理: http://desk.local/ack?a=a1&s=li" in first["text"]["content"]
    assert "@all" not in first["text"]["content"]
    assert second["msgtype"] == "markdown"


async def test_wecom_rate_limit_blocks_and_retries(robots: Robots) -> None:
    """45009 is retryable and rests the robot; a wrong key is permanent."""
    robots.per_minute = 1
    config = WecomSinkConfig(type="wecom", url=f"{robots.url}/cgi-bin/webhook/send?key=good-key")
    async with WecomSink(config) as sink:
        await sink.deliver_many([alert(1)])
        with pytest.raises(DeliveryError) as info:
            await sink.deliver_many([alert(2)])
        assert info.value.retryable
        assert sink.limiter.delay(sink.clock()) > 50
    bad = WecomSinkConfig(type="wecom", url=f"{robots.url}/cgi-bin/webhook/send?key=nope")
    async with WecomSink(bad) as sink:
        with pytest.raises(DeliveryError) as info:
            await sink.deliver_many([alert(1)])
        assert not info.value.retryable


async def test_wecom_size_limit_truncates_with_more(robots: Robots) -> None:
    """Fifty long alerts fit the 4096-byte markdown limit with "…另有 N 条"."""
    config = WecomSinkConfig(type="wecom", url=f"{robots.url}/cgi-bin/webhook/send?key=good-key",
                             max_batch=50)  # fmt: skip
    long = ["很长的弹幕" * 30]
    async with WecomSink(config) as sink:
        await sink.deliver_many([alert(i, examples=long) for i in range(50)])
    content = robots.received["wecom"][0]["markdown"]["content"]
    assert len(content.encode()) <= 4096
    assert "…另有" in content


# -- 钉钉 -----------------------------------------------------------------------------------


async def test_dingtalk_signed_markdown_with_at_mobiles(
    robots: Robots, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The emulator checks the signature; mobiles are in at.atMobiles and in the text."""
    monkeypatch.setenv("DING_SECRET", DING_SECRET)
    config = DingtalkSinkConfig(type="dingtalk", url=f"{robots.url}/robot/send?access_token=tok",
                                secret_env="DING_SECRET")  # fmt: skip
    async with DingtalkSink(config, staff=STAFF, ack_link=ack_link) as sink:
        await sink.deliver_many([alert(1, assignee="li")])
    [body] = robots.received["dingtalk"]
    assert body["at"] == {"atMobiles": ["13800000001"], "isAtAll": False}
    assert body["markdown"]["text"].endswith("@13800000001")
    assert "[确认处理](http://desk.local/ack?a=a1&s=li)" in body["markdown"]["text"]


async def test_dingtalk_bad_signature_is_permanent_and_rate_limit_blocks_ten_minutes(
    robots: Robots, monkeypatch: pytest.MonkeyPatch
) -> None:
    """310000 is not retried and rests the robot; 130101 blocks it for 10 minutes."""
    monkeypatch.setenv("DING_SECRET", "SECwrong")
    config = DingtalkSinkConfig(type="dingtalk", url=f"{robots.url}/robot/send?access_token=tok",
                                secret_env="DING_SECRET")  # fmt: skip
    async with DingtalkSink(config) as sink:
        with pytest.raises(DeliveryError) as info:
            await sink.deliver_many([alert(1)])
        assert not info.value.retryable
        assert sink.limiter.delay(sink.clock()) > 250
    monkeypatch.setenv("DING_SECRET", DING_SECRET)
    robots.per_minute = 0
    async with DingtalkSink(config) as sink:
        with pytest.raises(DeliveryError) as info:
            await sink.deliver_many([alert(1)])
        assert info.value.retryable
        assert sink.limiter.delay(sink.clock()) > 590


# -- 飞书 -----------------------------------------------------------------------------------


async def test_feishu_signed_card_with_at_open_id(
    robots: Robots, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A signed interactive card; the on-duty person is @-ed by open_id."""
    monkeypatch.setenv("FS_SECRET", FEISHU_SECRET)
    config = FeishuSinkConfig(type="feishu", url=f"{robots.url}/open-apis/bot/v2/hook/abc",
                              secret_env="FS_SECRET")  # fmt: skip
    async with FeishuSink(config, staff=STAFF) as sink:
        await sink.deliver_many([alert(1, assignee="li", severity="critical")])
    [body] = robots.received["feishu"]
    assert body["msg_type"] == "interactive"
    assert body["card"]["header"]["template"] == "red"
    assert "<at id=ou_li></at>" in body["card"]["elements"][0]["text"]["content"]


async def test_feishu_rate_limit_and_bad_signature(
    robots: Robots, monkeypatch: pytest.MonkeyPatch
) -> None:
    """11232 is retryable; 19021 (signature) is permanent."""
    monkeypatch.setenv("FS_SECRET", FEISHU_SECRET)
    config = FeishuSinkConfig(type="feishu", url=f"{robots.url}/open-apis/bot/v2/hook/abc",
                              secret_env="FS_SECRET")  # fmt: skip
    robots.per_minute = 0
    async with FeishuSink(config) as sink:
        with pytest.raises(DeliveryError) as info:
            await sink.deliver_many([alert(1)])
        assert info.value.retryable
    monkeypatch.setenv("FS_SECRET", "wrong")
    async with FeishuSink(config) as sink:
        with pytest.raises(DeliveryError) as info:
            await sink.deliver_many([alert(1)])
        assert not info.value.retryable


# -- through the outbox -------------------------------------------------------------------


async def test_queued_updates_merge_into_one_digest(robots: Robots) -> None:
    """Versions queued while the robot waits for its turn go out as one digest, newest only."""
    config = WecomSinkConfig(type="wecom", url=f"{robots.url}/cgi-bin/webhook/send?key=good-key")
    async with WecomSink(config) as sink:
        sink.limiter.block(sink.clock(), 0.2)
        outbox = Outbox([sink], Metrics())
        runner = asyncio.create_task(outbox.run())
        for version in (1, 2, 3):
            await outbox.submit(alert(1, version=version))
        await outbox.submit(alert(2))
        await asyncio.wait_for(outbox.drained(), 5)
        runner.cancel()
    [digest] = robots.received["wecom"]
    content = digest["markdown"]["content"]
    assert "售后告警汇总·2条" in content
    assert "第1条 漏液了 v3" in content
    assert "第1条 漏液了 v1" not in content
    assert orjson.dumps(digest)


@given(st.text(max_size=300))
def test_escaped_danmaku_is_always_inert(text: str) -> None:
    """Whatever a viewer types: one line, no live mention, link, tag or markdown link."""
    for out in (escape_markdown(text), escape_text(text)):
        assert "\n" not in out
        assert "\r" not in out
        assert "@all" not in out
        assert "://" not in out
        assert "www." not in out.replace("\\", "")
    md = escape_markdown(text)
    assert "<" not in md
    assert "](" not in md


@given(st.lists(st.text(max_size=400), max_size=40), st.integers(min_value=64, max_value=5000))
def test_fit_never_exceeds_the_byte_limit(blocks: list[str], limit: int) -> None:
    """Any blocks, any limit: the result fits and no block is silently lost uncounted."""
    out = fit(blocks, limit)
    assert len(out.encode()) <= limit
    if blocks and "…另有" not in out:
        assert out == "\n\n".join(blocks) or (len(blocks) == 1 and out.endswith("…"))
