"""Fault benchmark: a broadcast relayed through three real agents while their dependencies fail.

    relay (this process, websockets) ─► agents a, b, c (``python -m agent run``, cluster)
         │                                  │ records and shared alert book: PostgreSQL
         │                                  │   through a TCP proxy that can be cut
         │                                  │ cluster presence and a second MQTT sink:
         │                                  │   a private Mosquitto on a free port
         │                                  └─► alerts: Mosquitto 127.0.0.1:1883 ─► subscriber
         └─ episodes: a few after-sales questions per room, then a pause (a new alert each)

Faults, one after the other, each followed by a calm stretch:

    broker    the private Mosquitto is SIGKILLed and restarted after ``--outage`` seconds
    relay     the relay aborts every connection, twice, 3 s apart
    database  the proxy in front of PostgreSQL drops every connection and refuses new ones
              for ``--outage`` seconds
    instance  the agent holding the most rooms is SIGKILLed, and restarted 10 s later

Afterwards the alerts received on 127.0.0.1:1883 are compared with the findings the agents
recorded in the store. An episode of a room whose questions were recorded as findings must
have arrived as an alert (none lost). If it arrived under two alert ids, the duplicate did
not share the idempotency key (a split). A version received twice with different content
is a conflict. The output is a table per fault.

    .venv/bin/python benchmarks/faults.py            # about two minutes
    .venv/bin/python benchmarks/faults.py --rooms 24 --calm 10

Needs Mosquitto (the binary, for the private broker, and the service on 127.0.0.1:1883) and
PostgreSQL on 127.0.0.1:5432 with trust auth (a fresh database is created and dropped).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiomqtt
import asyncpg
import orjson
import yaml
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.cluster import assign  # noqa: E402 - after the path is set
from tests.conftest import free_port  # noqa: E402
from tests.loopback import PgProxy, RoomRelay, clear_retained  # noqa: E402

PG = "postgresql://postgres@127.0.0.1:5432"
QUESTIONS = ["收到漏液了", "瓶子破了怎么办", "什么时候发货啊", "怎么申请退款"]
FRAMES = 6  # questions per episode
FRAME_GAP = 0.5
PAUSE = 4.0  # between episodes: longer than quiet_seconds + one aggregation tick
QUIET = 2.0


async def wait_port(port: int, seconds: float = 10.0) -> None:
    """Until something accepts connections on the port."""
    async with asyncio.timeout(seconds):
        while True:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            writer.close()
            return


# -- the faulty dependencies --------------------------------------------------------------


class PrivateBroker:
    """A Mosquitto of our own on a free port, to kill and restart."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.conf = folder / "mosquitto.conf"
        self.conf.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\n"
                             "persistence false\n", encoding="utf-8")  # fmt: skip
        self.log = folder / "mosquitto.log"
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        with self.log.open("ab") as log:
            self.proc = await asyncio.create_subprocess_exec(
                binary, "-c", str(self.conf), stdout=log, stderr=subprocess.STDOUT
            )
        await wait_port(self.port)

    async def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)
            await self.proc.wait()


# -- the broadcast ------------------------------------------------------------------------


@dataclass
class Episode:
    room: str
    number: int
    text: str
    ts: list[float] = field(default_factory=list)  # source ts of each question sent
    read: int = 0  # questions that reached at least one agent


