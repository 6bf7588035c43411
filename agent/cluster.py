"""Room sharding across agent instances over MQTT presence, by rendezvous hashing.

    every instance ── retained presence, heartbeat, Last Will ──► {p}/v1/agents/{id}/presence
        ▲                                                               │
        └──────────── subscribes to {p}/v1/agents/+/presence ◄──────────┘
    live members ── assign(rooms, members) ──► the rooms this instance reads

Each instance re-publishes its presence (retained, with a ``ts`` heartbeat) every
``heartbeat_seconds``. A member leaves the live set when its presence says ``offline`` (a
clean stop, or the broker's Last Will ``will_delay`` seconds after a crash), when its
retained presence is cleared, or when nothing was heard from it for
``member_timeout_seconds`` (a dead machine, or a stale retained "online" left without a Will).
Presence documents without ``"member": true`` (the MQTT sink's own) never add a member.

Rooms go to the member with the highest ``score(room, member)`` (HRW): when a member joins,
only the rooms it wins move to it; when one leaves, only its rooms move. Rooms won are
started at once. A room lost to a joining member is read on until the newcomer's presence
lists it, then ``handover_seconds`` longer, so a hand-over overlaps instead of leaving a gap.
All sources of one room stay together (comments and the host's speech relay meet in one
aggregator). Sources without a single room (replay, push) are not sharded and run on every
instance.

While the broker is unreachable the assignment is frozen: nobody's rooms are dropped and
nobody is timed out, so an outage does not orphan rooms.

A ``RoomListener`` (the alert side, with a shared store) is told of rooms gained before
they are read, so their open alerts are loaded first; until that is done (or
``adopt_timeout`` passed) a gained room is neither owned (``owns``) nor announced in
presence, so its previous owner keeps reading it meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ssl
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

import aiomqtt
import orjson
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from agent.backoff import Backoff
from agent.config import ClusterConfig, secret_from_env
from agent.logs import get_logger
from agent.metrics import Metrics
from agent.ratelimit import OutageLog
from agent.sinks.mqtt import Topics, topic_part
from agent.sources.base import Ingress, Source

_log = get_logger("agent.cluster")


# -- pure core ------------------------------------------------------------------------------


def score(room: str, member: str) -> int:
    """The rendezvous weight of ``member`` for ``room``; the same on every host and run."""
    digest = hashlib.blake2b(f"{member}\x00{room}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def assign(rooms: Iterable[str], members: Iterable[str]) -> dict[str, str]:
    """Room → owning member by highest rendezvous weight; empty when there is no member."""
    live = sorted(set(members))
    if not live:
        return {}
    return {room: max(live, key=lambda m: (score(room, m), m)) for room in set(rooms)}


@dataclass(frozen=True, slots=True)
class Presence:
    """One presence document as received."""

    instance: str
    state: str
    ts: float
    member: bool = False
    session: str = ""
    rooms: tuple[str, ...] = ()


def parse_presence(payload: bytes | bytearray) -> Presence | None:
    """The presence document of a payload; None when it is empty or not a presence object."""
    if not payload:
        return None
    try:
        doc = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(doc, dict):
        return None
    state, ts = doc.get("state"), doc.get("ts")
    if not isinstance(state, str) or not isinstance(ts, int | float):
        return None
    rooms = doc.get("rooms")
    return Presence(
        instance=str(doc.get("instance", "")),
        state=state,
        ts=float(ts),
        member=doc.get("member") is True,
        session=str(doc.get("session", "")),
        rooms=tuple(str(r) for r in rooms) if isinstance(rooms, list) else (),
    )


def presence_document(
    instance: str, state: str, *, session: str, rooms: Iterable[str] = ()
) -> bytes:
    """The presence JSON of a cluster member (a superset of the MQTT sink's)."""
    return orjson.dumps({"instance": instance, "state": state, "ts": time.time(),
                         "member": True, "session": session,
                         "rooms": sorted(rooms)})  # fmt: skip


class Membership:
    """The live member set, folded from presence documents (pure: times are passed in)."""

    def __init__(self, me: str, timeout: float) -> None:
        self.me = me
        self.timeout = timeout
        self._seen: dict[str, float] = {}

    @property
    def members(self) -> frozenset[str]:
        """Live members, this instance included."""
        return frozenset([self.me, *self._seen])

    def observe(self, member: str, doc: Presence | None, now: float, *, retained: bool) -> bool:
        """Fold in one presence message; True when the member set changed.

        A retained document is dated by its own ``ts`` (it may be a dead instance's last
        word); a live one by its arrival.
        """
        if member == self.me:
            return False
        if doc is None or doc.state != "online":
            return self._seen.pop(member, None) is not None
        if not doc.member:
            return False
        seen = min(now, doc.ts) if retained else now
        if now - seen > self.timeout:
            if retained and member in self._seen:
                # Its last word from before our reconnect (nobody could beat meanwhile):
                # its next heartbeat, or its absence, decides.
                return False
            return self._seen.pop(member, None) is not None
        joined = member not in self._seen
        self._seen[member] = max(seen, self._seen.get(member, seen))
        return joined

    def refresh(self, now: float) -> None:
        """Count every known member as heard from ``now``: after a broker outage, which
        stopped everybody's heartbeat, each gets a full timeout to speak again."""
        for member in self._seen:
            self._seen[member] = now

    def expire(self, now: float) -> bool:
        """Drop members not heard from within the timeout; True when any was dropped."""
        stale = [m for m, seen in self._seen.items() if now - seen > self.timeout]
        for member in stale:
            del self._seen[member]
        return bool(stale)


def split_sources(sources: Sequence[Source]) -> tuple[dict[str, list[Source]], list[Source]]:
    """Sources grouped by room (sharded), and the ones without a single room (not sharded)."""
    by_room: dict[str, list[Source]] = {}
    unsharded: list[Source] = []
    for source in sources:
        room = getattr(source, "room", None)
        if isinstance(room, str) and room and not source.finite:
            by_room.setdefault(room, []).append(source)
        else:
            unsharded.append(source)
    return by_room, unsharded


# -- the I/O shell --------------------------------------------------------------------------


class RoomListener(Protocol):
    """Told of rooms assigned to this instance before their sources start."""

    async def rooms_gained(self, rooms: list[str]) -> None:
        """Get ready to own ``rooms``; awaited at most ``adopt_timeout`` seconds."""

    def rooms_ready(self, rooms: list[str]) -> None:
        """``rooms`` are owned from now on (ready, or past the timeout)."""


class SourceControl(Protocol):
    """What the cluster needs of the pipeline: start and stop sources while it runs."""

    @property
    def source_names(self) -> list[str]:
        """Names of the sources currently running."""

    def add_source(self, source: Source) -> None:
        """Start a source."""

    def remove_source(self, name: str) -> None:
        """Stop a source."""


def cluster_client_args(config: ClusterConfig, identifier: str) -> dict[str, Any]:
    """Keyword arguments of ``aiomqtt.Client`` for the cluster connection."""
    parts = urlsplit(config.url)
    tls = parts.scheme == "mqtts"
    # The Will is only delayed while the session outlives the connection.
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = config.will_delay
    return {
        "hostname": parts.hostname or "127.0.0.1",
        "port": parts.port or (8883 if tls else 1883),
        "username": config.username,
        "password": secret_from_env(config.password_env, where="cluster.password_env"),
        "identifier": identifier,
        "protocol": aiomqtt.ProtocolVersion.V5,
        "timeout": config.timeout,
        "keepalive": max(2, round(config.member_timeout_seconds)),
        "properties": props,
        "tls_context": ssl.create_default_context() if tls else None,
    }


@dataclass(slots=True)
class _Release:
    to: str  # the member the room goes to
    until: float  # monotonic time to stop reading it


@dataclass
class _State:
    owned: set[str] = field(default_factory=set)
    releasing: dict[str, _Release] = field(default_factory=dict)
    claims: dict[str, frozenset[str]] = field(default_factory=dict)  # member → its rooms
    started: dict[str, Source] = field(default_factory=dict)  # source name → source
    members: frozenset[str] = frozenset()
    preparing: set[str] = field(default_factory=set)  # gained, the listener not done yet
    assigned: bool = False  # an assignment was applied since start


class Cluster:
    """Keeps this instance's share of the rooms running; itself a never-ending source.

    The pipeline runs it like a source (so an instance that owns no room stays up);
    ``bind`` hands it the pipeline whose sources it starts and stops.
    """

    finite = False

    def __init__(
        self, config: ClusterConfig, instance: str, sources: Sequence[Source], metrics: Metrics
    ) -> None:
        self.config = config
        self.name = "cluster"
        self.instance = topic_part(instance)
        self.topics = Topics(config.prefix)
        self.metrics = metrics
        self.session = uuid.uuid4().hex[:12]
        self.membership = Membership(self.instance, config.member_timeout_seconds)
        self._by_room, self.unsharded = split_sources(sources)
        self._control: SourceControl | None = None
        self._listener: RoomListener | None = None
        self._state = _State()
        self._wake = asyncio.Event()
        self._heal = asyncio.Event()
        self._connected = False
        self._settled = False
        self._args = cluster_client_args(config, f"danmaku-{self.instance}-cluster")
        self._tick = min(0.5, config.heartbeat_seconds / 4)

    # -- the pipeline side ------------------------------------------------------------------

    def bind(self, control: SourceControl) -> None:
        """The pipeline whose room sources follow the assignment."""
        self._control = control

    def listen(self, listener: RoomListener) -> None:
        """Who gets ready for gained rooms before they are read (the alert side)."""
        self._listener = listener

    @property
    def rooms(self) -> list[str]:
        """Every sharded room of the config."""
        return sorted(self._by_room)

    @property
    def owned(self) -> list[str]:
        """Rooms assigned to this instance now (those being handed over excluded)."""
        return sorted(self._state.owned)

    @property
    def members(self) -> list[str]:
        """The live members as last applied."""
        return sorted(self._state.members)

    @property
    def assigned(self) -> bool:
        """Whether an assignment has been applied since this instance started."""
        return self._state.assigned

    def owns(self, room: str) -> bool:
        """Whether this instance answers for ``room`` now: assigned here and ready.

        Rooms the cluster does not shard (replay, push) are every instance's own.
        """
        state = self._state
        return room not in self._by_room or (room in state.owned and room not in state.preparing)

    def shares(self, room: str) -> bool:
        """Whether ``room`` is sharded, so it can move to another instance."""
        return room in self._by_room

    def reads(self, room: str) -> bool:
        """Whether ``room`` is read here: owned, being got ready, or being handed over."""
        return (
            room not in self._by_room or room in self._state.owned or room in self._state.releasing
        )

    def leads(self) -> bool:
        """Whether this is the live member with the smallest name (answers for nobody's)."""
        return self.instance == min(self._state.members, default=self.instance)

    def manages(self, name: str) -> bool:
        """Whether a running source of this name is the cluster's to start and stop."""
        return (
            name == self.name
            or name in self._state.started
            or any(s.name == name for group in self._by_room.values() for s in group)
        )

    def set_sources(self, sources: Sequence[Source]) -> list[Source]:
        """New sources from a reload; returns the unsharded ones (the caller runs them).

        A room source already running under the same name keeps running undisturbed.
        """
        running = self._state.started
        self._by_room, self.unsharded = split_sources([running.get(s.name, s) for s in sources])
        self._rebalance()
        return list(self.unsharded)

    # -- assignment -------------------------------------------------------------------------

    def _rebalance(self) -> None:
        state = self._state
        members = self.membership.members
        if not self._settled:
            return
        if members != state.members:
            if state.members:
                self.metrics.cluster_rebalances.inc()
            _log.info("cluster membership", instance=self.instance, members=sorted(members),
                      joined=sorted(members - state.members),
                      left=sorted(state.members - members))  # fmt: skip
            state.members = members
        assignment = assign(self._by_room, members)
        owned = {room for room, member in assignment.items() if member == self.instance}
        gained, lost = owned - state.owned, state.owned - owned
        now = time.monotonic()
        for room in gained:
            was_read = state.releasing.pop(room, None) is not None
            if self._listener is not None and not was_read:
                state.preparing.add(room)
        for room in lost:
            to = assignment.get(room)
            if to is None or room in state.preparing:
                state.preparing.discard(room)
                continue  # removed from the config, or never read: stopped at once
            # Read on until the new owner says it reads the room too (or it had time to).
            claimed = room in state.claims.get(to, frozenset())
            wait = self.config.handover_seconds if claimed else self.config.member_timeout_seconds
            state.releasing[room] = _Release(to, now + wait)
        state.owned = owned
        state.assigned = True
        self.metrics.cluster_members.set(len(members))
        self.metrics.cluster_rooms_owned.set(len(owned))
        if gained or lost:
            _log.info("rooms reassigned", instance=self.instance, gained=sorted(gained),
                      lost=sorted(lost), owned=len(owned))  # fmt: skip
            self._heal.set()  # announce the new room list at once
        self._wake.set()

    def _apply(self, now: float) -> None:
        """Start the sources of owned rooms; stop those of rooms gone or handed over."""
        control, state = self._control, self._state
        if control is None:
            return
        for room, release in list(state.releasing.items()):
            if now >= release.until or room not in self._by_room:
                del state.releasing[room]
        reading = (state.owned - state.preparing) | set(state.releasing)
        wanted = {s.name: s for r in reading for s in self._by_room.get(r, [])}
        running = set(control.source_names)
        for name in list(state.started):
            if name not in running:
                del state.started[name]
            elif name not in wanted:
                control.remove_source(name)
        for name, source in wanted.items():
            # A source still stopping keeps its name until it is done; start it after.
            if name not in running:
                control.add_source(source)
                state.started[name] = source

    # -- MQTT -------------------------------------------------------------------------------

    def _member_of(self, topic: str) -> str | None:
        head, tail = f"{self.topics.prefix}/v1/agents/", "/presence"
        if topic.startswith(head) and topic.endswith(tail):
            return topic[len(head) : -len(tail)] or None
        return None

    def _on_message(self, message: aiomqtt.Message) -> None:
        member = self._member_of(str(message.topic))
        if member is None or not isinstance(message.payload, bytes | bytearray):
            return
        doc = parse_presence(message.payload)
        if member == self.instance:
            if doc is None or doc.state != "online" or doc.session != self.session:
                if doc is not None and doc.member and doc.session and not message.retain:
                    _log.warning("another process announces this instance name",
                                 instance=self.instance, session=doc.session)  # fmt: skip
                self._heal.set()  # our presence was overwritten: say again that we live
            return
        claims = frozenset(doc.rooms) if doc is not None and doc.state == "online" else frozenset()
        self._state.claims[member] = claims
        handover = time.monotonic() + self.config.handover_seconds
        for room, release in self._state.releasing.items():
            if release.to == member and room in claims:
                release.until = min(release.until, handover)
        if self.membership.observe(member, doc, time.time(), retained=message.retain):
            self._rebalance()

    def _presence(self, state: str) -> bytes:
        # Only rooms read here: the previous owner reads on until it sees them listed.
        rooms = self._state.owned - self._state.preparing
        return presence_document(self.instance, state, session=self.session, rooms=rooms)

    def _will(self) -> aiomqtt.Will:
        props = Properties(PacketTypes.WILLMESSAGE)  # type: ignore[no-untyped-call]
        props.WillDelayInterval = self.config.will_delay
        return aiomqtt.Will(self.topics.presence(self.instance), self._presence("offline"),
                            qos=1, retain=True, properties=props)  # fmt: skip

    async def _heartbeat(self, client: aiomqtt.Client) -> None:
        topic = self.topics.presence(self.instance)
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.config.heartbeat_seconds):
                    await self._heal.wait()
            self._heal.clear()
            with contextlib.suppress(aiomqtt.MqttError):
                await client.publish(topic, self._presence("online"), qos=1, retain=True,
                                     timeout=self.config.timeout)  # fmt: skip
            await asyncio.sleep(0.1)  # two processes under one name must not spin

    async def _settle(self) -> None:
        await asyncio.sleep(self.config.settle_seconds)
        self._settled = True
        self._rebalance()

    async def _session(self, client: aiomqtt.Client) -> None:
        topic = self.topics.presence(self.instance)
        # The outage froze the membership; a restarted broker may have lost everybody's
        # retained presence, and the others may reconnect later than we do.
        self.membership.refresh(time.time())
        await client.subscribe(f"{self.topics.prefix}/v1/agents/+/presence", qos=1)
        await client.publish(topic, self._presence("online"), qos=1, retain=True)
        self._connected = True
        # Frozen until the others' retained presence is in again (no timeouts before).
        self._settled = False
        _log.info("cluster connected", instance=self.instance, url=self.config.url,
                  rooms=len(self._by_room))  # fmt: skip
        helpers = [asyncio.create_task(self._heartbeat(client), name="cluster.heartbeat"),
                   asyncio.create_task(self._settle(), name="cluster.settle")]  # fmt: skip
        try:
            async for message in client.messages:
                self._on_message(message)
        except asyncio.CancelledError:
            # A clean stop sends no Will: say goodbye ourselves.
            with contextlib.suppress(aiomqtt.MqttError):
                await client.publish(topic, self._presence("offline"), qos=1, retain=True,
                                     timeout=self.config.timeout)  # fmt: skip
            raise
        finally:
            self._connected = False
            for helper in helpers:
                helper.cancel()

    async def _connection(self) -> None:
        # Retried at least three times per member timeout: after a broker restart every
        # member must be back before the others give up on it.
        backoff = Backoff(0.2, max(0.5, self.config.member_timeout_seconds / 3))
        outage = OutageLog(_log)
        while True:
            started = time.monotonic()
            try:
                async with aiomqtt.Client(**self._args, will=self._will()) as client:
                    outage.recovered("cluster connection back", instance=self.instance)
                    await self._session(client)
                problem = "disconnected"
            except aiomqtt.MqttError as exc:
                problem = str(exc)
            if time.monotonic() - started > 10.0:
                backoff.reset()
            outage.failed("cluster connection lost; rooms frozen; reconnecting",
                          instance=self.instance, error=problem)  # fmt: skip
            await asyncio.sleep(backoff.next_delay())

    async def _reconcile(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._tick):
                    await self._wake.wait()
            self._wake.clear()
            if self._connected and self._settled and self.membership.expire(time.time()):
                self._rebalance()
            await self._prepare()
            self._apply(time.monotonic())

    async def _prepare(self) -> None:
        """Let the listener get ready for gained rooms (load their open alerts), bounded."""
        state = self._state
        rooms = sorted(state.preparing)
        if not rooms or self._listener is None:
            return
        started = time.monotonic()
        try:
            async with asyncio.timeout(self.config.adopt_timeout):
                await self._listener.rooms_gained(rooms)
        except TimeoutError:
            _log.warning("gained rooms not ready in time; reading them anyway", rooms=rooms,
                         timeout=self.config.adopt_timeout)  # fmt: skip
        except Exception:  # the rooms must be read whatever the alert side's trouble
            _log.exception("getting ready for gained rooms failed; reading them anyway",
                           rooms=rooms)  # fmt: skip
        state.preparing.difference_update(rooms)
        self._listener.rooms_ready(rooms)
        _log.info("gained rooms ready", instance=self.instance, rooms=rooms,
                  seconds=round(time.monotonic() - started, 3))  # fmt: skip
        self._heal.set()  # announce them: their previous owner may stop reading

    async def run(self, ingress: Ingress) -> None:
        """Announce, follow the membership and keep the owned rooms running, until cancelled."""
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self._connection(), name="cluster.connection")
                tg.create_task(self._reconcile(), name="cluster.reconcile")
        finally:
            # Stopped ("offline" is out): the others own these rooms now, so no timer of
            # theirs fires here while the pipeline drains.
            self._state.owned.clear()
            self._state.releasing.clear()
