"""Load benchmark: M rooms × N comments/s from loopback relays through the real agent to MQTT.

    relay process (one websockets server, a path per room, N comments/s each)
        └─► agent process (``python -m agent run`` on a generated config: json_ws sources →
            redact → detect → aggregate → alert book → durable outbox → MQTT sink, QoS 1)
                └─► Mosquitto 127.0.0.1:1883 ─► subscriber process (records arrival times)

First-publication latency = the first arrival of an alert at the subscriber minus the source
``ts`` of the comment that opened it (stamped by the relay; one host, one clock).
Source-to-finding lag = the agent's ``danmaku_finding_lag_seconds`` histogram (source ``ts`` of
a comment to its finding leaving detection, every finding of the run), percentiles read by
linear interpolation inside its fine buckets (1 ms steps below 6 ms, 10 ms near 50). Throughput
= comments the agent accepted per second (its own ``danmaku_messages_received_total``), and
how many it shed. CPU is the agent process's user+system time over the run, in % of one
core; peak RSS is its high-water mark (``VmHWM``). Relays and subscriber run in their own
processes on the same machine, so they share its cores with the agent.

    .venv/bin/python benchmarks/load.py --rooms 1,50,200 --rate 10 --seconds 20 --repeat 3

Spike detection is switched off (an inhibited inquiry alert is held back by design, which
would hide it from the latency count); ``quiet_seconds`` is short so that a run produces many
first publications.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing as mp
import os
import platform
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiomqtt
import orjson
import psutil
import yaml
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

ROOT = Path(__file__).resolve().parents[1]

# Viewer lines: after-sales questions of several categories among chatter.
QUESTIONS = [
    "什么时候发货啊", "快递到哪了", "能退货吗", "怎么申请退款", "收到漏液了",
    "瓶子破了怎么办", "赠品没收到", "优惠券用不了", "保修多久", "虚假宣传 打12315",
]  # fmt: skip
CHATTER = ["哈哈哈", "主播好美", "来了来了", "666", "这个颜色好看", "多少钱", "有链接吗", "好看"]


# -- relays (own process) -----------------------------------------------------------------


def relays_main(rooms: int, rate: float, seconds: float, share: float, out: Any) -> None:
    """Serve ``rooms`` relays; once all are connected, send ``rate`` comments/s to each."""
    asyncio.run(_relays(rooms, rate, seconds, share, out))


async def _relays(rooms: int, rate: float, seconds: float, share: float, out: Any) -> None:
    rng = random.Random(7)
    clients: dict[str, ServerConnection] = {}
    connected = asyncio.Event()

    async def handler(ws: ServerConnection) -> None:
        assert ws.request is not None
        room = ws.request.path.strip("/")
        clients[room] = ws
        if len(clients) >= rooms:
            connected.set()
        try:
            await ws.wait_closed()
        finally:
            if clients.get(room) is ws:
                del clients[room]

    async with serve(handler, "127.0.0.1", 0, compression=None, max_queue=None) as server:
        out.put(("port", server.sockets[0].getsockname()[1]))
        await connected.wait()
        start = time.monotonic()
        out.put(("started", time.time()))
        # Every room sends in 10 ms ticks; each tick carries the room's share of the rate.
        sent, tick, carry = 0, 0.01, 0.0
        names = [f"room{i}" for i in range(rooms)]
        while (elapsed := time.monotonic() - start) < seconds:
            carry += rate * tick
            burst, carry = int(carry), carry - int(carry)
            for _ in range(burst):
                for room in names:
                    ws = clients.get(room)
                    if ws is None:
                        continue
                    text = rng.choice(QUESTIONS) if rng.random() < share else rng.choice(CHATTER)
                    frame = {"type": "comment", "room": room, "user": f"u{rng.randrange(5000)}",
                             "text": text, "ts": time.time()}  # fmt: skip
                    with contextlib.suppress(ConnectionClosed):
                        await ws.send(orjson.dumps(frame).decode())
                        sent += 1
            next_tick = start + (int(elapsed / tick) + 1) * tick
            await asyncio.sleep(max(0.0, next_tick - time.monotonic()))
        out.put(("sent", sent))
        # Keep the connections until the agent is stopped (a closed relay means reconnects).
        await asyncio.sleep(3600)


# -- subscriber (own process) -------------------------------------------------------------


def subscriber_main(prefix: str, out: str, ready: Any, stop: Any) -> None:
    """Record (arrival, alert_id, version, source_ts) of every alert version on MQTT."""
    asyncio.run(_subscribe(prefix, out, ready, stop))


async def _subscribe(prefix: str, out: str, ready: Any, stop: Any) -> None:
    rows: list[tuple[float, str, int, float]] = []

    async def read(client: aiomqtt.Client) -> None:
        async for message in client.messages:
            arrived = time.time()
            assert isinstance(message.payload, bytes)
            alert = orjson.loads(message.payload)
            rows.append((arrived, alert["alert_id"], alert["version"], alert["source_ts"]))

    async with aiomqtt.Client("127.0.0.1", 1883, protocol=aiomqtt.ProtocolVersion.V5) as client:
        await client.subscribe(f"{prefix}/v1/alerts/+", qos=1)
        ready.set()
        reader = asyncio.create_task(read(client))
        await asyncio.to_thread(stop.wait)
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
    await asyncio.to_thread(Path(out).write_bytes, orjson.dumps(rows))


async def clear_retained(prefix: str) -> None:
    """Leave the shared broker as found: empty every retained message under the prefix."""
    async with aiomqtt.Client("127.0.0.1", 1883, protocol=aiomqtt.ProtocolVersion.V5) as client:
        await client.subscribe(f"{prefix}/#")
        topics: set[str] = set()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(1.5):
                async for message in client.messages:
                    if message.retain and message.payload:
                        topics.add(str(message.topic))
        for topic in topics:
            await client.publish(topic, b"", qos=1, retain=True)


# -- the agent (own process) ----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def write_config(
    tmp: Path, *, rooms: int, relay_port: int, prefix: str, metrics_port: int, quiet: float
) -> Path:
    """A real agent config: one json_ws source per room, MQTT sink, metrics endpoint."""
    sources = [{"type": "json_ws", "room": f"room{i}",
                "url": f"ws://127.0.0.1:{relay_port}/room{i}"} for i in range(rooms)]  # fmt: skip
    config = {
        "instance": f"load-{prefix}",
        "sources": sources,
        "sinks": [{"type": "mqtt", "prefix": prefix, "commands": False}],
        "outbox": {"path": str(tmp / "outbox.db")},
        "metrics": {"listen": f"127.0.0.1:{metrics_port}"},
        "aggregate": {"quiet_seconds": quiet, "update_interval": 2.0, "spike_min_count": 1_000_000},
        "room_cap": max(200, rooms),
        "log_level": "warning",
    }
    path = tmp / "agent.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def start_agent(config: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DANMAKU_HASH_KEY": "benchmark-hash-key-0123456789abcdef"}
    return subprocess.Popen(
        [sys.executable, "-m", "agent", "run", "--config", str(config), "--log-json"],
        cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip


def scrape(port: int) -> dict[str, float]:
    """Sum of every counter/gauge sample by metric name from the agent's /metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    sums: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            sums[sample.name] = sums.get(sample.name, 0.0) + sample.value
    return sums


