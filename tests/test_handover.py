"""Open alerts moving with their room: the book's mirror, ownership, adopt and release (on a
hand-driven clock), and the hand-over loop with an in-memory stand-in for the shared table."""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from agent.aggregate import Aggregator
from agent.alertbook import AlertBook
from agent.config import EscalationConfig, RoutingConfig
from agent.events import Alert, Finding
from agent.handover import Handover
from agent.metrics import Metrics
from agent.routing import BookStore, ManualClock

ROUTING = RoutingConfig.model_validate({"teams": {"aftersales": {
    "lead": "lead", "shifts": [{"staff": ["li", "wang"]}]}}})  # fmt: skip


class SharedTable:
    """The shared table in memory, with the store's version guard and a switchable outage."""

    shared = True

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}
        self.down = False

    def mirror_entry(self, row: dict[str, Any]) -> None:
        held = self.rows.get(row["alert_id"])
        if held is None or (held["version"], held["revision"]) < (row["version"], row["revision"]):
            self.rows[row["alert_id"]] = copy.deepcopy(row)

    async def load_entries(
        self, rooms: Sequence[str], alert_ids: Sequence[str] = ()
    ) -> list[dict[str, Any]]:
        if self.down:
            raise ConnectionRefusedError("database down")
        return [copy.deepcopy(r["entry"]) for r in self.rows.values()
                if (r["room"] in rooms and r["state"] != "resolved")
                or r["alert_id"] in alert_ids]  # fmt: skip

    def mark(self) -> int:
        return len(self.rows)

    async def written(self, mark: int, deadline: float | None = None) -> bool:
        return not self.down


class Rooms:
    """A hand-set cluster assignment: rooms owned here, rooms still read while handed over."""

    def __init__(self, owned: Sequence[str] = (), *, sharded: Sequence[str] = ("r1", "r2")) -> None:
        self.owned = set(owned)
        self.handing_over: set[str] = set()
        self.sharded = set(sharded)
        self.assigned = True

    def owns(self, room: str) -> bool:
        return room not in self.sharded or room in self.owned

    def shares(self, room: str) -> bool:
        return room in self.sharded

    def reads(self, room: str) -> bool:
        return self.owns(room) or room in self.handing_over


def new_alert(alert_id: str = "inq-1", room: str = "r1", severity: str = "high") -> Alert:
    return Alert.from_dict({"alert_id": alert_id, "room": room, "kind": "inquiry",
                            "category": "quality", "severity": severity, "first_seen": 1.0,
                            "last_seen": 1.0, "source_ts": 1.0,
                            "group_key": "漏液怎么办"})  # fmt: skip


def make_book(
    instance: str,
    rooms: Rooms,
    table: SharedTable,
    clock: ManualClock,
    *,
    sent: list[Alert] | None = None,
    store: BookStore | None = None,
    metrics: Metrics | None = None,
) -> AlertBook:
    async def publish(alert: Alert) -> None:
        if sent is not None:
            sent.append(alert)

    return AlertBook(metrics=metrics or Metrics(), routing=ROUTING,
                     escalation=EscalationConfig(), clock=clock, store=store, publish=publish,
                     ownership=rooms, mirror=table.mirror_entry, instance=instance)  # fmt: skip


# -- the book -----------------------------------------------------------------------------


async def test_every_change_of_a_sharded_room_is_mirrored_with_a_growing_revision() -> None:
    """Open, update, ack: each state reaches the table under this owner; unsharded rooms don't."""
    clock, table = ManualClock(), SharedTable()
    book = make_book("a", Rooms(["r1"]), table, clock)
    book(new_alert())
    first = copy.deepcopy(table.rows["inq-1"])
    update = new_alert()
    update.version, update.count = 2, 3
    book(update)
    await book.ack("inq-1", "li")
    row = table.rows["inq-1"]
    assert (first["version"], first["revision"], first["state"]) == (1, 1, "open")
    assert first["deadline"] == clock.now() + 180
    assert (row["version"], row["revision"], row["state"], row["owner"]) == (3, 3, "acked", "a")
    assert row["entry"]["alert"]["count"] == 3
    assert row["entry"]["acked_at"] == clock.now()
    book(new_alert("replayed", room="replay-room"))
    assert "replayed" not in table.rows


async def test_only_the_owner_fires_timers_and_takes_staff_actions() -> None:
    """Past the deadline a non-owner stays quiet and refuses an ack; once owner, it escalates."""
    clock, table, sent = ManualClock(), SharedTable(), []
    rooms = Rooms([])
    book = make_book("a", rooms, table, clock, sent=sent)
    book(new_alert())  # a room handed over still folds findings: no gap
    await clock.advance(500)
    assert await book.check() == []
    assert book._next_wake(clock.now()) == clock.now() + 60  # no busy loop on its deadline
    assert not book.holds("inq-1")
    with pytest.raises(KeyError):
        await book.ack("inq-1", "li")
    rooms.owned.add("r1")
    [step] = await book.check()
    assert (step.state, step.assignee, step.escalation_level) == ("escalated", "wang", 1)
    assert book.holds("inq-1")
    assert sent == [step]


