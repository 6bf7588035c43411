"""The MQTT sink on real Mosquitto: topics, QoS 1, expiry, retained status, presence, outages."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import aiomqtt
import orjson
import pytest

from agent.config import MqttSinkConfig
from agent.events import Alert
from agent.metrics import Metrics
from agent.outbox import Outbox, OutboxStore
from agent.sinks.mqtt import MqttSink, RoomStatus, topic_part
from tests.conftest import ROOT, free_port

pytestmark = pytest.mark.broker


def alert(n: int, **kw: object) -> Alert:
    base: dict[str, object] = {"alert_id": f"a{n}", "room": "r/1", "kind": "inquiry",
                               "category": "quality", "severity": "high", "first_seen": 1.0,
                               "last_seen": 1.0, "source_ts": 1.0, "team": "qa",
                               "assignee": "li"}  # fmt: skip
    base.update(kw)
    return Alert.from_dict(base)


@pytest.fixture
def prefix() -> str:
    """A topic prefix no other test uses."""
    return f"t{uuid.uuid4().hex[:10]}"


async def collect(
    client: aiomqtt.Client, out: list[aiomqtt.Message], count: int, within: float = 10
) -> None:
    async with asyncio.timeout(within):
        async for message in client.messages:
            out.append(message)
            if len(out) >= count:
                return


def test_topic_parts_cannot_inject_levels_or_wildcards() -> None:
    """Room and staff ids never add topic levels or wildcards."""
    assert topic_part("a/b+#") == "a_b__"
    assert topic_part("  ") == "_"


def test_room_status_counts_open_alerts() -> None:
    """Resolved alerts leave the room status; unacked ones are counted."""
    status = RoomStatus()
    status.update(alert(1))
    doc = status.update(alert(2, state="acked", severity="low"))
    assert (doc["open"], doc["unacked"], doc["by_severity"]["high"]) == (2, 1, 1)
    assert status.update(alert(1, state="resolved"))["open"] == 1
    restarted = RoomStatus()
    restarted.seed([alert(5), alert(6, state="resolved")])
    assert restarted.status("r/1")["open"] == 1


async def test_publishes_team_staff_status_and_presence(prefix: str) -> None:
    """QoS 1 to team and staff topics with expiry and idempotency key; retained status."""
    config = MqttSinkConfig(type="mqtt", prefix=prefix, message_expiry=600)
    async with aiomqtt.Client("127.0.0.1", 1883, protocol=aiomqtt.ProtocolVersion.V5) as sub:
        await sub.subscribe(f"{prefix}/v1/alerts/+", qos=1)
        await sub.subscribe(f"{prefix}/v1/staff/+/alerts", qos=1)
        async with MqttSink(config, instance="agent-1") as sink:
            await sink.deliver(alert(1))
            got: list[aiomqtt.Message] = []
            await collect(sub, got, 2)
    assert sorted(str(m.topic) for m in got) == [f"{prefix}/v1/alerts/qa",
                                                 f"{prefix}/v1/staff/li/alerts"]  # fmt: skip
    message = got[0]
    assert message.qos == 1
    assert orjson.loads(message.payload)["alert_id"] == "a1"
    assert message.properties is not None
    assert 590 <= message.properties.MessageExpiryInterval <= 600
    assert ("idempotency-key", "a1:1") in message.properties.UserProperty
    async with aiomqtt.Client("127.0.0.1", 1883, protocol=aiomqtt.ProtocolVersion.V5) as late:
        await late.subscribe(f"{prefix}/v1/rooms/+/status")
        await late.subscribe(f"{prefix}/v1/agents/+/presence")
        retained: list[aiomqtt.Message] = []
        await collect(late, retained, 2)
        for message in retained:  # leave the shared broker clean
            await late.publish(str(message.topic), b"", qos=1, retain=True)
    docs = {str(m.topic): orjson.loads(m.payload) for m in retained}
    assert docs[f"{prefix}/v1/rooms/r_1/status"]["open"] == 1
    # A clean exit says offline itself (the Will is only for crashes).
    assert docs[f"{prefix}/v1/agents/agent-1/presence"]["state"] == "offline"


# -- a broker of our own, to kill ----------------------------------------------------------


class Broker:
    """A Mosquitto on a free port, startable and killable."""

    def __init__(self, tmp: Path) -> None:
        self.port = free_port()
        self.conf = tmp / "mosquitto.conf"
        self.conf.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\n")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        quiet = subprocess.DEVNULL
        self.proc = subprocess.Popen(
            ["mosquitto", "-c", str(self.conf)], stdout=quiet, stderr=quiet
        )

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(5)
            self.proc = None


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    """A private broker, stopped at the end."""
    b = Broker(tmp_path)
    b.start()
    yield b
    b.stop()


async def connect_retrying(port: int) -> aiomqtt.Client:
    for _ in range(200):
        client = aiomqtt.Client("127.0.0.1", port, protocol=aiomqtt.ProtocolVersion.V5)
        try:
            await client.__aenter__()
        except aiomqtt.MqttError:
            await asyncio.sleep(0.02)
            continue
        return client
    raise AssertionError("broker did not come up")


class GatedSink:
    """The real MQTT sink behind a gate the test opens and closes."""

    def __init__(self, inner: MqttSink) -> None:
        self.inner = inner
        self.name = inner.name
        self.open = asyncio.Event()
        self.open.set()

    async def deliver(self, alert: Alert) -> None:
        await self.open.wait()
        await self.inner.deliver(alert)


async def test_no_alert_lost_when_the_broker_is_killed_mid_broadcast(
    broker: Broker, tmp_path: Path
) -> None:
    """Alerts sent while the broker is down are stored, retried, then delivered after restart."""
    config = MqttSinkConfig(type="mqtt", url=f"mqtt://127.0.0.1:{broker.port}", prefix="k",
                            timeout=1.0)  # fmt: skip
    sub = await connect_retrying(broker.port)
    await sub.subscribe("k/v1/alerts/+", qos=1)
    got: list[aiomqtt.Message] = []
    metrics = Metrics()
    async with MqttSink(config, instance="a") as sink:
        gated = GatedSink(sink)
        outbox = Outbox([gated], metrics, store=OutboxStore(tmp_path / "o.db"),  # type: ignore[list-item]
                        retry_initial=0.05, retry_max=0.2)  # fmt: skip
        runner = asyncio.create_task(outbox.run())
        for n in range(10):
            await outbox.submit(alert(n))
        await collect(sub, got, 10)
        await sub.__aexit__(None, None, None)
        broker.stop()
        for n in range(10, 20):
            await outbox.submit(alert(n))
        while not metrics.registry.get_sample_value(  # noqa: ASYNC110 - polling a counter
            "danmaku_deliveries_total", {"sink": "mqtt", "result": "retry"}
        ):
            await asyncio.sleep(0.05)
        gated.open.clear()  # hold deliveries until our subscriber is back
        broker.start()
        sub = await connect_retrying(broker.port)
        await sub.subscribe("k/v1/alerts/+", qos=1)
        gated.open.set()
        await asyncio.wait_for(outbox.drained(), 20)
        await collect(sub, got, 20)
        await sub.__aexit__(None, None, None)
        runner.cancel()
    keys = {m.properties.UserProperty[0][1] for m in got}
    assert keys == {f"a{n}:1" for n in range(20)}


async def test_last_will_marks_a_killed_agent_offline(broker: Broker) -> None:
    """A SIGKILLed agent's retained presence turns offline after the Will delay."""
    script = (
        "import asyncio, sys\n"
        "from agent.config import MqttSinkConfig\nfrom agent.sinks.mqtt import MqttSink\n"
        "async def main():\n"
        f"    c = MqttSinkConfig(type='mqtt', url='mqtt://127.0.0.1:{broker.port}', prefix='w',"
        " will_delay=1)\n"
        "    async with MqttSink(c, instance='doomed'):\n"
        "        print('up', flush=True)\n        await asyncio.sleep(60)\n"
        "asyncio.run(main())\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, stdout=subprocess.PIPE, env=env
    )
    assert proc.stdout is not None
    while (await proc.stdout.readline()).strip() != b"up":
        assert proc.returncode is None
    sub = await connect_retrying(broker.port)
    await sub.subscribe("w/v1/agents/+/presence", qos=1)
    states: list[aiomqtt.Message] = []
    await collect(sub, states, 1)
    proc.kill()
    await proc.wait()
    await collect(sub, states, 2)
    await sub.__aexit__(None, None, None)
    payloads = [orjson.loads(m.payload) for m in states]
    assert [p["state"] for p in payloads] == ["online", "offline"]
