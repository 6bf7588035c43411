"""Label matching shared by routing rules, silences and mute windows (pure functions)."""

from __future__ import annotations

from collections.abc import Mapping
from fnmatch import fnmatchcase

from agent.events import Alert

Labels = Mapping[str, str]
Matchers = Mapping[str, str | list[str]]


def labels_of(alert: Alert) -> dict[str, str]:
    """The labels an alert can be matched on."""
    return {
        "room": alert.room,
        "kind": alert.kind,
        "category": alert.category,
        "severity": alert.severity,
        "team": alert.team or "",
        "sku": alert.sku or "",
        "assignee": alert.assignee or "",
    }


def _one(pattern: str, value: str) -> bool:
    # Plain values compare exactly; ``*``/``?``/``[…]`` glob (room "live-*").
    if any(ch in pattern for ch in "*?["):
        return fnmatchcase(value, pattern)
    return pattern == value


def matches(matchers: Matchers, labels: Labels) -> bool:
    """Every matcher holds (a list means any of its values); no matchers match everything."""
    for key, wanted in matchers.items():
        value = labels.get(key, "")
        options = [wanted] if isinstance(wanted, str) else wanted
        if not any(_one(option, value) for option in options):
            return False
    return True