async def test_adopted_alert_continues_where_it_stood_and_an_overdue_step_fires_at_once() -> None:
    """B adopts A's escalated alert: same id, versions fenced past A's, next rung, owner b."""
    clock, table, sent = ManualClock(), SharedTable(), []
    metrics_b = Metrics()
    a = make_book("a", Rooms(["r1"]), table, clock)
    a(new_alert())
    await clock.advance(180)
    [escalated] = await a.check()  # v2, wang paged; next step due in 180 s
    await clock.advance(400)  # A died; nobody owned r1 when the step fell due
    b = make_book("b", Rooms(["r1"]), table, clock, sent=sent, metrics=metrics_b)
    [adopted] = b.adopt(await table.load_entries(["r1"]))
    assert (adopted.alert_id, adopted.version, adopted.state) == ("inq-1", 12, "escalated")
    assert b.next_deadline("inq-1") == escalated.deadline
    assert metrics_b.registry.get_sample_value(
        "danmaku_alerts_open", {"room": "r1", "team": "aftersales"}) == 1  # fmt: skip
    [step] = await b.check()
    assert (step.alert_id, step.version, step.escalation_level) == ("inq-1", 13, 2)
    assert step.assignee == "lead"  # li and wang were paged under A
    assert (table.rows["inq-1"]["owner"], table.rows["inq-1"]["version"]) == ("b", 13)
    acked = await b.ack("inq-1", "lead")
    assert acked.version == 14


async def test_adopt_takes_only_newer_states_and_resolved_ones_only_to_retire_a_copy() -> None:
    """(version, revision) decides; equal or older states are ignored; a resolved entry only
    matters for an alert held here."""
    clock, table = ManualClock(), SharedTable()
    metrics = Metrics()
    book = make_book("b", Rooms(["r1"]), table, clock, metrics=metrics)
    book(new_alert())
    await book.ack("inq-1", "li")  # held: (2, 2)
    held = copy.deepcopy(table.rows["inq-1"]["entry"])

    def state(version: int, revision: int, alert_state: str = "open") -> dict[str, Any]:
        entry = copy.deepcopy(held)
        entry["alert"].update(version=version, state=alert_state, assignee="x")
        entry["revision"] = revision
        return entry

    other = state(5, 9, "resolved")
    other["alert"]["alert_id"] = "closed-elsewhere"
    assert book.adopt([state(1, 9), state(2, 2), other]) == []
    assert book.get("inq-1").state == "acked"  # type: ignore[union-attr]
    assert book.get("closed-elsewhere") is None
    [taken] = book.adopt([state(2, 3)])
    assert (taken.version, taken.assignee, taken.state) == (12, "x", "open")
    assert metrics.registry.get_sample_value(
        "danmaku_alerts_open", {"room": "r1", "team": "aftersales"}) == 1  # fmt: skip
    closed = state(13, 5, "resolved")  # newer than the (12, 4) taken over above
    closed["step"] = None
    [retired] = book.adopt([closed])
    assert retired.state == "resolved"
    assert book.next_deadline("inq-1") is None
    assert metrics.registry.get_sample_value(
        "danmaku_alerts_open", {"room": "r1", "team": "aftersales"}) == 0  # fmt: skip


async def test_release_drops_a_rooms_entries_and_forget_deletes_the_local_rows(
    tmp_path: Path,
) -> None:
    """Released entries leave the book and its gauge; local rows go only on forget."""
    clock, table, metrics = ManualClock(), SharedTable(), Metrics()
    store = BookStore(tmp_path / "alerts.db")
    book = make_book("a", Rooms(["r1", "r2"]), table, clock, store=store, metrics=metrics)
    book(new_alert("x"))
    book(new_alert("y", room="r2"))
    assert sorted(book.release(["r1"])) == ["x"]
    assert book.get("x") is None
    assert book.rooms() == {"r2"}
    assert metrics.registry.get_sample_value(
        "danmaku_alerts_open", {"room": "r1", "team": "aftersales"}) == 0  # fmt: skip
    assert len(store.alerts()) == 2
    book.adopt(await table.load_entries(["r2"]))  # y stays held: forget must spare it
    book.forget(["x", "y"])
    assert [e["alert"]["alert_id"] for e in store.alerts()] == ["y"]
    store.close()


