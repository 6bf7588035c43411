"""Room sharding: the pure rendezvous assignment and membership, then three real agents."""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiomqtt
import orjson
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

from agent.cluster import (
    Cluster,
    Membership,
    Presence,
    assign,
    parse_presence,
    presence_document,
)
from agent.config import ClusterConfig
from agent.metrics import Metrics
from tests.conftest import ROOT
from tests.loopback import RoomRelay, clear_retained

ROOMS = [f"room{i}" for i in range(2000)]

names = st.text(alphabet="abcdefghij0123456789-", min_size=1, max_size=8)
member_sets = st.sets(names, min_size=1, max_size=8)
room_sets = st.sets(names, min_size=0, max_size=60)


def test_assign_without_members_is_empty() -> None:
    """No live member, no owner (never an owner that is not live)."""
    assert assign(["r1", "r2"], []) == {}


def test_assign_is_deterministic_and_order_free() -> None:
    """Every instance computes the same owners whatever order it learnt the members in."""
    one = assign(ROOMS[:100], ["a", "b", "c"])
    two = assign(reversed(ROOMS[:100]), ["c", "a", "b", "a"])
    assert one == two
    assert set(one.values()) == {"a", "b", "c"}


def test_assign_balances_rooms() -> None:
    """Each of five members gets within 15% of an even share of 2,000 rooms."""
    members = [f"agent-{i}" for i in range(5)]
    owners = assign(ROOMS, members)
    counts = [sum(owner == m for owner in owners.values()) for m in members]
    mean = statistics.mean(counts)
    assert all(abs(c - mean) / mean < 0.15 for c in counts), counts


@given(rooms=room_sets, members=member_sets)
def test_assign_covers_every_room_with_a_member(rooms: set[str], members: set[str]) -> None:
    """Every room gets exactly one owner, and only live members own rooms."""
    owners = assign(rooms, members)
    assert set(owners) == rooms
    assert set(owners.values()) <= members


@settings(max_examples=200)
@given(rooms=room_sets, members=member_sets, newcomer=names)
def test_join_moves_only_rooms_to_the_newcomer(
    rooms: set[str], members: set[str], newcomer: str
) -> None:
    """A joining member takes rooms only for itself; no room moves between the others."""
    before = assign(rooms, members)
    after = assign(rooms, members | {newcomer})
    moved = {r for r in rooms if before[r] != after[r]}
    assert all(after[r] == newcomer for r in moved)


@settings(max_examples=200)
@given(rooms=room_sets, members=member_sets.filter(lambda m: len(m) > 1), data=st.data())
def test_leave_moves_only_the_leavers_rooms(
    rooms: set[str], members: set[str], data: st.DataObject
) -> None:
    """When a member leaves, only its rooms move; the others keep theirs."""
    leaver = data.draw(st.sampled_from(sorted(members)))
    before = assign(rooms, members)
    after = assign(rooms, members - {leaver})
    assert {r for r in rooms if before[r] != after[r]} == {r for r in rooms if before[r] == leaver}


def online(ts: float, *, member: bool = True) -> Presence:
    return Presence(instance="b", state="online", ts=ts, member=member)


def test_membership_follows_presence_and_will() -> None:
    """Online members join; an offline Will or a cleared retained message removes them."""
    book = Membership("a", timeout=5.0)
    assert book.members == {"a"}
    assert book.observe("b", online(100.0), 100.0, retained=False)
    assert not book.observe("b", online(101.0), 101.0, retained=False)
    assert book.members == {"a", "b"}
    offline = Presence(instance="b", state="offline", ts=102.0, member=True)
    assert book.observe("b", offline, 102.0, retained=False)
    assert book.members == {"a"}
    book.observe("c", online(103.0), 103.0, retained=False)
    assert book.observe("c", None, 104.0, retained=False)
    assert book.members == {"a"}


def test_membership_ignores_stale_retained_and_sink_presence() -> None:
    """A dead instance's old retained "online" and a plain sink presence never add members."""
    book = Membership("a", timeout=5.0)
    assert not book.observe("b", online(100.0), 200.0, retained=True)
    assert not book.observe("c", online(200.0, member=False), 200.0, retained=False)
    assert not book.observe("a", online(200.0), 200.0, retained=False)
    assert book.members == {"a"}
    assert book.observe("d", online(198.0), 200.0, retained=True)


