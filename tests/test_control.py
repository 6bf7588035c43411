"""Ack links (signed, expiring, GET confirms and POST acks) and MQTT command topics."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import aiomqtt
import orjson
import pytest
from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from agent.alertbook import AlertBook
from agent.alerting import command_answers
from agent.config import MqttSinkConfig
from agent.control import (
    AckLinker,
    CommandError,
    CommandSubscriber,
    ack_link_handler,
    make_ack_link,
    parse_command,
    verify_ack_link,
)
from agent.events import Alert
from agent.metrics import Metrics
from agent.routing import ManualClock

SECRET = b"ack-secret"


def new_alert(alert_id: str = "inq-1") -> Alert:
    return Alert.from_dict({
        "alert_id": alert_id, "room": "r1", "kind": "inquiry", "category": "logistics",
        "severity": "medium", "first_seen": 1.0, "last_seen": 1.0, "source_ts": 1.0,
        "title": "物流发货咨询",
    })  # fmt: skip


@pytest.fixture
def book(metrics: Metrics) -> AlertBook:
    """A book holding one open alert."""
    b = AlertBook(metrics=metrics, clock=ManualClock())
    b(new_alert())
    return b


def test_verify_ack_link_checks_signature_fields_and_expiry() -> None:
    """Any changed field, another secret or a passed expiry fails."""
    link = make_ack_link("http://desk", SECRET, "inq-1", "li", 1000)
    q = {k: v[0] for k, v in parse_qs(urlsplit(link).query).items()}
    assert verify_ack_link(SECRET, "inq-1", "li", 1000, q["sig"], now=999)
    assert not verify_ack_link(SECRET, "inq-1", "wang", 1000, q["sig"], now=999)
    assert not verify_ack_link(SECRET, "inq-2", "li", 1000, q["sig"], now=999)
    assert not verify_ack_link(SECRET, "inq-1", "li", 2000, q["sig"], now=999)
    assert not verify_ack_link(b"other", "inq-1", "li", 1000, q["sig"], now=999)
    assert not verify_ack_link(SECRET, "inq-1", "li", 1000, q["sig"], now=1000)


@pytest.fixture
async def desk(book: AlertBook) -> AsyncIterator[str]:
    """The ack handler mounted on a real aiohttp server; yields its base URL."""
    app = web.Application()
    app.router.add_route("*", "/ack", ack_link_handler(book, SECRET))
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    yield f"http://{host}:{port}"
    await runner.cleanup()


async def test_link_get_confirms_post_acks(desk: str, book: AlertBook) -> None:
    """GET shows a confirmation form without acting; POST acknowledges."""
    link = AckLinker(desk, SECRET, ttl=600)("inq-1", "li")
    async with aiohttp.ClientSession() as http:
        async with http.get(link) as response:
            page = await response.text()
            assert response.status == 200
        assert "确认处理" in page
        assert book.get("inq-1").state == "open"  # type: ignore[union-attr]
        fields = {k: v[0] for k, v in parse_qs(urlsplit(link).query).items()}
        async with http.post(f"{desk}/ack", data=fields) as response:
            assert response.status == 200
            assert "已确认" in await response.text()
    acked = book.get("inq-1")
    assert acked is not None
    assert (acked.state, acked.acked_by) == ("acked", "li")


async def test_link_refuses_forged_expired_and_unknown(desk: str) -> None:
    """Bad signature or expiry → 403; a valid link to an unknown alert → 404."""
    async with aiohttp.ClientSession() as http:
        forged = make_ack_link(desk, b"guess", "inq-1", "li", 2_000_000_000)
        async with http.get(forged) as response:
            assert response.status == 403
        expired = make_ack_link(desk, SECRET, "inq-1", "li", 1000)
        async with http.post(f"{desk}/ack", data=_fields(expired)) as response:
            assert response.status == 403
        unknown = make_ack_link(desk, SECRET, "gone", "li", 2_000_000_000)
        async with http.get(unknown) as response:
            assert response.status == 404


def _fields(link: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(link).query).items()}


def test_parse_command_validates_payloads() -> None:
    """Each command's fields are checked; tokens are compared when configured."""
    ack = parse_command("ack", b'{"alert_id": "a", "staff": "li"}')
    assert (ack.name, ack.alert_id, ack.staff) == ("ack", "a", "li")
    resolve = parse_command("resolve", b'{"alert_id":"a","staff":"li","false_positive":true}')
    assert resolve.false_positive
    assert parse_command("assign", b'{"alert_id":"a","staff":"w","by":"li"}').by == "li"
    assert parse_command("lineup", b'{"room":"r1","sku":null}').sku is None
    for name, payload, reason in [
        ("nuke", b"{}", "unknown_command"),
        ("ack", b"{", "bad_json"),
        ("ack", b"[]", "not_object"),
        ("ack", b'{"alert_id": 5, "staff": "li"}', "bad_field"),
        ("lineup", b'{"room": "r1", "sku": 3}', "bad_field"),
    ]:
        with pytest.raises(CommandError) as info:
            parse_command(name, payload)
        assert info.value.reason == reason
    with pytest.raises(CommandError, match="bad_token"):
        parse_command("ack", b'{"alert_id":"a","staff":"li","token":"x"}', token="y")
    assert parse_command("ack", b'{"alert_id":"a","staff":"li","token":"y"}', token="y")


