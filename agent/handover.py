"""Open alerts follow their room between the instances of a cluster, through a shared store.

    alert book ── every entry change (mirror, non-blocking) ──► shared PostgreSQL table
        ▲                                                               │
        └── adopt (room gained: before it is read, then while the old ──┘
            owner may still be finishing)
    rooms no longer read here ──► release from book and aggregator ──► written ──► forget locally

The cluster awaits ``rooms_gained`` before it starts reading a room it gained: the room's
unresolved entries are loaded and the book adopts those newer than what it holds (deadlines
re-armed as stored, so an escalation that fell due while nobody owned the room fires at
once), and the aggregator adopts their alerts so later findings fold into them under the
same ``alert_id``. For ``catch_up`` seconds afterwards the room is re-loaded every ``tick``:
the instance handing the room over keeps mirroring changes until its overlap ends.

Every ``tick``, rooms this instance no longer reads (handed over, or left over from before a
restart) are released: the book and the aggregator drop them, so two instances never
escalate one alert, and once the shared store has committed their last state the local
copies are deleted.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from agent.aggregate import Aggregator
from agent.alertbook import AlertBook
from agent.events import Alert
from agent.logs import get_logger
from agent.metrics import Metrics
from agent.sinks.mqtt import RoomStatus

_log = get_logger("agent.handover")


@runtime_checkable
class SharedStore(Protocol):
    """The store the instances share (``agent.store.RecordStore`` on PostgreSQL)."""

    shared: bool

    def mirror_entry(self, row: dict[str, Any]) -> None:
        """Queue the newest state of a book entry; never waits."""

    async def load_entries(
        self, rooms: Sequence[str], alert_ids: Sequence[str] = ()
    ) -> list[dict[str, Any]]:
        """Unresolved entries of ``rooms``, and those of ``alert_ids`` in any state."""

    def mark(self) -> int:
        """A mark after everything queued so far."""

    async def written(self, mark: int, deadline: float | None = None) -> bool:
        """Wait until everything queued before ``mark`` is committed; False past
        ``deadline`` seconds."""


class Assignment(Protocol):
    """What the hand-over needs of the cluster."""

    @property
    def assigned(self) -> bool:
        """Whether an assignment has been applied since start."""

    def owns(self, room: str) -> bool:
        """Assigned here and ready."""

    def shares(self, room: str) -> bool:
        """Sharded: may move between instances."""

    def reads(self, room: str) -> bool:
        """Read here now (owned, getting ready, or being handed over)."""


class Handover:
    """The alert side of room moves: adopt on gain, catch up, release what is not read."""

    def __init__(
        self,
        *,
        book: AlertBook,
        aggregator: Aggregator,
        store: SharedStore,
        cluster: Assignment,
        metrics: Metrics,
        catch_up: float,
        tick: float = 1.0,
        store_timeout: float = 2.0,
        statuses: Sequence[RoomStatus] = (),
    ) -> None:
        self.book = book
        self.aggregator = aggregator
        self.store = store
        self.cluster = cluster
        self.metrics = metrics
        self.catch_up = catch_up
        self.tick = tick
        self.store_timeout = store_timeout
        self.statuses = list(statuses)
        self._catching_up: dict[str, float] = {}  # room → monotonic time to stop re-loading
        self._failing = False
        self._unconfirmed: set[str] = set()  # released, local copies not yet deleted
        self._mark = 0  # the shared store's mark after their last states

    # -- rooms gained ---------------------------------------------------------------------

    async def rooms_gained(self, rooms: list[str]) -> None:
        """Adopt the rooms' open alerts before they are read (the cluster awaits this)."""
        until = time.monotonic() + self.catch_up
        for room in rooms:
            self._catching_up[room] = until
        try:
            adopted = await self._load(rooms)
        except Exception as exc:  # read the rooms anyway; the catch-up ticks retry
            _log.warning("open alerts of gained rooms not loaded; retrying", rooms=rooms,
                         error=str(exc) or type(exc).__name__)  # fmt: skip
            self._failing = True
            return
        _log.info("rooms gained; open alerts continued", rooms=rooms, adopted=len(adopted),
                  alert_ids=[a.alert_id for a in adopted][:20])  # fmt: skip

    def rooms_ready(self, rooms: list[str]) -> None:
        """The rooms are owned here from now on: their timers run here."""
        self.book.rearm()

    async def _load(self, rooms: Sequence[str]) -> list[Alert]:
        """Adopt what the shared store has for ``rooms``; returns the open alerts adopted."""
        held = self.book.alert_ids(rooms)  # a copy restored here may be closed there
        try:
            entries = await self.store.load_entries(rooms, held)
        except Exception:
            self.metrics.cluster_alert_load_failures.inc()
            raise
        adopted = self.book.adopt(entries)
        now = time.time()
        for alert in adopted:
            if alert.state == "resolved":
                self.aggregator.close(alert.alert_id)  # its next finding opens a new alert
            else:
                self._into_aggregator(alert, now)
            for status in self.statuses:
                status.update(alert)  # the retained room status counts it from the next version
        opened = [a for a in adopted if a.state != "resolved"]
        self.metrics.cluster_alerts_adopted.inc(len(opened))
        return opened

    def _into_aggregator(self, alert: Alert, now: float) -> None:
        key = (alert.room, alert.kind, alert.category, alert.group_key)
        group = self.aggregator.open.get(key)
        if group is not None and group.alert.alert_id == alert.alert_id:
            self.aggregator.close(alert.alert_id)  # an older copy: take the adopted one
        # A group already open under another id (found here first) keeps it: both go on.
        # The quiet period runs from the alert's last change, as it did on the old owner.
        self.aggregator.adopt(alert, min(now, alert.updated_at or now))

    async def _catch_up(self) -> None:
        now = time.monotonic()
        for room, until in list(self._catching_up.items()):
            if now >= until:
                del self._catching_up[room]
        rooms = sorted(r for r in self._catching_up if self.cluster.owns(r))
        if not rooms:
            return
        try:
            async with asyncio.timeout(self.store_timeout):
                adopted = await self._load(rooms)
        except Exception as exc:  # the next tick tries again
            if not self._failing:
                _log.warning("open alerts of gained rooms not loaded; retrying", rooms=rooms,
                             error=str(exc) or type(exc).__name__)  # fmt: skip
            self._failing = True
            return
        self._failing = False
        if adopted:
            _log.info("late alerts of gained rooms continued", rooms=rooms,
                      alert_ids=[a.alert_id for a in adopted][:20])  # fmt: skip

    # -- rooms given up -------------------------------------------------------------------

    def _not_read(self) -> set[str]:
        rooms = self.book.rooms() | {key[0] for key in self.aggregator.open}
        return {r for r in rooms if self.cluster.shares(r) and not self.cluster.reads(r)}

    async def _release(self) -> None:
        if not self.cluster.assigned:
            return  # restored entries wait until this instance knows which rooms are its
        rooms = self._not_read()
        if rooms:
            self._drop(rooms)
        if self._unconfirmed and await self.store.written(self._mark, self.store_timeout):
            self.book.forget(self._unconfirmed)
            self._unconfirmed.clear()

    def _drop(self, rooms: set[str]) -> None:
        released = self.book.release(rooms)
        for key, group in list(self.aggregator.open.items()):
            if key[0] in rooms:
                self.aggregator.close(group.alert.alert_id)
        for status in self.statuses:
            for room in rooms:
                status.rooms.pop(room, None)
        for room in rooms:
            self._catching_up.pop(room, None)
        self.metrics.cluster_alerts_released.inc(len(released))
        _log.info("rooms handed over; their alerts released", rooms=sorted(rooms),
                  released=len(released))  # fmt: skip
        # Local copies go once the shared store has their last state (retried every tick).
        self._unconfirmed.update(released)
        self._mark = self.store.mark()

    async def run(self) -> None:
        """Catch up on gained rooms and release rooms no longer read, every tick."""
        while True:
            await asyncio.sleep(self.tick)
            await self._catch_up()
            await self._release()
