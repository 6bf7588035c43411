"""The alert book API the desk and commands use: list/get, ack/resolve/assign, subscribe."""

from __future__ import annotations

import asyncio
import gc
from contextlib import AsyncExitStack
from pathlib import Path

import orjson
import pytest

from agent.alertbook import AlertBook
from agent.alerting import build_alerting, running
from agent.config import RoutingConfig, parse_config
from agent.events import Alert, Finding
from agent.metrics import Metrics
from agent.routing import BookStore, ManualClock


def new_alert(alert_id: str = "inq-1", room: str = "r1", first_seen: float = 1.0) -> Alert:
    return Alert.from_dict({"alert_id": alert_id, "room": room, "kind": "inquiry",
                            "category": "logistics", "severity": "medium",
                            "first_seen": first_seen, "last_seen": first_seen,
                            "source_ts": first_seen})  # fmt: skip


class Recorder:
    def __init__(self) -> None:
        self.records: list[Alert] = []

    def submit(self, record: Alert) -> None:
        self.records.append(record)


@pytest.fixture
def sent() -> list[Alert]:
    """Versions the book published to the outbox."""
    return []


@pytest.fixture
def book(metrics: Metrics, sent: list[Alert]) -> AlertBook:
    """A book with a manual clock, a staffed default team and a capturing publisher."""

    async def publish(alert: Alert) -> None:
        sent.append(alert)

    routing = RoutingConfig.model_validate(
        {"teams": {"aftersales": {"lead": "boss", "shifts": [{"staff": ["li"]}]}}}
    )
    return AlertBook(metrics=metrics, routing=routing, clock=ManualClock(), publish=publish,
                     records=Recorder())  # fmt: skip


async def test_list_get_newest_first_and_filters(book: AlertBook) -> None:
    """list() is newest first and filters by room and state; get() returns a copy."""
    book(new_alert("a", first_seen=1.0))
    book(new_alert("b", room="r2", first_seen=2.0))
    assert [a.alert_id for a in book.list()] == ["b", "a"]
    assert [a.alert_id for a in book.list(room="r1")] == ["a"]
    await book.ack("a", "li")
    assert [a.alert_id for a in book.list(states={"acked"})] == ["a"]
    copy = book.get("a")
    assert copy is not None
    assert copy.state == "acked"
    copy.state = "open"
    assert book.get("a").state == "acked"  # type: ignore[union-attr]
    assert book.get("zzz") is None


async def test_actions_publish_record_and_count(
    book: AlertBook, sent: list[Alert], metrics: Metrics
) -> None:
    """ack, assign and resolve each publish a new version, record it and count it."""
    closed: list[str] = []
    book.on_close = closed.append
    book(new_alert())
    assert metrics.registry.get_sample_value(
        "danmaku_alerts_open", {"room": "r1", "team": "aftersales"}) == 1  # fmt: skip
    await book.ack("inq-1", "li")
    assigned = await book.assign("inq-1", "wang", by="boss")
    assert (assigned.state, assigned.assignee) == ("open", "wang")
    done = await book.resolve("inq-1", "wang", false_positive=True)
    assert (done.state, done.resolved_by, done.false_positive) == ("resolved", "wang", True)
    assert [a.version for a in sent] == [2, 3, 4]
    assert closed == ["inq-1"]
    assert book.next_deadline("inq-1") is None
    assert metrics.registry.get_sample_value(
        "danmaku_alerts_open", {"room": "r1", "team": "aftersales"}) == 0  # fmt: skip
    assert metrics.registry.get_sample_value(
        "danmaku_alert_transitions_total", {"state": "resolved"}) == 1  # fmt: skip
    assert isinstance(book.records, Recorder)
    assert len(book.records.records) == 3
    with pytest.raises(KeyError):
        await book.ack("missing", "li")


async def test_aggregator_updates_keep_the_lifecycle(book: AlertBook) -> None:
    """An update after an ack stays acked and gets the book's next version number."""
    book(new_alert())
    await book.ack("inq-1", "li")
    update = new_alert()
    update.version, update.count = 2, 4
    stamped = book(update)
    assert (stamped.state, stamped.version, stamped.count, stamped.acked_by) == (
        "acked", 3, 4, "li")  # fmt: skip


async def test_an_alert_closed_by_its_quiet_period_is_resolved_and_its_timers_stop(
    book: AlertBook, sent: list[Alert], metrics: Metrics
) -> None:
    """The aggregator's quiet close reaches the book as resolved: no escalation, gauge down."""
    book(new_alert())
    closing = new_alert()
    closing.version, closing.state = 2, "resolved"
    stamped = book(closing)
    assert (stamped.state, stamped.version) == ("resolved", 2)
    assert book.next_deadline("inq-1") is None
    assert metrics.registry.get_sample_value(
        "danmaku_alerts_open", {"room": "r1", "team": "aftersales"}) == 0  # fmt: skip
    assert isinstance(book.clock, ManualClock)
    await book.clock.advance(3600)
    assert await book.check() == []
    assert sent == []