def test_membership_times_out_silent_members() -> None:
    """A member not heard from within the timeout is dropped; heartbeats keep it."""
    book = Membership("a", timeout=5.0)
    book.observe("b", online(100.0), 100.0, retained=False)
    book.observe("c", online(100.0), 100.0, retained=False)
    book.observe("c", online(104.0), 104.0, retained=False)
    assert not book.expire(104.0)
    assert book.expire(106.0)
    assert book.members == {"a", "c"}


def test_a_broker_outage_gives_known_members_a_full_timeout_to_speak_again() -> None:
    """Reconnected after an outage: a known member's stale retained word does not drop it, and
    it has the timeout from the reconnect to beat again; one that stays silent goes."""
    book = Membership("a", timeout=5.0)
    book.observe("b", online(100.0), 100.0, retained=False)
    book.observe("c", online(100.0), 100.0, retained=False)
    book.refresh(130.0)  # reconnected after 30 s without heartbeats
    assert not book.observe("b", online(100.0), 130.0, retained=True)
    assert book.members == {"a", "b", "c"}
    assert not book.expire(134.0)
    book.observe("b", online(134.5), 134.5, retained=False)
    assert book.expire(135.5)
    assert book.members == {"a", "b"}


def test_presence_document_round_trips() -> None:
    """The member's presence parses back; junk payloads parse to None."""
    doc = parse_presence(presence_document("a", "online", session="s1", rooms=["r2", "r1"]))
    assert doc is not None
    assert (doc.instance, doc.state, doc.member, doc.session, doc.rooms) == (
        "a", "online", True, "s1", ("r1", "r2"),
    )  # fmt: skip
    sink = parse_presence(b'{"instance": "a", "state": "online", "ts": 1.5}')
    assert sink is not None
    assert not sink.member
    for junk in (b"", b"[1]", b"not json", b'{"state": 1, "ts": 2}'):
        assert parse_presence(junk) is None


# -- three (then four) real agents on loopback ------------------------------------------------

EPISODE_FRAMES = 4  # after-sales questions per episode, FRAME_GAP apart
FRAME_GAP = 0.25
EPISODE_QUIET = 2.5  # longer than quiet_seconds + one aggregation tick: a new alert each time
PUBLISH_GRACE = 0.5  # an instance alive this long after a frame must have published its alert


@dataclass
class Frame:
    room: str
    episode: int
    ts: float
    receivers: frozenset[str]


@dataclass
class Relay(RoomRelay):
    """One websocket server for every room: ``/{room}?agent={instance}``; records who got what."""

    rooms: list[str]
    frames: list[Frame] = field(default_factory=list)

    def owners(self) -> dict[str, set[str]]:
        """Room → instances connected to it now."""
        return {r: {a for a, c in self.clients.get(r, {}).items() if c} for r in self.rooms}

    async def broadcast(self, room: str, offset: float) -> None:
        """Episodes of one after-sales question, each a fresh alert, until cancelled."""
        await asyncio.sleep(offset)
        episode = 0
        while True:
            for _ in range(EPISODE_FRAMES):
                ts = time.time()
                frame = orjson.dumps({"type": "comment", "room": room, "user": f"u{episode}",
                                      "text": "收到漏液了", "ts": ts}).decode()  # fmt: skip
                receivers = {a: set(c) for a, c in self.clients.get(room, {}).items() if c}
                for conns in receivers.values():
                    for ws in conns:
                        with contextlib.suppress(ConnectionClosed):
                            await ws.send(frame)
                self.frames.append(Frame(room, episode, ts, frozenset(receivers)))
                await asyncio.sleep(FRAME_GAP)
            episode += 1
            await asyncio.sleep(EPISODE_QUIET)


