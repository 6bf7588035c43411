"""商品顺序表: which SKU each room presents now — schedule, live override, or the host naming it."""

from __future__ import annotations

import bisect
import datetime as dt
import threading
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import ahocorasick
import yaml

from classifiers.catalog import Catalog

_TZ = ZoneInfo("Asia/Shanghai")


class LineupError(ValueError):
    """A lineup file that cannot be used."""


def _offset(at: Any, start: float | None, where: str) -> float:
    """Entry time: seconds after ``start`` or "HH:MM" (Asia/Shanghai) on the start's day."""
    if isinstance(at, (int, float)) and not isinstance(at, bool):
        return float(at)
    if isinstance(at, str) and ":" in at:
        try:
            hh, mm = (int(x) for x in at.split(":")[:2])
        except ValueError:
            raise LineupError(f"{where}: bad time {at!r}") from None
        day = dt.datetime.fromtimestamp(start or 0.0, _TZ).date()
        moment = dt.datetime(day.year, day.month, day.day, hh, mm, tzinfo=_TZ).timestamp()
        return moment - (start or 0.0)
    raise LineupError(f"{where}: 'at' must be seconds or HH:MM, got {at!r}")


class Lineup:
    """Schedules per room plus live overrides; thread-safe for the control API."""

    def __init__(
        self,
        schedule: dict[str, list[tuple[float, str]]] | None = None,
        start: float = 0.0,
        catalog: Catalog | None = None,
    ) -> None:
        self.start = start
        self._schedule = {room: sorted(entries) for room, entries in (schedule or {}).items()}
        self._live: dict[str, tuple[float, str]] = {}  # room → (since, sku)
        self._lock = threading.Lock()
        self._names = ahocorasick.Automaton()
        for product in catalog or ():
            for name in (product.name, *product.aliases):
                if len(name) >= 2:
                    # Longest names win: "紧致面霜" over "面霜" at the same end position.
                    best = self._names.get(name, None)
                    if best is None:
                        self._names.add_word(name, (name, product.sku))
        if len(self._names):
            self._names.make_automaton()

    @classmethod
    def load(cls, path: str | Path, catalog: Catalog | None = None) -> Lineup:
        """Read ``{start, rooms: {room: [{at, sku}]}}``; raises LineupError naming the place."""
        path = Path(path)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise LineupError(f"{path.name}: cannot read ({exc.__class__.__name__})") from None
        if not isinstance(data, dict) or not isinstance(data.get("rooms"), dict):
            raise LineupError(f"{path.name}: expected 'rooms:' mapping")
        start = float(data.get("start") or 0.0)
        schedule: dict[str, list[tuple[float, str]]] = {}
        for room, entries in data["rooms"].items():
            for i, entry in enumerate(entries or [], 1):
                where = f"{path.name}: rooms.{room}[{i}]"
                if not isinstance(entry, dict) or not entry.get("sku"):
                    raise LineupError(f"{where}: needs sku and at")
                sku = str(entry["sku"])
                if catalog is not None and catalog.get(sku) is None:
                    raise LineupError(f"{where}: sku {sku!r} is not in the catalog")
                schedule.setdefault(str(room), []).append(
                    (_offset(entry.get("at", 0), start, where), sku)
                )
        return cls(schedule, start, catalog)

    def current(self, room: str, ts: float) -> str | None:
        """What is on air at ``ts``: the newest of the last scheduled entry at or before
        ``ts`` and the live override (a desk switch or the host naming a product).

        The newest wins so that a product the host named a minute ago does not outlast the
        schedule's next switch, and a desk switch holds until the schedule moves on.
        """
        with self._lock:
            live = self._live.get(room)
        scheduled: tuple[float, str] | None = None
        entries = self._schedule.get(room)
        if entries:
            i = bisect.bisect_right([at for at, _ in entries], ts - self.start) - 1
            if i >= 0:
                scheduled = (entries[i][0] + self.start, entries[i][1])
        if live is not None and (scheduled is None or live[0] >= scheduled[0]):
            return live[1]
        return scheduled[1] if scheduled is not None else None

    def set(self, room: str, sku: str | None, at: float | None = None) -> None:
        """Live override from ``at`` (epoch seconds, default now) until the schedule's next
        entry; ``None`` returns the room to its schedule."""
        with self._lock:
            if sku is None:
                self._live.pop(room, None)
            else:
                self._live[room] = (time.time() if at is None else at, sku)

    def detect(self, text: str) -> str | None:
        """The SKU whose name/alias the host says (longest match), or None."""
        if not len(self._names):
            return None
        best: tuple[int, str] | None = None
        for _end, (name, sku) in self._names.iter(text):
            if best is None or len(name) > best[0]:
                best = (len(name), sku)
        return best[1] if best else None
