"""The alert side inside the real pipeline: replayed comments → book → durable outbox → MQTT."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

import aiomqtt
import orjson
import pytest

from agent.alerting import build_alerting, running
from agent.config import parse_config
from agent.detect import Detector
from agent.ingress import QueueIngress
from agent.metrics import Metrics
from agent.normalise import Redactor
from agent.pipeline import Pipeline
from agent.sources import build_source

pytestmark = pytest.mark.broker


@dataclass(frozen=True)
class Intent:
    label: str
    score: float
    after_sales: bool


class KeywordModel:
    """A tiny stand-in for the intent model: 漏 → quality, 发货 → logistics."""

    def predict(self, texts: Sequence[str]) -> list[Intent]:
        out = []
        for text in texts:
            label = "quality" if "漏" in text else "logistics" if "发货" in text else "other"
            out.append(Intent(label, 0.9, label != "other"))
        return out


async def test_replayed_comments_reach_mqtt_routed_and_acked(tmp_path: Path) -> None:
    """Comments become routed alerts on the team topic; an ack over the book follows them."""
    prefix = f"p{uuid.uuid4().hex[:8]}"
    stream = tmp_path / "stream.jsonl"
    texts = ["收到漏液了", "哈哈", "什么时候发货", "又漏了"]
    lines = [{"type": "comment", "room": "r1", "user": f"u{i}", "text": text, "ts": 1.0 + i}
             for i, text in enumerate(texts)]  # fmt: skip
    stream.write_bytes(b"\n".join(orjson.dumps(line) for line in lines))
    config = parse_config({
        "sources": [{"type": "replay", "path": str(stream), "speed": 0}],
        "sinks": [{"type": "mqtt", "prefix": prefix, "commands": False}],
        "outbox": {"path": str(tmp_path / "alerts.db")},
        "aggregate": {"update_interval": 0},
        "routing": {"rules": [{"match": {"category": "quality"}, "team": "qa"}],
                    "teams": {"qa": {"lead": "boss", "shifts": [{"staff": ["li"]}]},
                              "aftersales": {"fallback": ["zhang"]}}},
    })  # fmt: skip
    metrics = Metrics()
    async with aiomqtt.Client("127.0.0.1", 1883, protocol=aiomqtt.ProtocolVersion.V5) as sub:
        await sub.subscribe(f"{prefix}/v1/alerts/+", qos=1)
        async with AsyncExitStack() as stack:
            alerting = await build_alerting(config, metrics, stack)
            stack.callback(alerting.close)
            pipeline = Pipeline(
                sources=[build_source(cfg, metrics) for cfg in config.sources],
                ingress=QueueIngress(metrics, 1000), redact=Redactor(str, str),
                detector=Detector(KeywordModel()), aggregator=alerting.aggregator,
                outbox=alerting.outbox, metrics=metrics, route=alerting.book,
            )  # fmt: skip
            async with running(alerting):
                await asyncio.wait_for(pipeline.run(asyncio.Event()), 10)
                qa = alerting.book.list(states={"open"})
                quality = next(a for a in qa if a.category == "quality")
                await alerting.book.ack(quality.alert_id, "li")
                runner = asyncio.create_task(alerting.outbox.run())
                await asyncio.wait_for(alerting.outbox.drained(), 5)
                runner.cancel()
        got = []
        async with asyncio.timeout(5):
            async for message in sub.messages:
                got.append((str(message.topic).rsplit("/", 1)[1], orjson.loads(message.payload)))
                if got[-1][1]["state"] == "acked":
                    break
        for topic in (
            f"{prefix}/v1/rooms/r1/status",
            f"{prefix}/v1/agents/{config.instance}/presence",
        ):
            await sub.publish(topic, b"", qos=1, retain=True)  # leave the shared broker clean
    # Queued older versions may be superseded by newer ones; the newest of each arrives.
    latest = {a["category"]: (team, a["version"], a["state"], a["assignee"]) for team, a in got}
    assert latest == {"quality": ("qa", 3, "acked", "li"),
                      "logistics": ("aftersales", 1, "open", "zhang")}  # fmt: skip
    assert metrics.registry.get_sample_value(
        "danmaku_alerts_open", {"room": "r1", "team": "qa"}) == 1  # fmt: skip