async def test_a_restarted_instance_never_fires_restored_alerts_of_rooms_it_does_not_own(
    tmp_path: Path,
) -> None:
    """After a SIGKILL, restored entries wait for the assignment, then go; none escalates."""
    clock, table, sent = ManualClock(), SharedTable(), []
    store = BookStore(tmp_path / "alerts.db")
    before = make_book("a", Rooms(["r1"]), table, clock, store=store)
    before(new_alert())
    store.close()
    await clock.advance(1000)
    store = BookStore(tmp_path / "alerts.db")
    rooms = Rooms([])
    rooms.assigned = False
    again = make_book("a", rooms, table, clock, sent=sent, store=store)
    handover = Handover(book=again, aggregator=Aggregator(), store=table, cluster=rooms,
                        metrics=Metrics(), catch_up=5.0, tick=0.01)  # fmt: skip
    task = asyncio.create_task(handover.run())
    try:
        assert await again.check() == []
        await asyncio.sleep(0.05)
        assert again.get("inq-1") is not None  # kept until the cluster has assigned rooms
        rooms.assigned = True
        await _until(lambda: again.get("inq-1") is None)
        assert store.alerts() == []
        assert await again.check() == []
    finally:
        task.cancel()
        store.close()
    assert sent == []


async def test_updates_of_an_alert_whose_room_is_owned_elsewhere_are_not_notified() -> None:
    """During a hand-over the old owner still folds comments, but only new alerts page: the
    owner publishes an alert's versions, so no version number goes out twice."""
    clock, table = ManualClock(), SharedTable()
    rooms = Rooms(["r1"])
    book = make_book("a", rooms, table, clock)
    assert book.should_notify(book(new_alert()))
    rooms.owned.clear()  # r1 assigned elsewhere, still read here for the overlap
    update = new_alert()
    update.version, update.count = 2, 2
    assert not book.should_notify(book(update))
    assert book.should_notify(book(new_alert("fresh")))  # no gap: a new alert still pages
    assert book.should_notify(book(new_alert("elsewhere", room="replay-room")))


# -- the hand-over loop -------------------------------------------------------------------


def finding(room: str = "r1") -> Finding:
    now = time.time()
    return Finding(room=room, kind="inquiry", category="quality", severity="high",
                   text="收到漏液了", ts=now, received=now, group_key="漏液怎么办",
                   user="u9")  # fmt: skip


async def _until(predicate: Any, seconds: float = 5.0) -> None:
    async with asyncio.timeout(seconds):
        while not predicate():  # noqa: ASYNC110 - plain state, no event to wait on
            await asyncio.sleep(0.01)


async def test_a_gained_room_continues_its_alerts_in_book_and_aggregator() -> None:
    """Adopted before the room is read: the next finding folds into the same alert id."""
    clock, table, metrics = ManualClock(), SharedTable(), Metrics()
    agg_a = Aggregator()
    a = make_book("a", Rooms(["r1"]), table, clock)
    [opened] = [a(x) for x in agg_a(finding(), time.time())]
    rooms = Rooms([])
    aggregator = Aggregator(update_interval=0)
    b = make_book("b", rooms, table, clock, metrics=metrics)
    handover = Handover(book=b, aggregator=aggregator, store=table, cluster=rooms,
                        metrics=metrics, catch_up=5.0)  # fmt: skip
    await handover.rooms_gained(["r1"])
    rooms.owned.add("r1")
    handover.rooms_ready(["r1"])
    assert b.holds(opened.alert_id)
    [update] = aggregator(finding(), time.time())
    assert (update.alert_id, update.count) == (opened.alert_id, 2)
    stamped = b(update)
    assert (stamped.alert_id, stamped.version, stamped.assignee) == (opened.alert_id, 12, "li")
    assert metrics.registry.get_sample_value("danmaku_cluster_alerts_adopted_total") == 1


async def test_an_adopted_alert_keeps_its_quiet_period() -> None:
    """Quiet since before the take-over: the new owner's aggregator closes it at its next tick
    instead of folding the next episode into it."""
    clock, table = ManualClock(), SharedTable()
    stale = new_alert()
    stale.updated_at = time.time() - 400  # past the default 300 s quiet period
    make_book("a", Rooms(["r1"]), table, clock)(stale)
    rooms = Rooms(["r1"])
    aggregator = Aggregator()
    b = make_book("b", rooms, table, clock)
    handover = Handover(book=b, aggregator=aggregator, store=table, cluster=rooms,
                        metrics=Metrics(), catch_up=5.0)  # fmt: skip
    await handover.rooms_gained(["r1"])
    [closed] = aggregator.tick(time.time())
    assert (closed.alert_id, closed.state) == ("inq-1", "resolved")
    assert b(closed).state == "resolved"


