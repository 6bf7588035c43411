"""Silences (matchers + expiry, from the file or created live) and recurring mute windows.

A silenced or muted alert is still kept, listed and recorded; it is only not *notified*
(no MQTT page, no chat message) and not escalated while the silence holds.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from agent.config import MuteWindowConfig, RoutingConfig
from agent.events import Alert
from agent.routing.matchers import labels_of, matches

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MATCH_KEYS = frozenset({"room", "kind", "category", "severity", "team", "sku", "assignee"})


@dataclass(frozen=True, slots=True)
class Silence:
    """Alerts whose labels match ``matchers`` are not notified until ``until`` (epoch)."""

    id: str
    matchers: dict[str, str]
    until: float
    by: str
    comment: str = ""
    created: float = 0.0
    from_config: bool = field(default=False, compare=False)

    def active(self, now: float) -> bool:
        """Not yet expired."""
        return now < self.until

    def to_dict(self) -> dict[str, Any]:
        """JSON form for the API and the store."""
        return asdict(self)


def check_matchers(matchers: Mapping[str, str]) -> dict[str, str]:
    """Validate matchers from the API: known keys, string values, at least one."""
    if not matchers:
        raise ValueError("a silence needs at least one matcher")
    out: dict[str, str] = {}
    for key, value in matchers.items():
        if key not in MATCH_KEYS:
            raise ValueError(f"unknown matcher {key!r}; expected one of {sorted(MATCH_KEYS)}")
        if not isinstance(value, str) or not value:
            raise ValueError(f"matcher {key!r} needs a non-empty string value")
        out[key] = value
    return out


def _minutes(hhmm: str) -> int:
    hour, _, minute = hhmm.partition(":")
    return int(hour) * 60 + int(minute)


@dataclass(frozen=True, slots=True)
class MuteWindow:
    """A weekly window of local time in which matching alerts are not notified."""

    matchers: dict[str, str]
    days: frozenset[int]
    start: int
    end: int

    @classmethod
    def of(cls, config: MuteWindowConfig) -> MuteWindow:
        """From its config."""
        days = frozenset(_DAYS.index(d) for d in config.days)
        return cls(dict(config.matchers), days, _minutes(config.start), _minutes(config.end))

    def active(self, local: datetime) -> bool:
        """Whether local time ``local`` falls inside the window (crossing midnight allowed)."""
        minute, day = local.hour * 60 + local.minute, local.weekday()
        if self.start < self.end:
            return day in self.days and self.start <= minute < self.end
        return (day in self.days and minute >= self.start) or (
            (day - 1) % 7 in self.days and minute < self.end
        )


class Silencer:
    """The live set of silences and the mute windows; answers "is this alert quiet now?"."""

    def __init__(self, config: RoutingConfig, stored: Iterable[Silence] = ()) -> None:
        self.tz = ZoneInfo(config.timezone)
        self.mutes = [MuteWindow.of(m) for m in config.mute_windows]
        self.silences: dict[str, Silence] = {}
        for i, s in enumerate(config.silences):
            until = s.until if s.until.tzinfo is not None else s.until.replace(tzinfo=self.tz)
            silence = Silence(f"cfg-{i}", dict(s.matchers), until.timestamp(), s.by, s.comment,
                              from_config=True)  # fmt: skip
            self.silences[silence.id] = silence
        for silence in stored:
            self.silences[silence.id] = silence

    def add(
        self, matchers: Mapping[str, str], until: float, by: str, comment: str, now: float
    ) -> Silence:
        """Create a silence (raises ``ValueError`` on bad matchers or a past expiry)."""
        if until <= now:
            raise ValueError(f"silence expiry {until} is not in the future")
        silence = Silence(
            f"sil-{secrets.token_hex(6)}", check_matchers(matchers), until, by, comment, now
        )
        self.silences[silence.id] = silence
        return silence

    def delete(self, silence_id: str) -> bool:
        """Remove a silence; False when unknown."""
        return self.silences.pop(silence_id, None) is not None

    def active(self, now: float) -> list[Silence]:
        """Silences not yet expired, soonest expiry first (expired ones are dropped)."""
        for sid in [sid for sid, s in self.silences.items() if not s.active(now)]:
            del self.silences[sid]
        return sorted(self.silences.values(), key=lambda s: s.until)

    def silenced_by(self, alert: Alert, now: float) -> Silence | None:
        """The first active silence matching ``alert``."""
        labels = labels_of(alert)
        for silence in self.silences.values():
            if silence.active(now) and matches(silence.matchers, labels):
                return silence
        return None

    def muted(self, alert: Alert, now: float) -> bool:
        """Whether a mute window matching ``alert`` is open now."""
        if not self.mutes:
            return False
        local = datetime.fromtimestamp(now, self.tz)
        labels = labels_of(alert)
        return any(m.active(local) and matches(m.matchers, labels) for m in self.mutes)