def scrape_buckets(port: int, name: str) -> list[tuple[float, float]]:
    """A histogram's cumulative buckets ``(le, count)`` from /metrics, summed over labels."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    buckets: dict[float, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == f"{name}_bucket":
                le = float(sample.labels["le"])
                buckets[le] = buckets.get(le, 0.0) + sample.value
    return sorted(buckets.items())


def bucket_quantile(buckets: list[tuple[float, float]], q: float) -> float | None:
    """The ``q`` quantile of cumulative buckets, linear inside a bucket (as PromQL does)."""
    if not buckets or buckets[-1][1] == 0:
        return None
    rank = q * buckets[-1][1]
    lower_le, lower_count = 0.0, 0.0
    for le, count in buckets:
        if count >= rank:
            if le == float("inf"):
                return lower_le
            share = (rank - lower_count) / (count - lower_count) if count > lower_count else 1.0
            return lower_le + (le - lower_le) * share
        lower_le, lower_count = le, count
    return lower_le


def peak_rss(proc: psutil.Process) -> int:
    """The process's RSS high-water mark in bytes (Linux ``VmHWM``), else its RSS now."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    rss: int = proc.memory_info().rss
    return rss


@dataclass
class Sampler:
    """RSS of a process every ``every`` seconds, in the background."""

    proc: psutil.Process
    every: float
    samples: list[tuple[float, int]] = field(default_factory=list)

    async def run(self) -> None:
        start = time.monotonic()
        while True:
            with contextlib.suppress(psutil.Error):
                self.samples.append((time.monotonic() - start, self.proc.memory_info().rss))
            await asyncio.sleep(self.every)


