"""End-to-end benchmark: comments from loopback relays through to MQTT delivery.

    relays process (20 websocket relays, N comments/s in total)
        └─► agent (this process: json_ws sources → redact → detect → aggregate → alert book
                   → durable outbox → MQTT sink, QoS 1)
                └─► Mosquitto 127.0.0.1:1883 ─► subscriber process (records arrival times)

First-publication latency = arrival of an alert's version 1 at the subscriber minus the
receipt of its triggering comment by the agent (``alert.received``; one host, one clock).
Throughput = comments accepted per second, and how many were shed under overload.

    .venv/bin/python benchmarks/e2e.py --rate 2000 --rooms 20 --seconds 20

Uses the bundled intent model when ``classifiers.intent`` is present, else a keyword model
(printed in the result), so the alert path can be measured before the model is trained.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import multiprocessing as mp
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

# Run from a checkout: make ``agent`` and ``classifiers`` importable (also in spawned workers).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# The agent's modules come after the path fix above.
import aiomqtt
from websockets.asyncio.server import serve

from agent.aggregate import Aggregator
from agent.alertbook import AlertBook
from agent.config import JsonWsSourceConfig, MqttSinkConfig
from agent.detect import Detector
from agent.ingress import QueueIngress
from agent.logs import configure_logging
from agent.metrics import Metrics
from agent.normalise import Redactor
from agent.outbox import Outbox, OutboxStore
from agent.pipeline import Pipeline
from agent.routing import BookStore
from agent.sinks.mqtt import MqttSink
from agent.sources.json_ws import JsonWsSource

# Viewer lines: after-sales questions of several categories among chatter.
AFTER_SALES = {
    "logistics": ["什么时候发货啊", "快递到哪了", "几天能到", "发什么快递"],
    "return_refund": ["能退货吗", "怎么申请退款", "七天无理由吗", "不合适可以换吗"],
    "quality": ["收到漏液了", "瓶子破了怎么办", "用了过敏了", "少发了一个"],
    "price_promo": ["赠品没收到", "优惠券用不了", "保价吗", "降价能补差价吗"],
    "warranty": ["保修多久", "坏了能修吗"],
    "complaint": ["骗子 我要投诉", "虚假宣传 打12315"],
}
CHATTER = ["哈哈哈", "主播好美", "来了来了", "666", "这个颜色好看", "多少钱", "有链接吗", "好看"]


@dataclass(frozen=True, slots=True)
class KeywordResult:
    label: str
    score: float
    after_sales: bool


class KeywordIntent:
    """A stand-in intent model: first keyword hit wins (only when the real one is absent)."""

    version = "keyword-benchmark"

    def __init__(self) -> None:
        self.table = [(text, label) for label, texts in AFTER_SALES.items() for text in texts]

    def predict(self, texts: Sequence[str]) -> list[KeywordResult]:
        out = []
        for text in texts:
            label = next((lab for key, lab in self.table if key in text), "other")
            out.append(KeywordResult(label, 0.9, label != "other"))
        return out


# -- relays (own process) -----------------------------------------------------------------


def relays_main(rooms: int, rate: float, seconds: float, share: float, ports: Any, go: Any) -> None:
    asyncio.run(_relays(rooms, rate, seconds, share, ports, go))


async def _relays(
    rooms: int, rate: float, seconds: float, share: float, ports: Any, go: Any
) -> None:
    per_room = rate / rooms
    rng = random.Random(7)
    questions = [(lab, t) for lab, texts in AFTER_SALES.items() for t in texts]
    connected = asyncio.Event()
    clients: set[Any] = set()

    async def handler(ws: Any) -> None:
        clients.add(ws)
        if len(clients) == rooms:
            connected.set()
        await ws.wait_closed()

    servers = []
    for _ in range(rooms):
        server = await serve(handler, "127.0.0.1", 0, compression=None)
        servers.append(server)
        ports.put(server.sockets[0].getsockname()[1])
    await connected.wait()
    await asyncio.to_thread(go.wait)
    # Every room sends in 10 ms ticks; the tick carries the room's share of the rate.
    start = time.monotonic()
    sent = 0
    tick = 0.01
    carry = [0.0] * rooms
    conns = list(clients)
    while (elapsed := time.monotonic() - start) < seconds:
        for i, ws in enumerate(conns):
            carry[i] += per_room * tick
            while carry[i] >= 1:
                carry[i] -= 1
                text = rng.choice(questions)[1] if rng.random() < share else rng.choice(CHATTER)
                frame = {
                    "type": "comment",
                    "room": f"room{i}",
                    "user": f"u{rng.randrange(5000)}",
                    "text": text,
                    "ts": time.time(),
                }
                await ws.send(orjson.dumps(frame).decode())
                sent += 1
        await asyncio.sleep(max(0.0, start + (int(elapsed / tick) + 1) * tick - time.monotonic()))
    ports.put(("sent", sent))
    await asyncio.sleep(1.0)
    for server in servers:
        server.close()


# -- subscriber (own process) -------------------------------------------------------------


def subscriber_main(prefix: str, out: str, ready: Any, stop: Any) -> None:
    asyncio.run(_subscribe(prefix, out, ready, stop))


async def _subscribe(prefix: str, out: str, ready: Any, stop: Any) -> None:
    rows = []
    async with aiomqtt.Client("127.0.0.1", 1883, protocol=aiomqtt.ProtocolVersion.V5) as client:
        await client.subscribe(f"{prefix}/v1/alerts/+", qos=1)
        ready.set()
        stopper = asyncio.create_task(asyncio.to_thread(stop.wait))
        messages = aiomqtt_iter(client)
        while not stopper.done():
            done, _ = await asyncio.wait({stopper, messages}, return_when=asyncio.FIRST_COMPLETED)
            if messages in done:
                message = messages.result()
                arrived = time.time()
                alert = orjson.loads(message.payload)
                rows.append((arrived, alert["alert_id"], alert["version"], alert["received"]))
                messages = aiomqtt_iter(client)
        messages.cancel()
    await asyncio.to_thread(Path(out).write_bytes, orjson.dumps(rows))


def aiomqtt_iter(client: Any) -> asyncio.Task[Any]:
    return asyncio.ensure_future(anext(aiter(client.messages)))


# -- the agent (this process) -------------------------------------------------------------


def build_intent() -> Any:
    if importlib.util.find_spec("classifiers.intent") is not None:
        from classifiers.intent import IntentClassifier  # noqa: PLC0415 - optional module

        try:
            return IntentClassifier.load(None)
        except ValueError as exc:  # ModelLoadError: no trained model bundled yet
            print(f"intent model unavailable ({exc}); using the keyword stand-in")
    return KeywordIntent()


def build_redactor() -> Any:
    if importlib.util.find_spec("agent.privacy") is not None:
        from agent.privacy import UserHasher, mask_pii  # noqa: PLC0415 - optional module

        return Redactor(mask_pii, UserHasher(b"benchmark-hash-key-0123456789abcdef"))
    return Redactor(lambda text: text, lambda user: user)


async def run_agent(
    ports: list[int], prefix: str, store: Path, go: Any, seconds: float
) -> dict[str, Any]:
    configure_logging("error")
    metrics = Metrics()
    intent = build_intent()
    sources = [
        JsonWsSource(
            JsonWsSourceConfig(type="json_ws", room=f"room{i}", url=f"ws://127.0.0.1:{p}"), metrics
        )
        for i, p in enumerate(ports)
    ]
    # A short quiet period closes alerts quickly, so the run produces many first publications.
    aggregator = Aggregator(quiet_seconds=0.5, update_interval=2.0)
    book_store = BookStore(store)
    book = AlertBook(
        metrics=metrics, store=book_store, inhibited=aggregator.inhibited, on_close=aggregator.close
    )
    stop = asyncio.Event()
    async with MqttSink(
        MqttSinkConfig(type="mqtt", prefix=prefix), instance=f"bench-{prefix}"
    ) as sink:
        outbox = Outbox([sink], metrics, store=OutboxStore(store), gate=book.should_notify)
        book.publish = outbox.submit
        pipeline = Pipeline(
            sources=sources,
            ingress=QueueIngress(metrics, 10_000),
            redact=build_redactor(),
            detector=Detector(intent),
            aggregator=aggregator,
            outbox=outbox,
            metrics=metrics,
            route=book,
            tick_seconds=0.1,
        )
        runner = asyncio.create_task(pipeline.run(stop))
        while not all(s.connections for s in sources):  # noqa: ASYNC110 - a startup poll
            await asyncio.sleep(0.05)
        go.set()
        started = time.monotonic()
        cpu0 = time.process_time()
        await asyncio.sleep(seconds + 1.5)
        cpu = time.process_time() - cpu0
        wall = time.monotonic() - started
        stop.set()
        await runner
    # Leave the broker as found: clear the retained room status and presence of this run.
    async with aiomqtt.Client("127.0.0.1", 1883) as client:
        retained = [f"{prefix}/v1/rooms/room{i}/status" for i in range(len(ports))]
        for topic in [*retained, f"{prefix}/v1/agents/bench-{prefix}/presence"]:
            await client.publish(topic, b"", qos=1, retain=True)
    book_store.close()
    received = sum(s.value for m in metrics.messages_received.collect() for s in m.samples)
    dropped = sum(s.value for m in metrics.messages_dropped.collect() for s in m.samples)
    return {
        "received": received,
        "dropped": dropped,
        "cpu_seconds": cpu,
        "wall_seconds": wall,
        "model": getattr(intent, "version", "?"),
        "pending": outbox.pending(),
        # Retried deliveries stall a lane for a backoff delay: they explain outliers.
        "retries": sum(
            s.value
            for m in metrics.deliveries.collect()
            for s in m.samples
            if s.labels.get("result") == "retry" and s.name.endswith("_total")
        ),
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=2000.0, help="comments per second in total")
    parser.add_argument("--rooms", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--share", type=float, default=0.05, help="share of after-sales questions")
    args = parser.parse_args()

    ctx = mp.get_context("spawn")
    ports_q = ctx.Queue()
    go = ctx.Event()
    ready, stop = ctx.Event(), ctx.Event()
    prefix = f"bench{uuid.uuid4().hex[:6]}"
    tmp = Path(tempfile.mkdtemp(prefix="danmaku-e2e-"))
    out = tmp / "arrivals.json"
    sub = ctx.Process(target=subscriber_main, args=(prefix, str(out), ready, stop))
    sub.start()
    ready.wait(10)
    relays = ctx.Process(
        target=relays_main, args=(args.rooms, args.rate, args.seconds, args.share, ports_q, go)
    )
    relays.start()
    ports = [ports_q.get(timeout=30) for _ in range(args.rooms)]
    stats = asyncio.run(run_agent(ports, prefix, tmp / "alerts.db", go, args.seconds))
    sent = ports_q.get(timeout=30)[1]
    relays.join(10)
    time.sleep(0.5)
    stop.set()
    sub.join(10)
    rows = orjson.loads(out.read_bytes())
    # An alert's first arrival (version 1, or a newer one that superseded it in the queue).
    arrivals: dict[str, tuple[float, float]] = {}
    for arrived, alert_id, _, received in rows:
        if alert_id not in arrivals or arrived < arrivals[alert_id][0]:
            arrivals[alert_id] = (arrived, received)
    first = [(arrived - received) * 1000 for arrived, received in arrivals.values()]
    ids = {(alert_id, version) for _, alert_id, version, _ in rows}
    print(f"machine: {os.cpu_count()} cores; model: {stats['model']}")
    print(
        f"comments sent {sent} in {args.seconds:.0f}s ({sent / args.seconds:.0f}/s) across "
        f"{args.rooms} rooms; accepted {stats['received']:.0f}, shed {stats['dropped']:.0f}"
    )
    print(
        f"agent CPU {stats['cpu_seconds']:.1f}s over {stats['wall_seconds']:.1f}s wall "
        f"({100 * stats['cpu_seconds'] / stats['wall_seconds']:.0f}% of one core)"
    )
    print(
        f"alert versions delivered {len(rows)} (unique {len(ids)}), "
        f"first publications {len(first)}, undelivered at exit {stats['pending']}, "
        f"delivery retries {stats['retries']:.0f}"
    )
    if first:
        print(
            f"first-publication latency ms: p50 {statistics.median(first):.1f}  "
            f"p90 {percentile(first, 0.90):.1f}  p99 {percentile(first, 0.99):.1f}  "
            f"max {max(first):.1f}"
        )
    with contextlib.suppress(OSError):
        for path in tmp.iterdir():
            path.unlink()
        tmp.rmdir()


if __name__ == "__main__":
    main()