async def test_a_restored_copy_closed_elsewhere_is_retired_on_gain(tmp_path: Path) -> None:
    """Restarted with an open copy the interim owner has since resolved: taking the room back
    retires it (book and aggregator) instead of escalating or closing it a second time."""
    clock, table, sent = ManualClock(), SharedTable(), []
    store = BookStore(tmp_path / "alerts.db")
    make_book("b", Rooms(["r1"]), table, clock, store=store)(new_alert())
    store.close()
    interim = make_book("a", Rooms(["r1"]), table, clock)
    interim.adopt(await table.load_entries(["r1"]))
    await interim.resolve("inq-1", "li")
    await clock.advance(1000)
    store = BookStore(tmp_path / "alerts.db")
    rooms = Rooms(["r1"])
    aggregator = Aggregator()
    again = make_book("b", rooms, table, clock, sent=sent, store=store)
    aggregator.adopt(again.get("inq-1"), time.time())  # as build_alerting does at a restart
    handover = Handover(book=again, aggregator=aggregator, store=table, cluster=rooms,
                        metrics=Metrics(), catch_up=5.0)  # fmt: skip
    await handover.rooms_gained(["r1"])
    assert again.get("inq-1").state == "resolved"  # type: ignore[union-attr]
    assert aggregator.open == {}
    assert await again.check() == []
    assert sent == []
    store.close()


async def test_catch_up_adopts_what_the_previous_owner_wrote_during_the_overlap() -> None:
    """An alert the old owner opened after the gain (newcomer not yet reading) is adopted."""
    clock, table = ManualClock(), SharedTable()
    a = make_book("a", Rooms([]), table, clock)  # handing r1 over, still reading it
    rooms = Rooms(["r1"])
    b = make_book("b", rooms, table, clock)
    handover = Handover(book=b, aggregator=Aggregator(), store=table, cluster=rooms,
                        metrics=Metrics(), catch_up=5.0, tick=0.01)  # fmt: skip
    await handover.rooms_gained(["r1"])
    task = asyncio.create_task(handover.run())
    try:
        a(new_alert("late"))
        await _until(lambda: b.holds("late"))
    finally:
        task.cancel()


async def test_a_failed_load_reads_the_room_anyway_and_catches_up_later() -> None:
    """The database down at the gain: counted, no exception, adopted once it is back."""
    clock, table, metrics = ManualClock(), SharedTable(), Metrics()
    make_book("a", Rooms(["r1"]), table, clock)(new_alert())
    rooms = Rooms(["r1"])
    b = make_book("b", rooms, table, clock)
    handover = Handover(book=b, aggregator=Aggregator(), store=table, cluster=rooms,
                        metrics=metrics, catch_up=5.0, tick=0.01)  # fmt: skip
    table.down = True
    await handover.rooms_gained(["r1"])
    assert metrics.registry.get_sample_value("danmaku_cluster_alert_load_failures_total") == 1
    task = asyncio.create_task(handover.run())
    try:
        await asyncio.sleep(0.05)
        assert not b.holds("inq-1")
        table.down = False
        await _until(lambda: b.holds("inq-1"))
    finally:
        task.cancel()


async def test_a_room_no_longer_read_is_released_from_book_and_aggregator(tmp_path: Path) -> None:
    """Handed over: kept while read; then dropped, its group closed, local rows forgotten."""
    clock, table, metrics = ManualClock(), SharedTable(), Metrics()
    store = BookStore(tmp_path / "alerts.db")
    rooms = Rooms(["r1", "r2"])
    aggregator = Aggregator()
    book = make_book("a", rooms, table, clock, store=store)
    for f in (finding("r1"), finding("r2")):
        for alert in aggregator(f, time.time()):
            book(alert)
    handover = Handover(book=book, aggregator=aggregator, store=table, cluster=rooms,
                        metrics=metrics, catch_up=5.0, tick=0.01)  # fmt: skip
    rooms.owned.discard("r1")
    rooms.handing_over.add("r1")
    task = asyncio.create_task(handover.run())
    try:
        await asyncio.sleep(0.05)
        assert book.rooms() == {"r1", "r2"}  # still read during the overlap
        table.down = True  # the shared store cannot confirm: local rows stay
        rooms.handing_over.clear()
        await _until(lambda: book.rooms() == {"r2"})
        assert {key[0] for key in aggregator.open} == {"r2"}
        await asyncio.sleep(0.05)
        assert len(store.alerts()) == 2
        assert metrics.registry.get_sample_value("danmaku_cluster_alerts_released_total") == 1
        table.down = False
        await _until(lambda: [e["alert"]["room"] for e in store.alerts()] == ["r2"])
    finally:
        task.cancel()
        store.close()
