"""The control desk in a real headless Chromium: alerts, 确认 over MQTT, banner, hostile text."""

from __future__ import annotations

import asyncio
import shutil
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

import aiomqtt
import orjson
import pytest

from agent.alerting import Alerting, build_alerting, running
from agent.config import parse_config
from agent.events import Finding
from agent.metrics import Metrics
from agent.web import create_app, serve

CHROMIUM = "/usr/bin/chromium"
TOKEN = "browser-test-token"
HOSTILE = [
    '<img src=x onerror="window.__pwned=1">什么时候发货',
    "<script>window.__pwned=1</script>发货了吗",
    '<a href="javascript:window.__pwned=1">点我</a>还没发货',
]

pytestmark = pytest.mark.skipif(
    shutil.which(CHROMIUM) is None, reason="Debian chromium not installed (/usr/bin/chromium)"
)


@dataclass
class Running:
    url: str
    alerting: Alerting
    prefix: str


def finding(kind: str, category: str, text: str, **extra: object) -> Finding:
    now = time.time()
    return Finding(room="直播间A", kind=kind, category=category,  # type: ignore[arg-type]
                   severity=extra.pop("severity", "medium"), text=text, ts=now,  # type: ignore[arg-type]
                   received=now, **extra)  # type: ignore[arg-type]  # fmt: skip


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[Running]:
    """Aggregator, alert book, durable outbox and a real MQTT sink behind the desk app."""
    prefix = f"test-desk-{uuid.uuid4().hex[:8]}"
    config = parse_config({
        "sources": [{"type": "replay", "path": "x.jsonl"}],
        "sinks": [{"type": "mqtt", "url": "mqtt://127.0.0.1:1883", "prefix": prefix,
                   "commands": False}],
        "outbox": {"path": str(tmp_path / "outbox.db")},
    })  # fmt: skip
    metrics = Metrics()
    async with AsyncExitStack() as stack:
        alerting = await build_alerting(config, metrics, stack)
        stack.callback(alerting.close)
        await stack.enter_async_context(running(alerting))
        outbox = asyncio.create_task(alerting.outbox.run())
        app = create_app(book=alerting.book, metrics=metrics, lineup=None, catalog=None,
                         token=TOKEN)  # fmt: skip
        runner, port = await serve(app, "127.0.0.1:0")
        stack.push_async_callback(runner.cleanup)
        try:
            yield Running(f"http://127.0.0.1:{port}", alerting, prefix)
        finally:
            outbox.cancel()


async def feed(alerting: Alerting, item: Finding) -> None:
    """What the pipeline does with a finding: aggregate, route, hand to the outbox."""
    for alert in alerting.aggregator(item, time.time()):
        await alerting.outbox.submit(alerting.book(alert))


async def test_desk_shows_alerts_acks_over_mqtt_and_keeps_hostile_text_inert(
    desk: Running, tmp_path: Path
) -> None:
    """Alerts and the misstatement banner render, 确认 publishes acked on MQTT, no script runs."""
    from playwright.async_api import async_playwright  # noqa: PLC0415

    async with aiomqtt.Client("127.0.0.1", 1883) as mqtt, async_playwright() as pw:
        await mqtt.subscribe(f"{desk.prefix}/v1/alerts/#", qos=1)
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = await browser.new_page(viewport={"width": 1600, "height": 1000})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await page.goto(f"{desk.url}/?token={TOKEN}")
        # One category each, so every hostile line opens (and shows) its own alert.
        for text, category in zip(HOSTILE, ("logistics", "return_refund", "quality"), strict=True):
            await feed(desk.alerting, finding("inquiry", category, text,
                                              suggested_reply="亲，48小时内发货哦"))  # fmt: skip
        await feed(desk.alerting, finding(
            "misstatement", "price", "今天只要99元", severity="high",
            correction="更正：到手价为129元，不是99元", group_key="price"))  # fmt: skip
        await page.locator("#banner:not([hidden])").wait_for(timeout=10_000)
        assert "到手价为129元" in await page.locator(".banner-correction").text_content()  # type: ignore[operator]
        card = page.locator("#feed .alert.kind-inquiry").first
        await card.wait_for(timeout=10_000)
        for text in HOSTILE:
            await page.get_by_text(text, exact=True).wait_for(timeout=10_000)
        assert await page.locator("#feed img, #feed script, #feed a").count() == 0
        assert await page.evaluate("window.__pwned === undefined")
        await card.click()
        await page.locator("#btn-ack").click()
        await page.locator("#feed .alert.kind-inquiry.state-acked").wait_for(timeout=10_000)
        # The keyboard path: select another alert and press A (确认).
        await page.locator("#feed .alert.kind-inquiry.state-open").first.click()
        await page.keyboard.press("a")
        await page.locator("#feed .alert.kind-inquiry.state-acked").nth(1).wait_for(timeout=10_000)
        await page.screenshot(path=str(tmp_path / "desk.png"), full_page=True)
        await page.goto(f"{desk.url}/?view=wall")
        await page.locator(".tile").first.wait_for(timeout=10_000)
        await page.screenshot(path=str(tmp_path / "wall.png"))
        await browser.close()
        assert errors == []

        async def acked() -> dict[str, object]:
            async for message in mqtt.messages:
                body = orjson.loads(bytes(message.payload))
                if body["state"] == "acked":
                    return body  # type: ignore[no-any-return]
            raise AssertionError("mqtt stream ended")

        alert = await asyncio.wait_for(acked(), 10)
    assert alert["acked_by"] == "中控"
    assert alert["kind"] == "inquiry"
    assert (tmp_path / "desk.png").stat().st_size > 10_000
