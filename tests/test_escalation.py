"""Escalation on a hand-driven clock: SLAs per severity, ladder, ack cancels, re-open, restart."""

from __future__ import annotations

import asyncio
from pathlib import Path

from agent.alertbook import AlertBook
from agent.config import EscalationConfig, RoutingConfig
from agent.events import Alert
from agent.metrics import Metrics
from agent.routing import BookStore, ManualClock

ROUTING = RoutingConfig.model_validate({"teams": {"aftersales": {
    "lead": "lead", "shifts": [{"staff": ["li", "wang"]}]}}})  # fmt: skip


def new_alert(severity: str = "high", alert_id: str = "inq-1") -> Alert:
    return Alert.from_dict({"alert_id": alert_id, "room": "r1", "kind": "inquiry",
                            "category": "quality", "severity": severity, "first_seen": 1.0,
                            "last_seen": 1.0, "source_ts": 1.0})  # fmt: skip


def make_book(
    metrics: Metrics, clock: ManualClock, sent: list[Alert], store: BookStore | None = None
) -> AlertBook:
    async def publish(alert: Alert) -> None:
        sent.append(alert)

    return AlertBook(metrics=metrics, routing=ROUTING, escalation=EscalationConfig(),
                     clock=clock, store=store, publish=publish)  # fmt: skip


async def test_ladder_next_person_then_lead_with_default_slas(metrics: Metrics) -> None:
    """High: 3 min to ack; then the next on duty, then the lead, each step published."""
    clock, sent = ManualClock(), []
    book = make_book(metrics, clock, sent)
    opened = book(new_alert())
    assert (opened.assignee, opened.team) == ("li", "aftersales")
    assert opened.deadline == clock.now() + 180
    assert await book.check(clock.now() + 179) == []
    await clock.advance(180)
    [step1] = await book.check()
    assert (step1.state, step1.assignee, step1.escalation_level) == ("escalated", "wang", 1)
    await clock.advance(180)
    [step2] = await book.check()
    assert (step2.assignee, step2.escalation_level, step2.version) == ("lead", 2, 3)
    assert sent == [step1, step2]
    assert metrics.registry.get_sample_value(
        "danmaku_alert_transitions_total", {"state": "escalated"}) == 2  # fmt: skip


async def test_critical_sla_is_one_minute_and_ack_cancels_escalation(metrics: Metrics) -> None:
    """Critical escalates after 60 s; an ack stops it and observes the ack time."""
    clock, sent = ManualClock(), []
    book = make_book(metrics, clock, sent)
    book(new_alert("critical"))
    await clock.advance(30)
    acked = await book.ack("inq-1", "li")
    assert (acked.state, acked.acked_by) == ("acked", "li")
    await clock.advance(120)
    assert await book.check() == []
    assert metrics.registry.get_sample_value(
        "danmaku_alert_ack_seconds_sum", {"severity": "critical"}) == 30  # fmt: skip


async def test_acked_alert_not_resolved_in_time_reopens(metrics: Metrics) -> None:
    """Past the resolve SLA an acknowledged alert re-opens with a fresh ack deadline."""
    clock, sent = ManualClock(), []
    book = make_book(metrics, clock, sent)
    book(new_alert("critical"))
    await book.ack("inq-1", "li")
    await clock.advance(900)
    [reopened] = await book.check()
    assert (reopened.state, reopened.acked_by) == ("open", None)
    assert book.next_deadline("inq-1") == clock.now() + 60


async def test_severity_rise_tightens_the_deadline(metrics: Metrics) -> None:
    """An update that raises severity brings the ack deadline forward."""
    clock, sent = ManualClock(), []
    book = make_book(metrics, clock, sent)
    book(new_alert("low"))
    assert book.next_deadline("inq-1") == clock.now() + 900
    update = new_alert("critical")
    update.version = 2
    stamped = book(update)
    assert stamped.deadline == clock.now() + 60
    assert stamped.version == 2


async def test_silenced_alert_is_not_escalated(metrics: Metrics) -> None:
    """While a silence matches, the deadline passes without an escalation."""
    clock, sent = ManualClock(), []
    book = make_book(metrics, clock, sent)
    book(new_alert())
    book.add_silence({"room": "r1"}, until=clock.now() + 600, by="desk")
    await clock.advance(200)
    assert await book.check() == []
    await clock.advance(600)
    [step] = await book.check()
    assert step.state == "escalated"


async def test_run_loop_fires_deadlines_on_the_clock(metrics: Metrics) -> None:
    """The timer task wakes at the deadline of the manual clock."""
    clock, sent = ManualClock(), []
    book = make_book(metrics, clock, sent)
    task = asyncio.create_task(book.run())
    book(new_alert("critical"))
    await clock.advance(61)
    assert [a.state for a in sent] == ["escalated"]
    task.cancel()


async def test_restart_resumes_open_alerts_and_timers(metrics: Metrics, tmp_path: Path) -> None:
    """A new book on the same store keeps the alert, its deadline and its ladder position."""
    clock, sent = ManualClock(), []
    store = BookStore(tmp_path / "alerts.db")
    book = make_book(metrics, clock, sent, store)
    book(new_alert())
    store.close()
    store = BookStore(tmp_path / "alerts.db")
    again = make_book(Metrics(), clock, sent, store)
    assert again.next_deadline("inq-1") == clock.now() + 180
    await clock.advance(181)
    [step] = await again.check()
    assert (step.assignee, step.version) == ("wang", 2)
    store.close()


async def test_reload_keeps_open_alerts_and_timers(metrics: Metrics) -> None:
    """A new routing config keeps the alert and its deadline; the next step uses the new roster."""
    clock, sent = ManualClock(), []
    book = make_book(metrics, clock, sent)
    book(new_alert())
    live = book.add_silence({"room": "r9"}, until=clock.now() + 600, by="desk")
    deadline = book.next_deadline("inq-1")
    fresh = RoutingConfig.model_validate({"teams": {"aftersales": {
        "lead": "boss", "shifts": [{"staff": ["zhao"]}]}}})  # fmt: skip
    book.reconfigure(fresh, EscalationConfig())
    assert book.next_deadline("inq-1") == deadline
    assert book.list_silences() == [live]
    await clock.advance(181)
    [step] = await book.check()
    assert step.assignee == "zhao"
