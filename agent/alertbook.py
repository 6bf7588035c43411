"""The alert state machine: routing, acknowledgement, escalation, resolution, silences.

    open ──ack──► acked ──resolve──► resolved
     │  ▲          │ (not resolved within resolve SLA: re-opens)
     │  └──────────┘
     └─ no ack within the severity's SLA ─► escalated (next person on duty, then the lead)

The pipeline hands every version from the aggregator through ``__call__`` (its ``route``
hook): the book routes new alerts (team, assignee, deadline) and stamps the lifecycle onto
updates. Staff actions (``ack``/``resolve``/``assign`` from MQTT commands, the HTTP API or a
chat ack link) and SLA expiries produce new versions that the book publishes itself: to the
durable outbox (so MQTT and the robots see them), to the records hook and to subscribers.

Deadlines are epoch seconds on a per-alert timer, second-granular, stored with the alert:
an agent restarted after a SIGKILL resumes every open alert and its timer. An ack cancels
the pending escalation; silences, mute windows and spike inhibition hold notification and
escalation while they last.

In a cluster the book answers only for the rooms it ``owns`` (``Ownership``, the cluster's
assignment): only there do timers fire and staff actions apply. Every change of an entry of
a sharded room is also handed to ``mirror`` (the shared store), tagged with a ``revision``
that grows with each change, so the instance that takes a room over ``adopt``s its open
alerts where they stood; the instance that gave it away ``release``s them.
"""

from __future__ import annotations

import asyncio
import builtins
import weakref
from collections import deque
from collections.abc import Awaitable, Callable, Collection, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, Self

from agent.config import EscalationConfig, RoutingConfig
from agent.events import SEVERITIES, Alert, AlertState
from agent.logs import get_logger
from agent.metrics import Metrics
from agent.routing.clock import Clock, SystemClock
from agent.routing.rules import Route, Router
from agent.routing.silences import Silence, Silencer
from agent.routing.store import BookStore

_log = get_logger("agent.alertbook")

Publisher = Callable[[Alert], Awaitable[None]]
# How far an alert's version jumps when another instance takes it over (see ``adopt``).
TAKEOVER_VERSION_SKIP = 10
Step = Literal["ack", "resolve"]


class RecordSink(Protocol):
    """What the book needs of the records store: a non-blocking submit."""

    def submit(self, record: Alert) -> None:
        """Queue a record."""


class Ownership(Protocol):
    """Which rooms this instance answers for: the cluster's current assignment."""

    def owns(self, room: str) -> bool:
        """Whether this instance fires the room's timers and takes staff actions on it."""

    def shares(self, room: str) -> bool:
        """Whether the room can move between instances (its entries are mirrored)."""


# Receives a shared-store row per entry change: alert_id, room, owner, state, version,
# revision, deadline, updated_at and the entry's JSON. Must not wait.
Mirror = Callable[[dict[str, Any]], None]


@dataclass(slots=True)
class _Entry:
    alert: Alert
    first_published: float
    paged: list[str] = field(default_factory=list)
    step: Step | None = "ack"
    notified: bool = False
    acked_at: float | None = None
    # Saved changes so far, carried across instances: orders two states of one version.
    revision: int = 0

    @property
    def newness(self) -> tuple[int, int]:
        """What "newer" means between two states of one alert (the shared store agrees)."""
        return (self.alert.version, self.revision)

    def to_dict(self) -> dict[str, Any]:
        return {"alert": self.alert.to_dict(), "first_published": self.first_published,
                "paged": self.paged, "step": self.step, "notified": self.notified,
                "acked_at": self.acked_at, "revision": self.revision}  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> _Entry:
        return cls(Alert.from_dict(data["alert"]), data["first_published"], list(data["paged"]),
                   data["step"], data["notified"], data.get("acked_at"),
                   int(data.get("revision", 0)))  # fmt: skip


class Subscription:
    """One subscriber's bounded queue; a slow subscriber loses its oldest versions.

    Held weakly by the book: a subscription that is no longer referenced (the ``async for``
    that used it ended) stops receiving; ``aclose()`` stops it explicitly.
    """

    def __init__(self, book: AlertBook, size: int) -> None:
        self.book = book
        self.items: deque[Alert] = deque(maxlen=size)
        self.ready = asyncio.Event()

    def push(self, alert: Alert) -> None:
        self.items.append(alert)
        self.ready.set()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Alert:
        while not self.items:
            self.ready.clear()
            await self.ready.wait()
        return self.items.popleft()

    async def aclose(self) -> None:
        """Stop receiving."""
        self.book._subscribers.discard(self)