async def test_subscribe_sees_every_version_and_drops_oldest(book: AlertBook) -> None:
    """Subscribers get versions from now on; a slow one keeps only the newest."""
    book.subscriber_queue = 2
    sub = book.subscribe()
    book(new_alert())
    await book.ack("inq-1", "li")
    await book.resolve("inq-1", "li")
    got = [await asyncio.wait_for(anext(sub), 1) for _ in range(2)]
    assert [a.state for a in got] == ["acked", "resolved"]
    await sub.aclose()
    assert not book._subscribers


async def test_silenced_alerts_are_not_notified_unless_already_paged(book: AlertBook) -> None:
    """The outbox gate refuses silenced versions, but lets the resolve of a paged alert pass."""
    first = book(new_alert())
    assert book.should_notify(first)
    silence = book.add_silence({"category": "logistics"}, until=book.clock.now() + 60, by="d")
    assert book.list_silences() == [silence]
    assert not book.should_notify(book(new_alert("other")))
    resolved = await book.resolve("inq-1", "li")
    assert book.should_notify(resolved)
    assert book.delete_silence(silence.id)
    assert not book.delete_silence(silence.id)
    with pytest.raises(ValueError, match="unknown matcher"):
        book.add_silence({"nope": "x"}, until=book.clock.now() + 60, by="d")


async def test_silences_survive_restart(metrics: Metrics, tmp_path: Path) -> None:
    """A silence created from the desk is still active after a restart."""
    clock = ManualClock()
    store = BookStore(tmp_path / "a.db")
    book = AlertBook(metrics=metrics, clock=clock, store=store)
    silence = book.add_silence({"room": "r9"}, until=clock.now() + 600, by="desk", comment="测试")
    again = AlertBook(metrics=Metrics(), clock=clock, store=store)
    assert again.list_silences() == [silence]
    store.close()


async def test_build_alerting_wires_book_outbox_and_sinks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From a config: findings → aggregator → book (routed) → durable outbox → jsonl sink."""
    monkeypatch.setenv("ACK_SECRET", "s3cret")
    config = parse_config({
        "sources": [{"type": "replay", "path": "x.jsonl"}],
        "sinks": [{"type": "jsonl", "path": str(tmp_path / "alerts.jsonl")}],
        "outbox": {"path": str(tmp_path / "alerts.db")},
        "control": {"ack_base_url": "http://desk.local", "ack_secret_env": "ACK_SECRET"},
        "routing": {"rules": [{"match": {"category": "quality"}, "team": "qa"}],
                    "teams": {"qa": {"lead": "boss", "shifts": [{"staff": ["li"]}]}}},
    })  # fmt: skip
    async with AsyncExitStack() as stack:
        alerting = await build_alerting(config, Metrics(), stack)
        stack.callback(alerting.close)
        assert alerting.ack_handler is not None
        finding = Finding(room="r1", kind="inquiry", category="quality", severity="medium",
                          text="漏液了", ts=1.0, received=1.0)  # fmt: skip
        async with running(alerting):
            runner = asyncio.create_task(alerting.outbox.run())
            for alert in alerting.aggregator(finding, 2.0):
                await alerting.outbox.submit(alerting.book(alert))
            await alerting.book.ack(alerting.book.list()[0].alert_id, "li")
            await asyncio.wait_for(alerting.outbox.drained(), 5)
            runner.cancel()
    lines = [orjson.loads(line) for line in (tmp_path / "alerts.jsonl").read_bytes().splitlines()]
    assert [(x["version"], x["state"], x["team"], x["assignee"]) for x in lines] == [
        (1, "open", "qa", "li"), (2, "acked", "qa", "li")]  # fmt: skip


async def test_dropped_subscription_stops_receiving(book: AlertBook) -> None:
    """A subscription nobody holds any more is forgotten by the book."""
    sub = book.subscribe()
    assert len(book._subscribers) == 1
    del sub
    gc.collect()
    assert len(book._subscribers) == 0


async def test_published_versions_are_not_mutated_later(book: AlertBook, sent: list[Alert]) -> None:
    """A version handed to the pipeline or outbox stays as it was when published."""
    opened = book(new_alert())
    await book.ack("inq-1", "li")
    acked = sent[-1]
    await book.assign("inq-1", "wang", by="li")
    assert (opened.state, opened.acked_by, opened.version) == ("open", None, 1)
    assert (acked.state, acked.assignee) == ("acked", "li")


async def test_inhibited_alerts_are_neither_paged_nor_escalated(metrics: Metrics) -> None:
    """While an open spike covers an inquiry alert, the gate refuses it and its SLA waits."""
    clock = ManualClock()
    covered = {"inq-1"}
    book = AlertBook(metrics=metrics, clock=clock, inhibited=lambda a: a.alert_id in covered)
    assert not book.should_notify(book(new_alert()))
    await clock.advance(400)
    assert await book.check() == []
    covered.clear()
    await clock.advance(400)
    [step] = await book.check()
    assert step.state == "escalated"