@dataclass
class Result:
    rooms: int
    rate: float
    seconds: float
    sent: int
    accepted: float
    shed: float
    alerts: int
    latencies_ms: list[float]
    cpu_percent: float
    peak_rss: int
    undelivered: float
    rss_samples: list[tuple[float, int]]
    findings: float = 0.0
    finding_lag_ms: tuple[float | None, float | None] = (None, None)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run_once(
    rooms: int,
    rate: float,
    seconds: float,
    share: float = 0.05,
    sample_every: float = 1.0,
    quiet: float = 0.5,
) -> Result:
    """One run: relays, agent and subscriber up; send for ``seconds``; drain; measure."""
    ctx = mp.get_context("spawn")
    prefix = f"load{uuid.uuid4().hex[:6]}"
    tmp = Path(tempfile.mkdtemp(prefix="danmaku-load-"))
    ready, stop, relay_out = ctx.Event(), ctx.Event(), ctx.Queue()
    rows_path = tmp / "arrivals.json"
    sub = ctx.Process(target=subscriber_main, args=(prefix, str(rows_path), ready, stop))
    sub.start()
    relay = ctx.Process(target=relays_main, args=(rooms, rate, seconds, share, relay_out))
    relay.start()
    agent: subprocess.Popen[bytes] | None = None
    try:
        if not await asyncio.to_thread(ready.wait, 20):
            raise RuntimeError("subscriber did not connect to 127.0.0.1:1883")
        kind, relay_port = await asyncio.to_thread(relay_out.get, True, 30)
        assert kind == "port"
        metrics_port = free_port()
        config = write_config(tmp, rooms=rooms, relay_port=relay_port, prefix=prefix,
                              metrics_port=metrics_port, quiet=quiet)  # fmt: skip
        agent = start_agent(config, tmp / "agent.log")
        proc = psutil.Process(agent.pid)
        kind, _ = await asyncio.to_thread(relay_out.get, True, 120)
        assert kind == "started"
        cpu0, wall0 = proc.cpu_times(), time.monotonic()
        sampler = Sampler(proc, sample_every)
        sampling = asyncio.create_task(sampler.run())
        kind, sent = await asyncio.to_thread(relay_out.get, True, seconds + 120)
        assert kind == "sent"
        await asyncio.sleep(2.0)  # drain: the last alerts out of the outbox
        cpu1, wall1 = proc.cpu_times(), time.monotonic()
        sampling.cancel()
        metrics = await asyncio.to_thread(scrape, metrics_port)
        lag = await asyncio.to_thread(scrape_buckets, metrics_port, "danmaku_finding_lag_seconds")
        peak = peak_rss(proc)
    finally:
        if agent is not None:
            agent.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(agent.wait, 30)
            except subprocess.TimeoutExpired:
                agent.kill()
        relay.terminate()
        relay.join(10)
        await asyncio.sleep(0.5)
        stop.set()
        sub.join(20)
        await clear_retained(prefix)
    rows = orjson.loads(rows_path.read_bytes()) if rows_path.exists() else []
    shutil.rmtree(tmp, ignore_errors=True)
    first: dict[str, tuple[float, float]] = {}
    for arrived, alert_id, _version, source_ts in rows:
        if alert_id not in first or arrived < first[alert_id][0]:
            first[alert_id] = (arrived, source_ts)
    cpu = (cpu1.user + cpu1.system) - (cpu0.user + cpu0.system)
    wall = wall1 - wall0
    return Result(
        rooms=rooms, rate=rate, seconds=seconds, sent=sent,
        accepted=metrics.get("danmaku_messages_received_total", 0.0),
        shed=metrics.get("danmaku_messages_dropped_total", 0.0),
        alerts=len(first),
        latencies_ms=[(arrived - ts) * 1000 for arrived, ts in first.values()],
        cpu_percent=100 * cpu / wall, peak_rss=peak,
        undelivered=metrics.get("danmaku_outbox_pending", 0.0),
        rss_samples=sampler.samples,
        findings=lag[-1][1] if lag else 0.0,
        finding_lag_ms=(_ms(bucket_quantile(lag, 0.5)), _ms(bucket_quantile(lag, 0.99))),
    )  # fmt: skip


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000