@dataclass
class Relay(RoomRelay):
    """Every room on one websocket server (``/{room}?agent={name}``); records what was sent."""

    rooms: list[str]
    episodes: list[Episode] = field(default_factory=list)
    unread_since: dict[str, float] = field(default_factory=dict)
    longest_unread: dict[str, float] = field(default_factory=dict)  # phase → seconds

    def drop_all(self) -> int:
        """Abort every connection, as a relay crash would."""
        dropped = 0
        for agents in self.clients.values():
            for conns in agents.values():
                for ws in list(conns):
                    ws.transport.abort()
                    dropped += 1
        return dropped

    async def broadcast(self, room: str, offset: float) -> None:
        """Episodes of one after-sales question each, until cancelled."""
        await asyncio.sleep(offset)
        number = 0
        while True:
            episode = Episode(room, number, QUESTIONS[number % len(QUESTIONS)])
            self.episodes.append(episode)
            for i in range(FRAMES):
                ts = time.time()
                frame = orjson.dumps({"type": "comment", "room": room, "user": f"u{number}-{i}",
                                      "text": episode.text, "ts": ts}).decode()  # fmt: skip
                sent = False
                for conns in list(self.clients.get(room, {}).values()):
                    for ws in list(conns):
                        with contextlib.suppress(ConnectionClosed):
                            await ws.send(frame)
                            sent = True
                episode.ts.append(ts)
                episode.read += sent
                await asyncio.sleep(FRAME_GAP)
            number += 1
            await asyncio.sleep(PAUSE)

    async def watch(self, phase: list[str]) -> None:
        """Track, per phase, the longest time any room had no reader."""
        while True:
            now = time.monotonic()
            for room in self.rooms:
                if self.readers(room):
                    self.unread_since.pop(room, None)
                    continue
                since = self.unread_since.setdefault(room, now)
                name = phase[0]
                self.longest_unread[name] = max(self.longest_unread.get(name, 0.0), now - since)
            await asyncio.sleep(0.05)


# -- MQTT feeds ---------------------------------------------------------------------------


async def follow(port: int, prefix: str, out: list[dict[str, Any]], ready: asyncio.Event) -> None:
    """Every alert version on a broker; reconnects (the private broker gets killed)."""
    while True:
        try:
            async with aiomqtt.Client("127.0.0.1", port,
                                      protocol=aiomqtt.ProtocolVersion.V5) as client:  # fmt: skip
                await client.subscribe(f"{prefix}/v1/alerts/+", qos=1)
                ready.set()
                async for message in client.messages:
                    assert isinstance(message.payload, bytes)
                    out.append(orjson.loads(message.payload))
        except aiomqtt.MqttError:
            await asyncio.sleep(0.2)


# -- the agents ---------------------------------------------------------------------------


@dataclass
class Agents:
    folder: Path
    relay: Relay
    prefix: str
    broker: PrivateBroker
    store_url: str
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def config(self, name: str) -> Path:
        sources = [{"type": "json_ws", "room": r,
                    "url": f"ws://127.0.0.1:{self.relay.port}/{r}?agent={name}",
                    "reconnect": {"initial": 0.1, "maximum": 1.0}}
                   for r in self.relay.rooms]  # fmt: skip
        private = f"mqtt://127.0.0.1:{self.broker.port}"
        config = {
            "instance": name,
            "sources": sources,
            "sinks": [{"type": "mqtt", "prefix": self.prefix, "commands": False, "will_delay": 1},
                      {"type": "mqtt", "name": "mqtt-private", "url": private,
                       "prefix": self.prefix, "commands": False, "will_delay": 1}],
            "outbox": {"path": str(self.folder / f"{name}.db"), "retry_max": 2.0},
            "store": {"url": self.store_url, "flush_interval": 0.2, "retry_max": 2.0},
            "aggregate": {"quiet_seconds": QUIET, "update_interval": 1.0,
                          "spike_min_count": 1_000_000},
            "pipeline": {"shutdown_timeout": 10.0},
            "cluster": {"enabled": True, "url": private, "prefix": f"{self.prefix}/cluster",
                        "heartbeat_seconds": 0.5, "member_timeout_seconds": 3.0,
                        "will_delay": 1, "handover_seconds": 0.5, "settle_seconds": 0.5},
        }  # fmt: skip
        path = self.folder / f"{name}.yaml"
        path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
        return path

    def start(self, name: str) -> None:
        env = {**os.environ, "DANMAKU_HASH_KEY": "benchmark-hash-key-0123456789abcdef"}
        log = (self.folder / f"{name}.log").open("ab")
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", "agent", "run", "--config", str(self.config(name)),
             "--log-json"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def kill(self, name: str) -> None:
        self.procs[name].send_signal(signal.SIGKILL)
        self.procs[name].wait()

    async def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                await asyncio.to_thread(proc.wait, 30)
            except subprocess.TimeoutExpired:
                proc.kill()

    def adopted(self) -> int:
        """Open alerts the agents continued from the shared store, from their logs."""
        total = 0
        for name in self.procs:
            for line in (self.folder / f"{name}.log").read_bytes().splitlines():
                if b"open alerts continued" in line or b"late alerts of gained" in line:
                    with contextlib.suppress(orjson.JSONDecodeError):
                        doc = orjson.loads(line)
                        total += doc.get("adopted", len(doc.get("alert_ids", [])))
        return total