@pytest.mark.broker
async def test_mqtt_commands_ack_and_answer_on_response_topic(book: AlertBook) -> None:
    """An ack on the command topic reaches the book; the result comes back correlated."""
    prefix = f"c{uuid.uuid4().hex[:8]}"
    lineups: list[tuple[str, str | None]] = []
    subscriber = CommandSubscriber(
        MqttSinkConfig(type="mqtt", prefix=prefix), book, instance=prefix,
        lineup=lambda room, sku: lineups.append((room, sku)),
    )  # fmt: skip
    task = asyncio.create_task(subscriber.run())
    await asyncio.wait_for(subscriber.subscribed.wait(), 5)
    reply = f"{prefix}/replies"
    async with aiomqtt.Client("127.0.0.1", 1883, protocol=aiomqtt.ProtocolVersion.V5) as client:
        await client.subscribe(reply, qos=1)
        props = Properties(PacketTypes.PUBLISH)
        props.ResponseTopic = reply
        props.CorrelationData = b"req-1"
        await client.publish(f"{prefix}/v1/commands/ack", b'{"alert_id":"inq-1","staff":"li"}',
                             qos=1, properties=props)  # fmt: skip
        await client.publish(f"{prefix}/v1/commands/lineup", b'{"room":"r1","sku":"A1"}', qos=1,
                             properties=props)  # fmt: skip
        results = []
        async with asyncio.timeout(5):
            async for message in client.messages:
                results.append((message.properties.CorrelationData,  # type: ignore[union-attr]
                                orjson.loads(message.payload)))  # type: ignore[arg-type]  # fmt: skip
                if len(results) == 2:
                    break
    task.cancel()
    assert results[0][0] == b"req-1"
    assert results[0][1]["ok"]
    assert results[0][1]["alert"]["state"] == "acked"
    assert book.get("inq-1").state == "acked"  # type: ignore[union-attr]
    assert lineups == [("r1", "A1")]


class Assigned:
    """A cluster as the alert side sees it: ``owned`` rooms of the sharded r1, r2."""

    def __init__(self, owned: set[str], *, leader: bool) -> None:
        self.owned = owned
        self.leader = leader
        self.assigned = True

    def owns(self, room: str) -> bool:
        return room not in ("r1", "r2") or room in self.owned

    def shares(self, room: str) -> bool:
        return room in ("r1", "r2")

    def reads(self, room: str) -> bool:
        return self.owns(room)

    def leads(self) -> bool:
        return self.leader

    def listen(self, listener: object) -> None:
        """Not needed here."""


@pytest.mark.broker
async def test_in_a_cluster_exactly_one_instance_answers_each_command() -> None:
    """Two instances on one command topic: the room's owner acts and answers an ack; the one
    handing the room over stays silent; a malformed command is answered once, by the leader;
    nobody answers for an alert nobody holds; a lineup is applied everywhere, answered once."""
    prefix = f"c{uuid.uuid4().hex[:8]}"
    books, lineups, readers = {}, {"a": [], "b": []}, []
    for name, owned, leader in (("a", {"r1"}, False), ("b", set(), True)):
        cluster = Assigned(owned, leader=leader)
        book = AlertBook(metrics=Metrics(), clock=ManualClock(), ownership=cluster)
        book(new_alert())  # b still holds it: it is handing r1 over
        books[name] = book
        readers.append(CommandSubscriber(
            MqttSinkConfig(type="mqtt", prefix=prefix), book, instance=f"{prefix}-{name}",
            lineup=lambda room, sku, seen=lineups[name]: seen.append((room, sku)),
            answers=command_answers(book, cluster),
        ))  # fmt: skip
    tasks = [asyncio.create_task(reader.run()) for reader in readers]
    try:
        for reader in readers:
            await asyncio.wait_for(reader.subscribed.wait(), 5)
        reply = f"{prefix}/replies"
        requests = [("ack", b'{"alert_id":"inq-1","staff":"li"}'), ("ack", b"{not json"),
                    ("ack", b'{"alert_id":"nobody","staff":"li"}'),
                    ("lineup", b'{"room":"r1","sku":"A1"}')]  # fmt: skip
        results: list[tuple[bytes, dict[str, Any]]] = []
        async with aiomqtt.Client("127.0.0.1", 1883, protocol=aiomqtt.ProtocolVersion.V5) as client:
            await client.subscribe(reply, qos=1)
            for n, (name, payload) in enumerate(requests):
                props = Properties(PacketTypes.PUBLISH)
                props.ResponseTopic = reply
                props.CorrelationData = str(n).encode()
                await client.publish(f"{prefix}/v1/commands/{name}", payload, qos=1,
                                     properties=props)  # fmt: skip
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(2):  # answers are awaited until the window closes
                    async for message in client.messages:
                        assert isinstance(message.payload, bytes)
                        correlation = message.properties.CorrelationData  # type: ignore[union-attr]
                        results.append((correlation, orjson.loads(message.payload)))
    finally:
        for task in tasks:
            task.cancel()
    by_request = sorted((c, r.get("error"), r["ok"]) for c, r in results)
    assert by_request == [(b"0", None, True), (b"1", "bad_json", False), (b"3", None, True)]
    assert books["a"].get("inq-1").state == "acked"  # type: ignore[union-attr]
    assert books["b"].get("inq-1").state == "open"  # type: ignore[union-attr]
    assert lineups == {"a": [("r1", "A1")], "b": [("r1", "A1")]}


@given(st.sampled_from(["ack", "resolve", "assign", "lineup", "x"]), st.binary(max_size=200))
def test_parse_command_accepts_or_raises_command_error(name: str, payload: bytes) -> None:
    """Any payload is either a command or a CommandError with a closed reason."""
    reason = None
    try:
        parse_command(name, payload)
    except CommandError as exc:
        reason = exc.reason
    assert reason in {None, "unknown_command", "bad_json", "not_object", "bad_field"}