def machine() -> str:
    """CPU model and core count of this machine."""
    model = platform.processor() or "unknown cpu"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}"


HEADER = ("rooms", "rate/room", "sent/s", "accepted/s", "shed", "findings",
          "finding p50 ms", "finding p99 ms", "alerts", "first pub p50 ms", "first pub p99 ms",
          "agent CPU %", "peak RSS MB")  # fmt: skip


def figures(r: Result) -> list[float | None]:
    """The numbers of one run, in ``HEADER`` order."""
    lat = r.latencies_ms
    return [
        r.rooms, r.rate, r.sent / r.seconds, r.accepted / r.seconds, r.shed, r.findings,
        *r.finding_lag_ms, r.alerts,
        statistics.median(lat) if lat else None, percentile(lat, 0.99) if lat else None,
        r.cpu_percent, r.peak_rss / 2**20,
    ]  # fmt: skip


def median_figures(runs: list[list[float | None]]) -> list[float | None]:
    """Each column's median over repeated runs (columns missing in a run are skipped)."""
    columns = zip(*runs, strict=True)
    return [statistics.median(known) if (known := [v for v in column if v is not None])
            else None for column in columns]  # fmt: skip


_FORMATS = ("{:.0f}", "{:g}", "{:.0f}", "{:.0f}", "{:.0f}", "{:.0f}", "{:.1f}", "{:.1f}",
            "{:.0f}", "{:.1f}", "{:.1f}", "{:.0f}", "{:.0f}")  # fmt: skip


def row(values: list[float | None]) -> tuple[str, ...]:
    """One table row from ``figures``."""
    return tuple(
        "-" if v is None else fmt.format(v) for fmt, v in zip(_FORMATS, values, strict=True)
    )


def print_table(rows: list[list[float | None]]) -> None:
    """A Markdown table, one row per room count."""
    lines = [HEADER, *(row(values) for values in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(HEADER))]
    fmt = "| " + " | ".join(f"{{:>{w}}}" for w in widths) + " |"
    print(fmt.format(*HEADER))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for line in lines[1:]:
        print(fmt.format(*line))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rooms", default="1,50,200", help="rooms per run, comma-separated")
    parser.add_argument("--rate", type=float, default=10.0, help="comments per second per room")
    parser.add_argument("--seconds", type=float, default=20.0, help="sending time per run")
    parser.add_argument("--share", type=float, default=0.05, help="share of after-sales questions")
    parser.add_argument("--repeat", type=int, default=1, help="runs per room count (median shown)")
    args = parser.parse_args()
    rows = []
    for rooms in (int(r) for r in args.rooms.split(",")):
        runs = []
        for attempt in range(1, args.repeat + 1):
            result = asyncio.run(run_once(rooms, args.rate, args.seconds, args.share))
            runs.append(figures(result))
            print(f"rooms={rooms} run {attempt}: {' | '.join(row(runs[-1]))} "
                  f"({result.undelivered:.0f} undelivered at the end)", file=sys.stderr)  # fmt: skip
        rows.append(median_figures(runs))
    print(f"machine: {machine()}")
    if args.repeat > 1:
        print(f"median of {args.repeat} runs per row")
    print_table(rows)


if __name__ == "__main__":
    main()