def agent_config(tmp: Path, name: str, prefix: str, relay: Relay) -> Path:
    """A config for one instance: all rooms listed, the cluster picks this one's share."""
    sources = [{"type": "json_ws", "room": r, "url": f"ws://127.0.0.1:{relay.port}/{r}?agent={name}",
                "reconnect": {"initial": 0.1, "maximum": 0.5}} for r in relay.rooms]  # fmt: skip
    config = {
        "instance": name,
        "sources": sources,
        "sinks": [{"type": "jsonl", "path": str(tmp / f"{name}.jsonl")},
                  {"type": "mqtt", "prefix": prefix, "commands": False, "will_delay": 1}],
        "outbox": {"path": str(tmp / f"{name}.db")},
        "aggregate": {"quiet_seconds": 1.0, "update_interval": 1.0, "spike_min_count": 100000},
        "pipeline": {"shutdown_timeout": 5.0},
        # The cluster on its own prefix, so the sink's presence cannot mask the cluster's Will.
        "cluster": {"enabled": True, "prefix": f"{prefix}/cluster", "heartbeat_seconds": 0.5,
                    "member_timeout_seconds": 2.0, "will_delay": 1, "handover_seconds": 0.5,
                    "settle_seconds": 0.5},
    }  # fmt: skip
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def start_agent(tmp: Path, name: str, prefix: str, relay: Relay) -> subprocess.Popen[bytes]:
    config = agent_config(tmp, name, prefix, relay)
    env = {**os.environ, "DANMAKU_HASH_KEY": "cluster-test-hash-key-0123456789"}
    log = (tmp / f"{name}.log").open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "agent", "run", "--config", str(config), "--log-json"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip


async def wait_owners(relay: Relay, expected: dict[str, str], within: float) -> float:
    """Seconds until every room is read by exactly its expected owner."""
    started = time.monotonic()
    want = {room: {owner} for room, owner in expected.items()}
    while (elapsed := time.monotonic() - started) < within:
        if relay.owners() == want:
            return elapsed
        await asyncio.sleep(0.05)
    raise AssertionError(f"rooms not settled within {within}s: {relay.owners()} != {want}")


async def collect_alerts(prefix: str, out: list[dict[str, Any]], ready: asyncio.Event) -> None:
    async with aiomqtt.Client("127.0.0.1", 1883, protocol=aiomqtt.ProtocolVersion.V5) as sub:
        await sub.subscribe(f"{prefix}/v1/alerts/+", qos=1)
        ready.set()
        async for message in sub.messages:
            assert isinstance(message.payload, bytes)
            out.append(orjson.loads(message.payload))


async def stop_agents(procs: dict[str, subprocess.Popen[bytes]]) -> None:
    """SIGTERM and wait, keeping the loop (and so the relay's close handshakes) running."""
    for proc in procs.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs.values():
        try:
            await asyncio.to_thread(proc.wait, 15)
        except subprocess.TimeoutExpired:
            proc.kill()
            await asyncio.to_thread(proc.wait, 5)


@pytest.mark.broker
@pytest.mark.slow
@pytest.mark.timeout(120)
async def test_three_agents_share_rooms_survive_a_kill_and_rebalance_on_join(
    tmp_path: Path,
) -> None:
    """All rooms covered; a SIGKILLed agent's rooms move within 10 s; a new one takes its share;
    every episode an instance had time to publish reached MQTT, duplicates with one key."""
    prefix = f"t{uuid.uuid4().hex[:10]}"
    relay = Relay(rooms=[f"room{i}" for i in range(12)])
    # Names unique to the run: MQTT client ids derive from them, and the broker is shared.
    first = [f"{n}-{prefix}" for n in "abc"]
    start = assign(relay.rooms, first)
    victim = max(first, key=lambda m: sum(o == m for o in start.values()))
    survivors = [m for m in first if m != victim]
    newcomer = next(n for n in (f"{x}-{prefix}" for x in "defgh")
                    if n in assign(relay.rooms, [*survivors, n]).values())  # fmt: skip
    received: list[dict[str, Any]] = []
    ready = asyncio.Event()
    procs: dict[str, subprocess.Popen[bytes]] = {}
    died: dict[str, float] = {}
    async with serve(relay.handler, "127.0.0.1", 0) as server:
        relay.port = server.sockets[0].getsockname()[1]
        subscriber = asyncio.create_task(collect_alerts(prefix, received, ready))
        senders = [asyncio.create_task(relay.broadcast(r, 0.29 * i))
                   for i, r in enumerate(relay.rooms)]  # fmt: skip
        try:
            await asyncio.wait_for(ready.wait(), 10)
            for name in first:
                procs[name] = start_agent(tmp_path, name, prefix, relay)
            await wait_owners(relay, start, within=30)
            await asyncio.sleep(4)

            procs[victim].send_signal(signal.SIGKILL)
            died[victim] = time.time()
            moved = await wait_owners(relay, assign(relay.rooms, survivors), within=10)
            await asyncio.sleep(4)

            procs[newcomer] = start_agent(tmp_path, newcomer, prefix, relay)
            joined = assign(relay.rooms, [*survivors, newcomer])
            assert await wait_owners(relay, joined, within=10) < 10
            await asyncio.sleep(4)
        finally:
            for task in senders:
                task.cancel()
            await asyncio.sleep(2.5)  # let the last alerts out
            await stop_agents(procs)
            subscriber.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await subscriber
            await clear_retained(prefix)
    assert moved < 10
    assert {m for m, p in procs.items() if p.returncode == 0} == {*survivors, newcomer}

    first_seen = {(a["room"], a["first_seen"]) for a in received if a["version"] == 1}
    frames: dict[tuple[str, int], list[Frame]] = {}
    for frame in relay.frames:
        frames.setdefault((frame.room, frame.episode), []).append(frame)
    lost = []
    for (room, episode), group in frames.items():
        had_time = [
            f
            for f in group
            if any(f.ts + PUBLISH_GRACE < died.get(r, math.inf) for r in f.receivers)
        ]
        alerted = any((room, f.ts) in first_seen for f in group)  # fmt: skip
        if had_time and not alerted:
            lost.append((room, episode, [sorted(f.receivers) for f in group]))
    assert not lost, lost
    assert len(first_seen) >= len(relay.rooms) * 4
    ids: dict[tuple[str, float], set[str]] = {}
    for a in received:
        ids.setdefault((a["room"], a["first_seen"]), set()).add(a["alert_id"])
    assert all(len(v) == 1 for v in ids.values())


