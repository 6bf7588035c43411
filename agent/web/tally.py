"""Per-room counts of alert occurrences by category: last 5 minutes and whole broadcast.

Pure: fed with every alert version, it counts the growth of ``count`` between versions at
the version's ``last_seen``, so repeated questions add up without double counting.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field

from agent.events import Alert

WINDOW_SECONDS = 300.0


@dataclass(slots=True)
class _Room:
    total: Counter[str] = field(default_factory=Counter)
    recent: deque[tuple[float, str, int]] = field(default_factory=deque)
    spiking: set[str] = field(default_factory=set)


class Tally:
    """Counts by room and category; ``snapshot(now)`` is what the desk shows."""

    def __init__(self, window: float = WINDOW_SECONDS, max_events: int = 100_000) -> None:
        self.window = window
        self.max_events = max_events
        self._rooms: dict[str, _Room] = {}
        self._seen: dict[str, int] = {}

    def add(self, alert: Alert) -> None:
        """Account one alert version (a repeat of an already-seen count adds nothing)."""
        room = self._rooms.setdefault(alert.room, _Room())
        if alert.kind == "spike":
            # A spike names the category that surged; it is highlighted while open.
            if alert.state == "resolved":
                room.spiking.discard(alert.category)
            else:
                room.spiking.add(alert.category)
            return
        grown = alert.count - self._seen.get(alert.alert_id, 0)
        if alert.state == "resolved":
            # No version follows a resolve: forget the id so memory stays bounded.
            self._seen.pop(alert.alert_id, None)
        else:
            self._seen[alert.alert_id] = max(alert.count, self._seen.get(alert.alert_id, 0))
        if grown <= 0:
            return
        room.total[alert.category] += grown
        room.recent.append((alert.last_seen, alert.category, grown))
        while len(room.recent) > self.max_events:
            room.recent.popleft()

    def snapshot(self, now: float) -> dict[str, dict[str, object]]:
        """``{room: {"recent": {cat: n}, "total": {cat: n}, "spiking": [cat]}}``."""
        out: dict[str, dict[str, object]] = {}
        for name, room in self._rooms.items():
            while room.recent and room.recent[0][0] < now - self.window:
                room.recent.popleft()
            recent: Counter[str] = Counter()
            for _, category, n in room.recent:
                recent[category] += n
            out[name] = {
                "recent": dict(recent),
                "total": dict(room.total),
                "spiking": sorted(room.spiking),
            }
        return out
