"""MQTT command topics: ``{p}/v1/commands/{ack|resolve|assign|lineup}`` → the alert book.

Payloads are JSON objects:

    ack      {"alert_id": "…", "staff": "li"}
    resolve  {"alert_id": "…", "staff": "li", "false_positive": false}
    assign   {"alert_id": "…", "staff": "wang", "by": "li"}
    lineup   {"room": "r1", "sku": "A1"}            (sku null clears the live override)

plus ``"token"`` when ``command_token_env`` is set. A request with an MQTT 5 Response Topic
gets ``{"ok": true, "alert": {…}}`` or ``{"ok": false, "error": "…"}`` there, with its
Correlation Data echoed. Parsing is pure (``parse_command``); the subscriber is the shell.

In a cluster every instance reads the same command topics; ``answers`` says whether this
one takes a command (the owner of the alert's room), so exactly one instance acts and
replies. A lineup change is applied everywhere (any instance may read the room next) and
answered once.
"""

from __future__ import annotations

import asyncio
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import aiomqtt
import orjson
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from agent.backoff import Backoff
from agent.config import MqttSinkConfig, secret_from_env
from agent.errors import AgentError
from agent.events import Alert
from agent.logs import get_logger
from agent.sinks.mqtt import Topics, client_args, topic_part

_log = get_logger("agent.control.commands")

COMMANDS = ("ack", "resolve", "assign", "lineup")
_MAX_ID = 128


class CommandError(AgentError):
    """A command was malformed or refused; ``reason`` is a short closed token."""

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


@dataclass(frozen=True, slots=True)
class Command:
    """A parsed command."""

    name: str
    alert_id: str = ""
    staff: str = ""
    by: str = ""
    false_positive: bool = False
    room: str = ""
    sku: str | None = None


def _field(data: dict[str, Any], key: str, *, required: bool = True) -> str:
    value = data.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value or len(value) > _MAX_ID:
        raise CommandError("bad_field", key)
    return value


def parse_command(name: str, payload: bytes, token: str | None = None) -> Command:
    """Validate one command payload; raises ``CommandError``."""
    if name not in COMMANDS:
        raise CommandError("unknown_command", name)
    try:
        data = orjson.loads(payload)
    except orjson.JSONDecodeError:
        raise CommandError("bad_json") from None
    if not isinstance(data, dict):
        raise CommandError("not_object")
    if token is not None:
        given = data.get("token")
        if not isinstance(given, str) or not hmac.compare_digest(given, token):
            raise CommandError("bad_token")
    if name == "lineup":
        sku = data.get("sku")
        if sku is not None and (not isinstance(sku, str) or len(sku) > _MAX_ID):
            raise CommandError("bad_field", "sku")
        return Command(name, room=_field(data, "room"), sku=sku or None)
    alert_id, staff = _field(data, "alert_id"), _field(data, "staff")
    if name == "assign":
        return Command(name, alert_id, staff, by=_field(data, "by", required=False) or staff)
    false_positive = data.get("false_positive", False) is True
    return Command(name, alert_id, staff, false_positive=false_positive)


class CommandTarget(Protocol):
    """What commands need of the alert book."""

    async def ack(self, alert_id: str, staff: str) -> Alert:
        """Acknowledge."""

    async def resolve(self, alert_id: str, staff: str, *, false_positive: bool = False) -> Alert:
        """Resolve."""

    async def assign(self, alert_id: str, staff: str, by: str) -> Alert:
        """Assign."""


LineupSetter = Callable[[str, str | None], None]
# Whether this instance takes (and answers) a command; None for one that did not parse.
Answers = Callable[[Command | None], bool]


class CommandSubscriber:
    """Reads the command topics and applies them; reconnects in the background."""

    def __init__(
        self,
        config: MqttSinkConfig,
        book: CommandTarget,
        *,
        instance: str = "agent",
        lineup: LineupSetter | None = None,
        answers: Answers | None = None,
    ) -> None:
        self.config = config
        self.book = book
        self.lineup = lineup
        self.answers = answers
        self.instance = instance
        self.topics = Topics(config.prefix)
        self.token = secret_from_env(config.command_token_env, where="sinks.mqtt.command_token_env")
        self.subscribed = asyncio.Event()
        self._args = client_args(config, f"danmaku-{topic_part(instance)}-commands")

    async def apply(self, command: Command) -> Alert | None:
        """Run one parsed command; KeyError for an unknown alert."""
        if command.name == "ack":
            return await self.book.ack(command.alert_id, command.staff)
        if command.name == "resolve":
            return await self.book.resolve(
                command.alert_id, command.staff, false_positive=command.false_positive
            )
        if command.name == "assign":
            return await self.book.assign(command.alert_id, command.staff, command.by)
        if self.lineup is None:
            raise CommandError("unsupported", "no lineup configured")
        self.lineup(command.room, command.sku)
        return None

    def _answering(self, command: Command | None) -> bool:
        return self.answers is None or self.answers(command)

    async def handle(self, name: str, payload: bytes) -> dict[str, Any] | None:
        """Parse and apply; the result document, or None when another instance answers.

        Never raises for bad input.
        """
        try:
            command = parse_command(name, payload, self.token)
        except CommandError as exc:
            _log.warning("command refused", command=name, reason=exc.reason, detail=exc.detail)
            return {"ok": False, "error": exc.reason} if self._answering(None) else None
        answering = self._answering(command)
        if not answering and command.name != "lineup":
            return None  # another instance holds the alert and answers
        try:
            alert = await self.apply(command)
        except CommandError as exc:
            _log.warning("command refused", command=name, reason=exc.reason, detail=exc.detail)
            result: dict[str, Any] = {"ok": False, "error": exc.reason}
        except KeyError:
            result = {"ok": False, "error": "unknown_alert"}
        except Exception:  # one failing command must not stop the reader
            _log.exception("command failed", command=name)
            result = {"ok": False, "error": "internal"}
        else:
            result = {"ok": True, "alert": alert.to_dict() if alert is not None else None}
        return result if answering else None

    async def _respond(
        self, client: aiomqtt.Client, message: aiomqtt.Message, result: dict[str, Any]
    ) -> None:
        props = message.properties
        topic = getattr(props, "ResponseTopic", None) if props is not None else None
        if not topic:
            return
        out = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        correlation = getattr(props, "CorrelationData", None)
        if correlation:
            out.CorrelationData = correlation
        await client.publish(topic, orjson.dumps(result), qos=1, properties=out)

    async def run(self) -> None:
        """Serve commands until cancelled."""
        backoff = Backoff(0.5, 30.0)
        prefix = self.topics.commands()[: -len("+")]
        while True:
            started = time.monotonic()
            try:
                async with aiomqtt.Client(**self._args) as client:
                    await client.subscribe(self.topics.commands(), qos=1)
                    self.subscribed.set()
                    async for message in client.messages:
                        name = str(message.topic).removeprefix(prefix)
                        raw = message.payload
                        body = raw if isinstance(raw, bytes) else str(raw).encode()
                        result = await self.handle(name, body)
                        if result is not None:
                            await self._respond(client, message, result)
            except aiomqtt.MqttError as exc:
                self.subscribed.clear()
                if time.monotonic() - started > 10.0:
                    backoff.reset()
                delay = backoff.next_delay()
                _log.warning("command connection lost; reconnecting", error=str(exc),
                             delay=round(delay, 2))  # fmt: skip
                await asyncio.sleep(delay)