class IdleSource:
    """A room source that only idles (the cluster starts and stops it)."""

    finite = False

    def __init__(self, room: str) -> None:
        self.room = room
        self.name = f"idle:{room}"

    async def run(self, ingress: object) -> None:
        await asyncio.Event().wait()


class Control:
    """The pipeline's add/remove as the cluster sees it, recording what runs."""

    def __init__(self) -> None:
        self.running: dict[str, object] = {}

    @property
    def source_names(self) -> list[str]:
        return list(self.running)

    def add_source(self, source: IdleSource) -> None:
        self.running[source.name] = source

    def remove_source(self, name: str) -> None:
        self.running.pop(name, None)


async def retained_presence(prefix: str, member: str) -> dict[str, Any]:
    async with aiomqtt.Client("127.0.0.1", 1883, protocol=aiomqtt.ProtocolVersion.V5) as client:
        await client.subscribe(f"{prefix}/v1/agents/{member}/presence")
        async with asyncio.timeout(5):
            async for message in client.messages:
                assert isinstance(message.payload, bytes)
                doc: dict[str, Any] = orjson.loads(message.payload)
                return doc
    raise AssertionError("no retained presence")


@pytest.mark.broker
async def test_stale_online_without_a_will_times_out_and_clean_stop_says_offline() -> None:
    """A retained "online" that never beats again is dropped after the timeout and its rooms
    are taken; a reload adds and removes rooms; a stopped member leaves "offline" retained."""
    prefix = f"t{uuid.uuid4().hex[:10]}"
    rooms = [f"r{i}" for i in range(12)]
    assert "ghost" in assign(rooms, ["ghost", "me"]).values()
    try:
        ghost = {"instance": "ghost", "state": "online", "ts": time.time(), "member": True}
        async with aiomqtt.Client("127.0.0.1", 1883, protocol=aiomqtt.ProtocolVersion.V5) as client:
            await client.publish(f"{prefix}/v1/agents/ghost/presence", orjson.dumps(ghost), qos=1,
                                 retain=True)  # fmt: skip
        config = ClusterConfig(enabled=True, prefix=prefix, heartbeat_seconds=0.3, will_delay=1,
                               member_timeout_seconds=1.5, settle_seconds=0.3)  # fmt: skip
        metrics = Metrics()
        cluster = Cluster(config, "me", [IdleSource(r) for r in rooms], metrics)
        control = Control()
        cluster.bind(control)
        runner = asyncio.create_task(cluster.run(None))  # type: ignore[arg-type]
        try:
            mine = {r for r, m in assign(rooms, ["ghost", "me"]).items() if m == "me"}
            async with asyncio.timeout(5):
                while cluster.members != ["ghost", "me"]:  # noqa: ASYNC110 - polling state
                    await asyncio.sleep(0.02)
            await asyncio.sleep(0.1)
            assert set(control.running) == {f"idle:{r}" for r in mine}
            assert metrics.registry.get_sample_value("danmaku_cluster_members") == 2
            async with asyncio.timeout(5):
                while cluster.members != ["me"] or len(control.running) < len(rooms):  # noqa: ASYNC110
                    await asyncio.sleep(0.02)
            assert metrics.registry.get_sample_value("danmaku_cluster_rooms_owned") == len(rooms)
            assert metrics.registry.get_sample_value("danmaku_cluster_rebalances_total") == 1
            online = await retained_presence(prefix, "me")
            assert (online["state"], online["member"], len(online["rooms"])) == ("online", True, 12)
            # A reload: r0 removed, r99 added; the rooms still listed keep their running source.
            kept = control.running["idle:r1"]
            cluster.set_sources([IdleSource(r) for r in [*rooms[1:], "r99"]])
            wanted = {f"idle:{r}" for r in [*rooms[1:], "r99"]}
            async with asyncio.timeout(5):
                while set(control.running) != wanted:  # noqa: ASYNC110 - polling state
                    await asyncio.sleep(0.02)
            assert control.running["idle:r1"] is kept
        finally:
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner
        assert (await retained_presence(prefix, "me"))["state"] == "offline"
    finally:
        await clear_retained(prefix)  # also after a failure, leave the broker clean