class AlertBook:
    """Open alerts with their lifecycle; the pipeline's ``route`` hook and the staff API."""

    def __init__(
        self,
        *,
        metrics: Metrics,
        routing: RoutingConfig | None = None,
        escalation: EscalationConfig | None = None,
        clock: Clock | None = None,
        store: BookStore | None = None,
        publish: Publisher | None = None,
        records: RecordSink | None = None,
        inhibited: Callable[[Alert], bool] | None = None,
        on_close: Callable[[str], object] | None = None,
        subscriber_queue: int = 1000,
        ownership: Ownership | None = None,
        mirror: Mirror | None = None,
        instance: str = "",
    ) -> None:
        self.metrics = metrics
        self.routing = routing or RoutingConfig()
        self.escalation = escalation or EscalationConfig()
        self.router = Router(self.routing)
        self.clock: Clock = clock or SystemClock()
        self.store = store
        self.publish = publish
        self.records = records
        self.inhibited = inhibited
        self.on_close = on_close
        self.subscriber_queue = subscriber_queue
        self.ownership = ownership
        self.mirror = mirror
        self.instance = instance
        self._entries: dict[str, _Entry] = {}
        self._subscribers: weakref.WeakSet[Subscription] = weakref.WeakSet()
        self._wake = asyncio.Event()
        stored = [Silence(**s) for s in store.silences()] if store is not None else []
        self.silencer = Silencer(self.routing, stored)
        if store is not None:
            self._restore(store)

    def _restore(self, store: BookStore) -> None:
        for data in store.alerts():
            entry = _Entry.from_dict(data)
            self._entries[entry.alert.alert_id] = entry
            if entry.alert.state != "resolved":
                self._open_gauge(entry.alert, +1)
        if self._entries:
            _log.info("alert book restored", alerts=len(self._entries))

    def reconfigure(self, routing: RoutingConfig, escalation: EscalationConfig) -> None:
        """Apply a reloaded config; open alerts, their deadlines and live silences are kept."""
        live = [s for s in self.silencer.silences.values() if not s.from_config]
        self.routing, self.escalation = routing, escalation
        self.router = Router(routing)
        self.silencer = Silencer(routing, live)
        self._wake.set()

    # -- SLAs and suppression -----------------------------------------------------------

    def _ack_sla(self, alert: Alert) -> float:
        return float(self.escalation.ack_seconds.get(alert.severity, 300.0))

    def _resolve_sla(self, alert: Alert) -> float:
        return float(self.escalation.resolve_seconds.get(alert.severity, 3600.0))

    def suppressed(self, alert: Alert, now: float | None = None) -> bool:
        """Silenced, muted, or inhibited by an open spike: kept but not notified."""
        at = self.clock.now() if now is None else now
        if self.inhibited is not None and self.inhibited(alert):
            return True
        return self.silencer.silenced_by(alert, at) is not None or self.silencer.muted(alert, at)

    def should_notify(self, alert: Alert) -> bool:
        """The outbox gate: notify unless suppressed; lifecycle news of a paged alert passes.

        In a cluster, an update of an alert whose room is owned elsewhere (read on during a
        hand-over, or drained at a stop) is not notified: the owner publishes the alert's
        versions, so one version number never goes out twice with different contents.
        """
        if alert.version > 1 and not self.owns(alert.room):
            return False
        entry = self._entries.get(alert.alert_id)
        if not self.suppressed(alert):
            if entry is not None:
                entry.notified = True
            return True
        return entry is not None and entry.notified and alert.state in ("acked", "resolved")

    # -- the pipeline hook --------------------------------------------------------------

    def __call__(self, alert: Alert) -> Alert:
        """Route a new alert, or stamp the lifecycle onto an aggregator update."""
        now = self.clock.now()
        entry = self._entries.get(alert.alert_id)
        if entry is None:
            if alert.version > 1 and not self.owns(alert.room):
                # Folded just before its room was released: the new owner continues it.
                return Alert.from_dict(alert.to_dict())
            return self._open(alert, now)
        previous = entry.alert
        if previous.state == "resolved":
            # An update racing a resolve: re-sending the stored version is deduplicated.
            return Alert.from_dict(previous.to_dict())
        alert.version = previous.version + 1
        if alert.state != "resolved":  # closed by the quiet period: _changed stops the timers
            alert.state = previous.state
        alert.team, alert.assignee = previous.team, previous.assignee
        alert.escalation_level, alert.acked_by = previous.escalation_level, previous.acked_by
        alert.deadline = previous.deadline
        if (
            entry.step == "ack"
            and alert.deadline is not None
            and SEVERITIES.index(alert.severity) > SEVERITIES.index(previous.severity)
        ):
            # More viewers asking: the tighter SLA of the new severity applies from now.
            alert.deadline = min(alert.deadline, now + self._ack_sla(alert))
        entry.alert = alert
        return self._changed(entry)

    def _open(self, alert: Alert, now: float) -> Alert:
        if alert.state == "resolved":
            return alert  # the close of an alert opened before a restart without a store
        route: Route = self.router(alert, now)
        alert.version = 1
        alert.team = route.team
        alert.assignee = route.ladder[0] if route.ladder else None
        alert.escalation_level = 0
        alert.deadline = now + self._ack_sla(alert)
        entry = _Entry(alert, first_published=now, paged=list(route.ladder[:1]))
        self._entries[alert.alert_id] = entry
        self._open_gauge(alert, +1)
        self._wake.set()
        return self._changed(entry)

    def _open_gauge(self, alert: Alert, delta: int) -> None:
        room = self.metrics.room(alert.room)
        self.metrics.alerts_open.labels(room, alert.team or "").inc(delta)

    def _changed(self, entry: _Entry) -> Alert:
        """Store and broadcast the entry's alert; returns a snapshot safe to hand out.

        The entry keeps mutating (acks, deadlines); what goes to the outbox, the records
        and subscribers must not.
        """
        alert = entry.alert
        if alert.state == "resolved" and entry.step is not None:
            # Closed by the aggregator's quiet period: stop the timers.
            entry.step = None
            alert.deadline = None
            self._open_gauge(alert, -1)
        entry.revision += 1
        if self.store is not None:
            self.store.save_alert(alert.alert_id, entry.to_dict())
        if self.mirror is not None and (
            self.ownership is None or self.ownership.shares(alert.room)
        ):
            self.mirror(self._shared_row(entry))
        snapshot = Alert.from_dict(alert.to_dict())
        for subscriber in list(self._subscribers):
            subscriber.push(snapshot)
        return snapshot

    def _shared_row(self, entry: _Entry) -> dict[str, Any]:
        alert = entry.alert
        return {"alert_id": alert.alert_id, "room": alert.room, "owner": self.instance,
                "state": alert.state, "version": alert.version, "revision": entry.revision,
                "deadline": alert.deadline if entry.step is not None else None,
                "updated_at": self.clock.now(), "entry": entry.to_dict()}  # fmt: skip

    async def _emit(self, entry: _Entry, state: AlertState | None, now: float) -> Alert:
        """Publish a book-originated version: new version number, store, subscribers, sinks."""
        alert = Alert.from_dict(entry.alert.to_dict())
        alert.version += 1
        alert.updated_at = now
        # Each escalation step counts, even from escalated to escalated (a new person paged).
        if state is not None and (state != entry.alert.state or state == "escalated"):
            self.metrics.alert_transitions.labels(state).inc()
            alert.state = state
        entry.alert = alert
        snapshot = self._changed(entry)
        if self.records is not None:
            self.records.submit(snapshot)
        if self.publish is not None:
            await self.publish(snapshot)
        self._wake.set()
        return snapshot

    # -- staff actions ------------------------------------------------------------------

    def owns(self, room: str) -> bool:
        """Whether this instance answers for ``room`` (always, outside a cluster)."""
        return self.ownership is None or self.ownership.owns(room)

    def holds(self, alert_id: str) -> bool:
        """Whether staff actions on this alert are taken here (known, and its room owned)."""
        entry = self._entries.get(alert_id)
        return entry is not None and self.owns(entry.alert.room)

    def _entry(self, alert_id: str) -> _Entry:
        entry = self._entries.get(alert_id)
        if entry is None or not self.owns(entry.alert.room):
            raise KeyError(alert_id)  # unknown here; in a cluster, the owner answers
        return entry

    async def ack(self, alert_id: str, staff: str) -> Alert:
        """Acknowledge: cancels every pending escalation; the resolve SLA starts."""
        entry = self._entry(alert_id)
        alert = entry.alert
        if alert.state in ("acked", "resolved"):
            return Alert.from_dict(alert.to_dict())  # already done: idempotent
        now = self.clock.now()
        if entry.acked_at is None:
            ack_seconds = max(0.0, now - entry.first_published)
            self.metrics.alert_ack.labels(alert.severity).observe(ack_seconds)
        entry.acked_at = now
        entry.step = "resolve"
        entry.alert.acked_by = staff
        entry.alert.assignee = staff
        entry.alert.deadline = now + self._resolve_sla(alert)
        _log.info("alert acknowledged", alert_id=alert_id, staff=staff)
        return await self._emit(entry, "acked", now)

    async def resolve(self, alert_id: str, staff: str, *, false_positive: bool = False) -> Alert:
        """Resolve (or dismiss as a false positive); the next finding opens a new alert."""
        entry = self._entry(alert_id)
        if entry.alert.state == "resolved":
            return Alert.from_dict(entry.alert.to_dict())
        now = self.clock.now()
        entry.alert.resolved_by = staff
        entry.alert.false_positive = false_positive
        alert = await self._emit(entry, "resolved", now)
        if self.on_close is not None:
            self.on_close(alert_id)
        _log.info("alert resolved", alert_id=alert_id, staff=staff, false_positive=false_positive)
        return alert

    async def assign(self, alert_id: str, staff: str, by: str) -> Alert:
        """Hand the alert to ``staff``, who must acknowledge within the SLA."""
        entry = self._entry(alert_id)
        if entry.alert.state == "resolved":
            return Alert.from_dict(entry.alert.to_dict())
        now = self.clock.now()
        entry.alert.assignee = staff
        entry.alert.acked_by = None
        entry.paged.append(staff)
        entry.step = "ack"
        entry.alert.deadline = now + self._ack_sla(entry.alert)
        _log.info("alert assigned", alert_id=alert_id, staff=staff, by=by)
        state: AlertState = "open" if entry.alert.state == "acked" else entry.alert.state
        return await self._emit(entry, state, now)

    # -- timers -------------------------------------------------------------------------

    async def check(self, now: float | None = None) -> builtins.list[Alert]:
        """Fire every deadline that has passed; returns the versions published."""
        at = self.clock.now() if now is None else now
        out = []
        for entry in list(self._entries.values()):
            deadline = entry.alert.deadline
            if entry.step is None or deadline is None or deadline > at:
                continue
            if not self.owns(entry.alert.room):
                continue  # another instance runs this room's timers
            if entry.step == "resolve":
                out.append(await self._reopen(entry, at))
            elif self.suppressed(entry.alert, at):
                entry.alert.deadline = at + self._ack_sla(entry.alert)
                self._changed(entry)
            else:
                out.append(await self._escalate(entry, at))
        self._purge(at)
        return out

    async def _reopen(self, entry: _Entry, now: float) -> Alert:
        entry.step = "ack"
        entry.alert.acked_by = None
        entry.alert.deadline = now + self._ack_sla(entry.alert)
        _log.warning("acknowledged alert not resolved in time; re-opened",
                     alert_id=entry.alert.alert_id)  # fmt: skip
        return await self._emit(entry, "open", now)

    async def _escalate(self, entry: _Entry, now: float) -> Alert:
        alert = entry.alert
        ladder = self.router(alert, now).ladder
        fresh = [p for p in ladder if p not in entry.paged]
        if fresh:
            target: str | None = fresh[0]
        elif self.escalation.repeat_last and ladder:
            target = ladder[-1]
        else:
            target = alert.assignee
        alert.escalation_level += 1
        alert.assignee = target
        if target is not None and target not in entry.paged:
            entry.paged.append(target)
        last_rung = not fresh and not self.escalation.repeat_last
        alert.deadline = None if last_rung else now + self._ack_sla(alert)
        if last_rung:
            entry.step = None
        _log.warning("alert not acknowledged in time; escalated", alert_id=alert.alert_id,
                     level=alert.escalation_level, assignee=target)  # fmt: skip
        return await self._emit(entry, "escalated", now)

    def _purge(self, now: float) -> None:
        keep = self.escalation.keep_resolved_seconds
        for alert_id, entry in list(self._entries.items()):
            if entry.alert.state == "resolved" and now - entry.alert.updated_at >= keep:
                del self._entries[alert_id]
                if self.store is not None:
                    self.store.delete_alert(alert_id)

    def _next_wake(self, now: float) -> float:
        deadlines = [
            e.alert.deadline
            for e in self._entries.values()
            if e.step is not None and self.owns(e.alert.room)
        ]
        soonest = min((d for d in deadlines if d is not None), default=now + 60.0)
        return min(soonest, now + 60.0)

    async def run(self) -> None:
        """Fire deadlines as they fall due, until cancelled."""
        while True:
            self._wake.clear()
            now = self.clock.now()
            try:
                await self.check(now)
            except Exception:  # a failing publish must not stop every other timer
                _log.exception("escalation check failed")
            await self.clock.sleep_until(self._next_wake(self.clock.now()), self._wake)

    # -- rooms moving between instances ------------------------------------------------

    def adopt(self, entries: Iterable[dict[str, Any]]) -> builtins.list[Alert]:
        """Take over entries mirrored by another instance (their room moved here).

        An entry is adopted when it is newer than what this book holds, or, if still open,
        when this book does not hold it. Its deadline re-arms as stored, so an escalation
        that fell due while nobody owned the room fires at the next check; a resolved one
        retires a stale copy held here. Its version skips ahead by
        ``TAKEOVER_VERSION_SKIP``. Returns the alerts adopted.
        """
        adopted = []
        for data in entries:
            entry = _Entry.from_dict(data)
            alert = entry.alert
            held = self._entries.get(alert.alert_id)
            if held is None and alert.state == "resolved":
                continue  # closed elsewhere, never held here
            if held is not None and held.newness >= entry.newness:
                continue
            if held is not None and held.alert.state != "resolved":
                self._open_gauge(held.alert, -1)
            # A fence: versions the previous owner published in its last instants, without
            # storing them, are never reused here for different contents.
            alert.version += TAKEOVER_VERSION_SKIP
            self._entries[alert.alert_id] = entry
            if alert.state != "resolved":
                self._open_gauge(alert, +1)
            adopted.append(self._changed(entry))  # saved here, mirrored as this owner's
        if adopted:
            self._wake.set()
        return adopted

    def release(self, rooms: Collection[str]) -> builtins.list[str]:
        """Drop the entries of rooms another instance took over; returns their alert ids.

        Their last states were mirrored already; local rows stay until ``forget``.
        """
        gone = self.alert_ids(rooms)
        for alert_id in gone:
            entry = self._entries.pop(alert_id)
            if entry.alert.state != "resolved":
                self._open_gauge(entry.alert, -1)
        return gone

    def alert_ids(self, rooms: Collection[str]) -> builtins.list[str]:
        """The alerts held for ``rooms``."""
        return [i for i, e in self._entries.items() if e.alert.room in rooms]

    def rooms(self) -> set[str]:
        """Rooms with an entry in the book."""
        return {entry.alert.room for entry in self._entries.values()}

    def rearm(self) -> None:
        """Recompute the next deadline now (the rooms this instance owns changed)."""
        self._wake.set()

    def forget(self, alert_ids: Iterable[str]) -> None:
        """Delete released entries from the local store (once the shared store has them)."""
        if self.store is None:
            return
        for alert_id in alert_ids:
            if alert_id not in self._entries:  # not adopted back meanwhile
                self.store.delete_alert(alert_id)

    # -- the desk's view ----------------------------------------------------------------

    def list(self, room: str | None = None, states: Collection[str] | None = None) -> list[Alert]:
        """Alerts (open ones and recently resolved), newest first."""
        alerts = [
            Alert.from_dict(e.alert.to_dict())
            for e in self._entries.values()
            if (room is None or e.alert.room == room)
            and (states is None or e.alert.state in states)
        ]
        return sorted(alerts, key=lambda a: (a.first_seen, a.alert_id), reverse=True)

    def get(self, alert_id: str) -> Alert | None:
        """The latest version of one alert."""
        entry = self._entries.get(alert_id)
        return Alert.from_dict(entry.alert.to_dict()) if entry is not None else None

    def next_deadline(self, alert_id: str) -> float | None:
        """When the pending escalation (or re-open) fires, epoch seconds; None when none."""
        entry = self._entries.get(alert_id)
        if entry is None or entry.step is None:
            return None
        return entry.alert.deadline

    def subscribe(self) -> Subscription:
        """Every version published from now on (``async for``); ``aclose()`` to stop."""
        subscription = Subscription(self, self.subscriber_queue)
        self._subscribers.add(subscription)
        return subscription

    # -- silences -----------------------------------------------------------------------

    def add_silence(
        self, matchers: dict[str, str], until: float, by: str, comment: str = ""
    ) -> Silence:
        """Silence matching alerts until ``until``; raises ``ValueError`` on bad input."""
        silence = self.silencer.add(matchers, until, by, comment, self.clock.now())
        if self.store is not None:
            self.store.save_silence(silence.id, silence.to_dict())
        _log.info("silence added", silence=silence.id, by=by, matchers=silence.matchers)
        return silence

    def list_silences(self) -> builtins.list[Silence]:
        """Active silences, soonest expiry first."""
        return self.silencer.active(self.clock.now())

    def delete_silence(self, silence_id: str) -> bool:
        """Remove a silence; False when unknown."""
        removed = self.silencer.delete(silence_id)
        if removed and self.store is not None:
            self.store.delete_silence(silence_id)
        return removed