# -- the run ------------------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    started: float
    ended: float = 0.0
    note: str = ""


async def until(predicate: Any, seconds: float) -> float:
    started = time.monotonic()
    async with asyncio.timeout(seconds):
        while not predicate():  # noqa: ASYNC110 - polling other processes' effects
            await asyncio.sleep(0.05)
    return time.monotonic() - started


async def run_faults(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    prefix = f"faults{uuid.uuid4().hex[:8]}"
    rooms = [f"room{i}" for i in range(args.rooms)]
    relay = Relay(rooms)
    broker = PrivateBroker(folder)
    proxy = PgProxy()
    name = f"bench_faults_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(f"{PG.replace('postgresql', 'postgres')}/test")
    await admin.execute(f"CREATE DATABASE {name}")
    received: list[dict[str, Any]] = []
    private: list[dict[str, Any]] = []
    phases: list[Phase] = []
    current = ["start"]
    tasks: list[asyncio.Task[None]] = []
    try:
        await broker.start()
        await proxy.start()
        async with serve(relay.handler, "127.0.0.1", 0) as server:
            relay.port = server.sockets[0].getsockname()[1]
            agents = Agents(folder, relay, prefix, broker,
                            f"postgresql://postgres@127.0.0.1:{proxy.port}/{name}")  # fmt: skip
            ready, ready_private = asyncio.Event(), asyncio.Event()
            tasks += [asyncio.create_task(follow(1883, prefix, received, ready)),
                      asyncio.create_task(follow(broker.port, prefix, private, ready_private)),
                      asyncio.create_task(relay.watch(current))]  # fmt: skip
            await asyncio.wait_for(asyncio.gather(ready.wait(), ready_private.wait()), 10)
            # Names unique to the run: MQTT client ids derive from them on the shared broker.
            instances = [f"{n}-{prefix}" for n in "abc"]
            for member in instances:
                agents.start(member)
            owners = assign(rooms, instances)
            await until(lambda: all(relay.readers(r) == {owners[r]} for r in rooms), 90)
            print(f"agents up; {len(rooms)} rooms shared by {', '.join(instances)}", flush=True)
            spread = (FRAMES * FRAME_GAP + PAUSE) / len(rooms)
            tasks += [asyncio.create_task(relay.broadcast(r, i * spread))
                      for i, r in enumerate(rooms)]  # fmt: skip

            async def phase(title: str, note: str = "") -> Phase:
                current[0] = title
                phases.append(Phase(title, time.time(), note=note))
                print(f"[{time.strftime('%H:%M:%S')}] {title} {note}".rstrip(), flush=True)
                return phases[-1]

            await phase("none")
            await asyncio.sleep(args.calm)

            p = await phase("broker", f"private Mosquitto down {args.outage:g} s")
            await broker.kill()
            await asyncio.sleep(args.outage)
            await broker.start()
            await asyncio.sleep(args.calm)

            p = await phase("relay", "every connection aborted, twice")
            dropped = relay.drop_all()
            await asyncio.sleep(3)
            dropped += relay.drop_all()
            p.note += f"; {dropped} connections"
            await asyncio.sleep(args.calm)

            p = await phase("database", f"PostgreSQL cut {args.outage:g} s")
            proxy.sever()
            await asyncio.sleep(args.outage)
            proxy.reopen()
            await asyncio.sleep(args.calm)

            victim = max(instances, key=lambda m: sum(o == m for o in owners.values()))
            survivors = [m for m in instances if m != victim]
            share = sum(o == victim for o in owners.values())
            p = await phase("instance", f"{victim} ({share} of {len(rooms)} rooms) SIGKILLed, "
                                        "restarted after 10 s")  # fmt: skip
            agents.kill(victim)
            moved = assign(rooms, survivors)
            took = await until(lambda: all(relay.readers(r) == {moved[r]} for r in rooms), 30)
            p.note += f"; its rooms read again {took:.1f} s later"
            await asyncio.sleep(max(0.0, 10 - took))
            agents.start(victim)
            await until(lambda: all(relay.readers(r) == {owners[r]} for r in rooms), 60)
            await asyncio.sleep(args.calm)

            current[0] = "end"
            for task in tasks[3:]:
                task.cancel()
            phases[-1].ended = time.time()
            for before, after in itertools.pairwise(phases):
                before.ended = after.started
            await asyncio.sleep(QUIET + 4.0)  # last alerts close and go out
            await agents.stop()
            await asyncio.sleep(1.0)
            adopted = agents.adopted()
        db = await asyncpg.connect(f"{PG.replace('postgresql', 'postgres')}/{name}")
        try:
            findings = [tuple(r) for r in await db.fetch(
                "SELECT room, source_ts FROM inquiries WHERE after_sales")]  # fmt: skip
        finally:
            await db.close()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await proxy.close()
        await broker.kill()
        with contextlib.suppress(Exception):
            await clear_retained(prefix, wait=1.5)
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin.close()
    return {"relay": relay, "received": received, "private": private, "phases": phases,
            "findings": findings, "adopted": adopted}  # fmt: skip


# -- the comparison -----------------------------------------------------------------------


@dataclass
class Row:
    episodes: int = 0
    read: int = 0
    recorded: int = 0
    alerted: int = 0
    lost: int = 0
    split: int = 0
    private_alerted: int = 0
    repeated: int = 0  # versions received again (same alert_id and version, same content)
    conflicting: int = 0  # versions received with two different contents


def phase_of(phases: list[Phase], ts: float) -> str | None:
    return next((p.name for p in phases if p.started <= ts < p.ended), None)


def compare(result: dict[str, Any]) -> tuple[dict[str, Row], dict[str, int]]:
    """Per phase: episodes, findings recorded, alerts received, lost and split episodes."""
    relay: Relay = result["relay"]
    phases: list[Phase] = result["phases"]
    by_first: dict[tuple[str, float], set[str]] = {}
    for alert in result["received"]:
        by_first.setdefault((alert["room"], round(alert["first_seen"], 3)), set()).add(
            alert["alert_id"])  # fmt: skip
    private_ids = {a["alert_id"] for a in result["private"]}
    recorded = Counter((room, round(ts, 3)) for room, ts in result["findings"])
    rows: dict[str, Row] = {}
    for episode in relay.episodes:
        name = phase_of(phases, episode.ts[0] if episode.ts else 0.0)
        if name is None or len(episode.ts) < FRAMES:
            continue  # before the first phase, or cut short at the end
        row = rows.setdefault(name, Row())
        row.episodes += 1
        row.read += episode.read > 0
        stamps = [(episode.room, round(ts, 3)) for ts in episode.ts]
        ids = set().union(*(by_first.get(s, set()) for s in stamps))
        findings = sum(recorded[s] for s in stamps)
        row.recorded += findings > 0
        row.alerted += bool(ids)
        row.lost += findings > 0 and not ids
        row.split += len(ids) > 1
        row.private_alerted += bool(ids & private_ids)
    contents: dict[tuple[str, int], list[bytes]] = {}
    first_seen: dict[str, float] = {}
    for alert in result["received"]:
        key = (alert["alert_id"], alert["version"])
        first_seen[alert["alert_id"]] = alert["first_seen"]
        contents.setdefault(key, []).append(orjson.dumps(
            [alert["state"], alert["count"], alert["escalation_level"], alert["assignee"]]))  # fmt: skip
    for (alert_id, _), seen in contents.items():
        name = phase_of(phases, first_seen[alert_id])
        if name is not None:
            rows.setdefault(name, Row()).repeated += len(seen) - len(set(seen))
            rows[name].conflicting += len(set(seen)) > 1
    totals = {
        "versions": len(result["received"]),
        "alert_ids": len({a["alert_id"] for a in result["received"]}),
        "findings": len(result["findings"]),
        "adopted": int(result["adopted"]),
    }
    return rows, totals


def conflicts(result: dict[str, Any]) -> list[tuple[str, int, list[Any]]]:
    """Versions received with different contents, with the arrival order of the contents."""
    seen: dict[tuple[str, int], list[Any]] = {}
    for alert in result["received"]:
        content = [alert["state"], alert["count"], alert["escalation_level"], alert["updated_at"]]
        seen.setdefault((alert["alert_id"], alert["version"]), []).append(content)
    return [(k[0], k[1], v) for k, v in seen.items() if len({orjson.dumps(c[:3]) for c in v}) > 1]


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def report(result: dict[str, Any], args: argparse.Namespace) -> None:
    rows, totals = compare(result)
    relay: Relay = result["relay"]
    phases: list[Phase] = result["phases"]
    print()
    print(f"{cpu_model()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}; {args.rooms} rooms, 3 agents, episodes of {FRAMES} "
          f"questions {FRAME_GAP:g} s apart every {FRAMES * FRAME_GAP + PAUSE:g} s")  # fmt: skip
    print()
    head = ("| fault | episodes | read | recorded | alerted | lost | split | repeated "
            "| conflicting | private broker | longest unread room s |")  # fmt: skip
    print(head)
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for phase in phases:
        row = rows.get(phase.name, Row())
        print(f"| {phase.name} | {row.episodes} | {row.read} | {row.recorded} | {row.alerted} "
              f"| {row.lost} | {row.split} | {row.repeated} | {row.conflicting} "
              f"| {row.private_alerted} "
              f"| {relay.longest_unread.get(phase.name, 0.0):.1f} |")  # fmt: skip
    print()
    for phase in phases:
        if phase.note:
            print(f"- {phase.name}: {phase.note}")
    print(f"- {totals['findings']} after-sales findings recorded; {totals['alert_ids']} alerts "
          f"in {totals['versions']} versions received on 127.0.0.1:1883; {totals['adopted']} "
          "open alerts continued from the shared store by the agent that took a room over")  # fmt: skip
    print("- recorded: episodes with at least one finding in the store; lost: recorded but no "
          "alert arrived; split: arrived under two alert ids; repeated: versions received "
          "again with the same content; conflicting: versions (alert_id and version) "
          "received with two different contents; private broker: alerted episodes that "
          "also arrived on the private Mosquitto")  # fmt: skip
    if args.keep:
        for alert_id, version, contents in conflicts(result):
            print(f"  conflict {alert_id} v{version}: {contents}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", type=int, default=12)
    parser.add_argument("--calm", type=float, default=8.0, help="seconds between faults")
    parser.add_argument("--outage", type=float, default=6.0, help="broker and database outage")
    parser.add_argument("--keep", action="store_true", help="keep the agents' logs and configs")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="danmaku-faults-"))
    try:
        result = asyncio.run(run_faults(args, folder))
        report(result, args)
        rows, _ = compare(result)
        return 1 if any(r.lost or r.split for r in rows.values()) else 0
    finally:
        if args.keep:
            print(f"logs and configs kept in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