class Preparing:
    """A room listener that holds gained rooms until ``go`` is set; notes what it saw."""

    def __init__(self, cluster: Cluster, control: Control) -> None:
        self.cluster = cluster
        self.control = control
        self.go = asyncio.Event()
        self.gained: list[list[str]] = []
        self.ready: list[list[str]] = []
        self.read_meanwhile: set[str] | None = None
        self.owned_meanwhile: list[bool] = []

    async def rooms_gained(self, rooms: list[str]) -> None:
        self.gained.append(rooms)
        self.read_meanwhile = set(self.control.running)
        self.owned_meanwhile = [self.cluster.owns(r) for r in rooms]
        await self.go.wait()

    def rooms_ready(self, rooms: list[str]) -> None:
        self.ready.append(rooms)


async def _polled(predicate: Any, seconds: float = 5.0) -> None:
    async with asyncio.timeout(seconds):
        while not predicate():  # noqa: ASYNC110 - polling state
            await asyncio.sleep(0.02)


@pytest.mark.broker
@pytest.mark.parametrize("ready", ["listener done", "adopt_timeout"])
async def test_gained_rooms_are_read_and_announced_only_once_ready(ready: str) -> None:
    """While the listener loads a gained room's alerts, the room is neither read, owned nor
    listed in presence (its previous owner reads on); then it is, also past adopt_timeout;
    once stopped, the instance owns no room."""
    prefix = f"t{uuid.uuid4().hex[:10]}"
    rooms = [f"r{i}" for i in range(6)]
    timeout = 30.0 if ready == "listener done" else 0.5
    config = ClusterConfig(enabled=True, prefix=prefix, heartbeat_seconds=0.3, will_delay=1,
                           member_timeout_seconds=1.5, settle_seconds=0.3,
                           adopt_timeout=timeout)  # fmt: skip
    me = f"me-{prefix}"  # unique: the MQTT client id derives from it
    cluster = Cluster(config, me, [IdleSource(r) for r in rooms], Metrics())
    control = Control()
    cluster.bind(control)
    listener = Preparing(cluster, control)
    cluster.listen(listener)
    runner = asyncio.create_task(cluster.run(None))  # type: ignore[arg-type]
    try:
        await _polled(lambda: listener.gained)
        await asyncio.sleep(0.2)
        assert listener.gained == [rooms]
        assert listener.read_meanwhile == set()
        assert listener.owned_meanwhile == [False] * len(rooms)
        assert not control.running
        assert (await retained_presence(prefix, me))["rooms"] == []
        assert cluster.assigned
        assert cluster.leads()
        assert cluster.owns("replayed-room")  # not sharded: every instance's own
        assert not cluster.shares("replayed-room")
        if ready == "listener done":
            listener.go.set()
        await _polled(lambda: len(control.running) == len(rooms))
        assert listener.ready == [rooms]
        assert all(cluster.owns(r) and cluster.reads(r) for r in rooms)
        await asyncio.sleep(0.2)
        assert (await retained_presence(prefix, me))["rooms"] == rooms
    finally:
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner
        await clear_retained(prefix)
    assert not cluster.owns("r0")  # stopped: no timer of a room fires while draining
