"""Open alerts move with their room: three real agents share PostgreSQL and the broker; the
one holding an unacknowledged alert is SIGKILLed, and the one that takes the room over
escalates the same alert at its deadline and answers the acknowledgement, alone."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiomqtt
import asyncpg
import orjson
import pytest
import yaml
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

from agent.cluster import assign
from tests.conftest import ROOT
from tests.loopback import RoomRelay, clear_retained
from tests.test_cluster import stop_agents

PG = "postgresql://postgres@127.0.0.1:5432"
ACK_SECONDS = 8.0


@dataclass
class Relay(RoomRelay):
    """One websocket server for every room: ``/{room}?agent={instance}``."""


    async def say(self, room: str, user: str, text: str) -> None:
        """One comment to everyone reading the room."""
        frame = orjson.dumps({"type": "comment", "room": room, "user": user, "text": text,
                              "ts": time.time()}).decode()  # fmt: skip
        for conns in list(self.clients.get(room, {}).values()):
            for ws in list(conns):
                with contextlib.suppress(ConnectionClosed):
                    await ws.send(frame)


@dataclass
class Feed:
    """Every alert version on the team topics, and every command reply."""

    alerts: list[dict[str, Any]] = field(default_factory=list)
    replies: list[tuple[bytes, dict[str, Any]]] = field(default_factory=list)
    ready: asyncio.Event = field(default_factory=asyncio.Event)

    def of(self, alert_id: str) -> list[dict[str, Any]]:
        return [a for a in self.alerts if a["alert_id"] == alert_id]


async def follow(prefix: str, feed: Feed) -> None:
    async with aiomqtt.Client("127.0.0.1", 1883, protocol=aiomqtt.ProtocolVersion.V5) as sub:
        await sub.subscribe(f"{prefix}/v1/alerts/+", qos=1)
        await sub.subscribe(f"{prefix}/replies", qos=1)
        feed.ready.set()
        async for message in sub.messages:
            assert isinstance(message.payload, bytes)
            doc = orjson.loads(message.payload)
            if str(message.topic).endswith("/replies"):
                correlation = message.properties.CorrelationData  # type: ignore[union-attr]
                feed.replies.append((correlation, doc))
            else:
                feed.alerts.append(doc)


async def command(prefix: str, name: str, body: dict[str, Any], correlation: bytes) -> None:
    props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    props.ResponseTopic = f"{prefix}/replies"
    props.CorrelationData = correlation
    async with aiomqtt.Client("127.0.0.1", 1883, protocol=aiomqtt.ProtocolVersion.V5) as client:
        await client.publish(f"{prefix}/v1/commands/{name}", orjson.dumps(body), qos=1,
                             properties=props)  # fmt: skip


@contextlib.asynccontextmanager
async def database() -> AsyncIterator[str]:
    """A fresh PostgreSQL database shared by the agents, dropped afterwards."""
    name = f"test_handover_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(f"{PG.replace('postgresql', 'postgres')}/test")
    try:
        await admin.execute(f"CREATE DATABASE {name}")
        try:
            yield f"{PG}/{name}"
        finally:
            await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        await admin.close()


async def book_row(url: str, alert_id: str) -> dict[str, Any] | None:
    """The shared book entry of an alert, as committed."""
    conn = await asyncpg.connect(url.replace("postgresql", "postgres"))
    try:
        row = await conn.fetchrow(
            "SELECT owner, state, version FROM book_entries WHERE alert_id = $1", alert_id
        )
    except asyncpg.UndefinedTableError:
        return None  # not migrated yet
    finally:
        await conn.close()
    return dict(row) if row is not None else None


def write_config(tmp: Path, name: str, prefix: str, relay: Relay, db: str, rooms: list[str]) -> Path:
    sources = [{"type": "json_ws", "room": r, "url": f"ws://127.0.0.1:{relay.port}/{r}?agent={name}",
                "reconnect": {"initial": 0.1, "maximum": 0.5}} for r in rooms]  # fmt: skip
    config = {
        "instance": name,
        "sources": sources,
        "sinks": [{"type": "jsonl", "path": str(tmp / f"{name}.jsonl")},
                  {"type": "mqtt", "prefix": prefix, "commands": True, "will_delay": 1}],
        "outbox": {"path": str(tmp / f"{name}.db")},
        "store": {"url": db, "flush_interval": 0.2},
        "aggregate": {"quiet_seconds": 300, "update_interval": 0.5, "spike_min_count": 100000},
        "escalation": {"ack_seconds": dict.fromkeys(("critical", "high", "medium", "low"),
                                                    ACK_SECONDS)},
        "routing": {"teams": {"aftersales": {"lead": "boss", "shifts": [{"staff": ["li", "wang"]}]}},
                    "staff": {"li": {"name": "李雷"}, "wang": {"name": "王芳"},
                              "boss": {"name": "组长"}}},
        "pipeline": {"shutdown_timeout": 5.0},
        "cluster": {"enabled": True, "prefix": f"{prefix}/cluster", "heartbeat_seconds": 0.5,
                    "member_timeout_seconds": 2.0, "will_delay": 1, "handover_seconds": 0.5,
                    "settle_seconds": 0.5},
    }  # fmt: skip
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def start_agent(tmp: Path, name: str, config: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DANMAKU_HASH_KEY": "cluster-test-hash-key-0123456789"}
    log = (tmp / f"{name}.log").open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "agent", "run", "--config", str(config), "--log-json"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip


async def until(predicate: Any, within: float, what: str) -> float:
    """Seconds until ``predicate()`` holds; fails naming ``what`` after ``within`` seconds."""
    started = time.monotonic()
    while (elapsed := time.monotonic() - started) < within:
        result = predicate()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return elapsed
        await asyncio.sleep(0.05)
    raise AssertionError(f"{what}: not within {within}s")


def published(tmp: Path, name: str, alert_id: str) -> list[dict[str, Any]]:
    """The versions of an alert an instance's own jsonl sink wrote."""
    path = tmp / f"{name}.jsonl"
    if not path.exists():
        return []
    lines = [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]
    return [a for a in lines if a["alert_id"] == alert_id]


