"""Alerts over MQTT 5 at QoS 1, with retained room status and agent presence.

Topics (``{p}`` is the configured prefix):

    {p}/v1/alerts/{team}              every alert version routed to the team
    {p}/v1/staff/{staff_id}/alerts    the version, again, for the person it is assigned to
    {p}/v1/rooms/{room}/status        retained: open alerts of the room by severity
    {p}/v1/agents/{instance}/presence retained: online/offline; the Last Will (sent after
                                      ``will_delay`` seconds, so a quick reconnect is silent)

Every alert message carries Message Expiry (stale alerts are not replayed to a client that
comes back hours later) and the user property ``idempotency-key`` = ``alert_id:version``;
consumers are idempotent on it. The connection lives in a background task that reconnects
with backoff; ``deliver`` raises a retryable ``DeliveryError`` while it is down, so the
durable outbox keeps the version and retries.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
import time
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit

import aiomqtt
import orjson
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from agent.backoff import Backoff
from agent.config import MqttSinkConfig, secret_from_env
from agent.errors import DeliveryError
from agent.events import SEVERITIES, Alert
from agent.logs import get_logger
from agent.ratelimit import OutageLog

_log = get_logger("agent.sinks.mqtt")


def topic_part(value: str) -> str:
    """A safe single topic level: no separators or wildcards from room or staff ids."""
    cleaned = "".join("_" if ch in "/+#\x00" else ch for ch in value.strip())
    return cleaned or "_"


def client_args(config: MqttSinkConfig, identifier: str) -> dict[str, Any]:
    """Keyword arguments of ``aiomqtt.Client`` for a config (shared with the command reader)."""
    parts = urlsplit(config.url)
    tls = parts.scheme == "mqtts"
    password = secret_from_env(config.password_env, where="sinks.mqtt.password_env")
    return {
        "hostname": parts.hostname or "127.0.0.1",
        "port": parts.port or (8883 if tls else 1883),
        "username": config.username,
        "password": password,
        "identifier": identifier,
        "protocol": aiomqtt.ProtocolVersion.V5,
        "timeout": config.timeout,
        "tls_context": ssl.create_default_context() if tls else None,
    }


class Topics:
    """The DESIGN topic names under one prefix."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix.rstrip("/")

    def team(self, team: str | None) -> str:
        """Alerts of a team (``unrouted`` when routing gave none)."""
        return f"{self.prefix}/v1/alerts/{topic_part(team or 'unrouted')}"

    def staff(self, staff: str) -> str:
        """Alerts assigned to one person."""
        return f"{self.prefix}/v1/staff/{topic_part(staff)}/alerts"

    def room(self, room: str) -> str:
        """A room's retained status."""
        return f"{self.prefix}/v1/rooms/{topic_part(room)}/status"

    def presence(self, instance: str) -> str:
        """An agent's retained presence."""
        return f"{self.prefix}/v1/agents/{topic_part(instance)}/presence"

    def commands(self) -> str:
        """Every command topic (subscription filter)."""
        return f"{self.prefix}/v1/commands/+"


def presence_payload(instance: str, state: str) -> bytes:
    """The presence JSON."""
    return orjson.dumps({"instance": instance, "state": state, "ts": time.time()})


class RoomStatus:
    """Open alerts per room, from the versions delivered (pure bookkeeping)."""

    def __init__(self) -> None:
        self.rooms: dict[str, dict[str, Alert]] = {}

    def seed(self, alerts: list[Alert]) -> None:
        """Start from the open alerts of a previous run (restored by the alert book)."""
        for alert in alerts:
            if alert.state != "resolved":
                self.rooms.setdefault(alert.room, {})[alert.alert_id] = alert

    def update(self, alert: Alert) -> dict[str, Any]:
        """Fold in one version; returns the room's status document."""
        room = self.rooms.setdefault(alert.room, {})
        if alert.state == "resolved":
            room.pop(alert.alert_id, None)
        else:
            room[alert.alert_id] = alert
        return self.status(alert.room)

    def status(self, room: str) -> dict[str, Any]:
        """The retained status document of a room."""
        alerts = self.rooms.get(room, {}).values()
        by_severity = {s: sum(a.severity == s for a in alerts) for s in SEVERITIES}
        unacked = sum(a.state in ("open", "escalated") for a in alerts)
        return {"room": room, "open": len(alerts), "unacked": unacked,
                "by_severity": by_severity, "ts": time.time()}  # fmt: skip


