"""Who is on duty: weekly shifts in local time (Asia/Shanghai), overrides, fallback, lead.

Pure: ``on_duty(team, now)`` and ``ladder(team, now)`` take epoch seconds and return staff
ids, so rosters are tested without clocks or event loops.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from agent.config import RoutingConfig, ShiftConfig, TeamConfig

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _minutes(hhmm: str) -> int:
    hour, _, minute = hhmm.partition(":")
    return int(hour) * 60 + int(minute)


@dataclass(frozen=True, slots=True)
class _Shift:
    days: frozenset[int]
    start: int
    end: int
    staff: tuple[str, ...]

    @classmethod
    def of(cls, config: ShiftConfig) -> _Shift:
        days = frozenset(_DAYS.index(d) for d in config.days)
        return cls(days, _minutes(config.start), _minutes(config.end), tuple(config.staff))

    def active(self, weekday: int, minute: int) -> bool:
        if self.start < self.end:
            return weekday in self.days and self.start <= minute < self.end
        # Crosses midnight: the evening part belongs to the listed day, the morning part
        # to the day after (a "mon 22:00–06:00" shift covers Tuesday 03:00).
        return (weekday in self.days and minute >= self.start) or (
            (weekday - 1) % 7 in self.days and minute < self.end
        )


def _unique(people: list[str]) -> list[str]:
    return list(dict.fromkeys(p for p in people if p))


class Roster:
    """Rosters of every team from the routing config."""

    def __init__(self, config: RoutingConfig) -> None:
        self.tz = ZoneInfo(config.timezone)
        self.teams: dict[str, TeamConfig] = dict(config.teams)
        self._shifts = {name: [_Shift.of(s) for s in t.shifts] for name, t in self.teams.items()}
        self._overrides = {
            name: [(self._epoch(o.start), self._epoch(o.end), list(o.staff)) for o in t.overrides]
            for name, t in self.teams.items()
        }

    def _epoch(self, when: datetime) -> float:
        # Naive times in the file are local (the team's time zone), not UTC.
        aware = when if when.tzinfo is not None else when.replace(tzinfo=self.tz)
        return aware.timestamp()

    def on_duty(self, team: str, now: float) -> list[str]:
        """Staff on duty for ``team`` at ``now``: overrides, else shifts, else the fallback."""
        config = self.teams.get(team)
        if config is None:
            return []
        override = [p for s, e, staff in self._overrides[team] if s <= now < e for p in staff]
        if override:
            return _unique(override)
        local = datetime.fromtimestamp(now, self.tz)
        minute = local.hour * 60 + local.minute
        shift = [
            p for s in self._shifts[team] if s.active(local.weekday(), minute) for p in s.staff
        ]
        return _unique(shift) or _unique(list(config.fallback))

    def lead(self, team: str) -> str | None:
        """The team lead, last rung of the escalation ladder."""
        config = self.teams.get(team)
        return config.lead if config is not None else None

    def ladder(self, team: str, now: float) -> list[str]:
        """Who is paged in turn: the people on duty, then the lead."""
        return _unique([*self.on_duty(team, now), self.lead(team) or ""])