@pytest.mark.broker
@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.timeout(240)
async def test_a_killed_owners_open_alert_escalates_and_is_acked_on_the_new_owner(
    tmp_path: Path,
) -> None:
    """A opens an alert and is SIGKILLed before anyone acks; the new owner escalates the SAME
    alert_id at its deadline, folds later comments into it and alone answers the ack. A
    restarted A takes the room back without escalating its stale copy and answers next."""
    prefix = f"t{uuid.uuid4().hex[:10]}"
    rooms = [f"room{i}" for i in range(6)]
    # Names unique to the run: MQTT client ids derive from them, and the broker is shared.
    first = [f"{n}-{prefix}" for n in "abc"]
    room = rooms[0]
    opener = assign(rooms, first)[room]  # opens the alert, is killed, comes back
    survivors = [m for m in first if m != opener]
    heir = assign(rooms, survivors)[room]
    other = ({*survivors} - {heir}).pop()
    relay, feed = Relay(), Feed()
    procs: dict[str, subprocess.Popen[bytes]] = {}
    async with database() as db, serve(relay.handler, "127.0.0.1", 0) as server:
        relay.port = server.sockets[0].getsockname()[1]
        follower = asyncio.create_task(follow(prefix, feed))
        try:
            await asyncio.wait_for(feed.ready.wait(), 10)
            configs = {n: write_config(tmp_path, n, prefix, relay, db, rooms) for n in first}
            for name in first:
                procs[name] = start_agent(tmp_path, name, configs[name])
            owners = assign(rooms, first)
            await until(lambda: all(relay.readers(r) == {owners[r]} for r in rooms), 60,
                        "rooms shared by three agents")  # fmt: skip

            # An after-sales question on the opener's room: one alert, nobody acknowledges it.
            await relay.say(room, "u1", "收到漏液了")
            await until(lambda: any(a["room"] == room for a in feed.alerts), 15, "alert opened")
            [opened] = [a for a in feed.alerts if a["room"] == room]
            alert_id, deadline = opened["alert_id"], opened["deadline"]
            assert (opened["version"], opened["state"]) == (1, "open")
            await until(lambda: book_row(db, alert_id), 10, "entry mirrored to the shared store")
            assert time.time() < deadline - 3, "too slow to test a kill before the deadline"

            procs[opener].send_signal(signal.SIGKILL)
            procs[opener].wait()
            moved = await until(lambda: relay.readers(room) == {heir}, 10, "room taken over")
            assert moved < 10
            await relay.say(room, "u2", "收到漏液了")  # folds into the same alert
            await until(lambda: any(a["state"] == "escalated" for a in feed.of(alert_id)),
                        ACK_SECONDS + 10, "escalation of the same alert")  # fmt: skip
            await until(lambda: any(a["count"] == 2 for a in feed.of(alert_id)), 10,
                        "later comment folded in")  # fmt: skip

            await command(prefix, "ack", {"alert_id": alert_id, "staff": "wang"}, b"ack")
            await until(lambda: feed.replies, 10, "an answer to the ack")
            await asyncio.sleep(2.0)  # room for a second answer, which must not come
            acks = [doc for corr, doc in feed.replies if corr == b"ack"]

            # The opener comes back: it takes the room back, continuing from the shared store.
            procs[opener] = start_agent(tmp_path, opener, configs[opener])
            await until(lambda: relay.readers(room) == {opener}, 30, "room back on its opener")
            await asyncio.sleep(ACK_SECONDS / 2)  # a stale escalation would show up here
            await command(prefix, "resolve", {"alert_id": alert_id, "staff": "wang"}, b"resolve")
            await until(lambda: any(c == b"resolve" for c, _ in feed.replies), 10,
                        "an answer to the resolve")  # fmt: skip
            await asyncio.sleep(2.0)
            resolves = [doc for corr, doc in feed.replies if corr == b"resolve"]
            shared = await book_row(db, alert_id)
        finally:
            await stop_agents(procs)
            follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await follower
            await clear_retained(prefix)

    versions = feed.of(alert_id)
    assert {a["alert_id"] for a in feed.alerts if a["room"] == room} == {alert_id}
    [escalated] = [a for a in versions if a["state"] == "escalated"]
    assert escalated["escalation_level"] == 1
    assert escalated["assignee"] == "wang"  # li was paged by the opener
    assert escalated["updated_at"] >= deadline  # at its deadline, not before
    assert escalated in published(tmp_path, heir, alert_id)
    assert published(tmp_path, other, alert_id) == []
    [ack] = acks
    assert ack["ok"]
    assert (ack["alert"]["alert_id"], ack["alert"]["state"]) == (alert_id, "acked")
    [resolve] = resolves
    assert resolve["ok"]
    assert resolve["alert"]["state"] == "resolved"
    assert resolve["alert"] in published(tmp_path, opener, alert_id)
    # One content per idempotency key, versions only growing, no escalation after the ack.
    by_version: dict[int, set[tuple[Any, ...]]] = {}
    for a in versions:
        by_version.setdefault(a["version"], set()).add(
            (a["state"], a["escalation_level"], a["count"], a["assignee"]))
    assert all(len(v) == 1 for v in by_version.values()), by_version
    states = [a["state"] for a in sorted(versions, key=lambda a: a["version"])]
    assert "escalated" not in states[states.index("acked"):]
    assert states[-1] == "resolved"
    assert shared is not None
    assert (shared["owner"], shared["state"]) == (opener, "resolved")