class MqttSink:
    """Publishes alert versions; keeps the connection up in the background."""

    notifies = True

    def __init__(self, config: MqttSinkConfig, *, instance: str | None = None, **_: Any) -> None:
        self.config = config
        self.name = config.name or "mqtt"
        self.instance = instance or os.uname().nodename
        self.topics = Topics(config.prefix)
        self.status = RoomStatus()
        self._client: aiomqtt.Client | None = None
        self._connected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._entered = False
        self._outage = OutageLog(_log)
        # Resolved now so a missing password variable fails at startup, not in the background.
        identifier = f"danmaku-{topic_part(self.instance)}-{self.name}"
        self._args = client_args(config, identifier)

    def _publish_properties(self) -> Properties:
        props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        props.ContentType = "application/json"
        if self.config.message_expiry:
            props.MessageExpiryInterval = self.config.message_expiry
        return props

    def _connect_properties(self) -> Properties:
        # The broker publishes a Will at the earlier of the Will delay and the session's end;
        # with no session expiry some brokers (EMQX) end the session, and fire, at once.
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = self.config.will_delay
        return props

    def _will(self) -> aiomqtt.Will:
        props = Properties(PacketTypes.WILLMESSAGE)  # type: ignore[no-untyped-call]
        props.WillDelayInterval = self.config.will_delay
        return aiomqtt.Will(self.topics.presence(self.instance),
                            presence_payload(self.instance, "offline"), qos=1, retain=True,
                            properties=props)  # fmt: skip

    async def __aenter__(self) -> Self:
        if self._entered:
            raise RuntimeError("the MQTT sink is not reentrant")
        self._entered = True
        self._task = asyncio.create_task(self._run(), name=f"sink[{self.name}].connection")
        # A short wait so the first alerts do not start with a retry; never fatal.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.config.timeout):
                await self._connected.wait()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        client = self._client
        if client is not None and self._connected.is_set():
            # A clean disconnect sends no Will: say goodbye ourselves.
            with contextlib.suppress(aiomqtt.MqttError):
                await client.publish(self.topics.presence(self.instance),
                                     presence_payload(self.instance, "offline"), qos=1,
                                     retain=True, timeout=self.config.timeout)  # fmt: skip
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._entered = False

    async def _run(self) -> None:
        backoff = Backoff(0.5, 30.0)
        while True:
            started = time.monotonic()
            problem = "disconnected"
            try:
                async with aiomqtt.Client(**self._args, will=self._will(),
                                          properties=self._connect_properties()) as client:  # fmt: skip
                    await self._on_connect(client)
                    # No subscriptions: the iterator only ends, with MqttError, on disconnect.
                    async for _ in client.messages:
                        pass
            except aiomqtt.MqttError as exc:
                problem = str(exc)
            except Exception as exc:  # an unexpected client bug must not end delivery for good
                _log.exception("mqtt connection failed unexpectedly", sink=self.name)
                problem = repr(exc)
            finally:
                self._connected.clear()
                self._client = None
            if time.monotonic() - started > 10.0:
                backoff.reset()
            delay = backoff.next_delay()
            self._outage.failed("mqtt broker unreachable; alerts wait in the outbox",
                                sink=self.name, url=self.config.url, error=problem)  # fmt: skip
            await asyncio.sleep(delay)

    async def _on_connect(self, client: aiomqtt.Client) -> None:
        online = presence_payload(self.instance, "online")
        await client.publish(self.topics.presence(self.instance), online, qos=1, retain=True)
        self._client = client
        self._connected.set()
        if self._outage.down:
            self._outage.recovered("mqtt reconnected", sink=self.name, url=self.config.url)
        else:
            _log.info("mqtt connected", sink=self.name, url=self.config.url)

    async def deliver(self, alert: Alert) -> None:
        """Publish one version to its team and assignee topics, then the room status."""
        client = self._client
        if client is None or not self._connected.is_set():
            raise DeliveryError(self.name, "not connected to the broker")
        payload = orjson.dumps(alert.to_dict())
        props = self._publish_properties()
        props.UserProperty = [("idempotency-key", f"{alert.alert_id}:{alert.version}")]
        qos = self.config.qos
        topics = [self.topics.team(alert.team)]
        if alert.assignee:
            topics.append(self.topics.staff(alert.assignee))
        try:
            for topic in topics:
                await client.publish(topic, payload, qos=qos, properties=props,
                                     timeout=self.config.timeout)  # fmt: skip
            status = orjson.dumps(self.status.update(alert))
            await client.publish(self.topics.room(alert.room), status, qos=qos, retain=True,
                                 timeout=self.config.timeout)  # fmt: skip
        except aiomqtt.MqttError as exc:
            raise DeliveryError(self.name, f"publish failed: {exc}") from exc
