"""Records → row operations, computed on the hot path (pure: values in, values out).

A finding or alert is turned into plain row dicts at ``submit`` time, so later mutation of
the live object (the alert book keeps changing its entries) cannot change what is written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from agent.events import Alert, Finding, HostSpeech

OpKind = Literal["inquiry", "misstatement", "compliance", "alert", "correction", "delivery", "book"]

# Which table an operation writes, for ``danmaku_records_written_total{table}``.
OP_TABLE: dict[OpKind, str] = {
    "inquiry": "inquiries",
    "misstatement": "misstatements",
    "compliance": "compliance",
    "alert": "alerts",
    "correction": "misstatements",
    "delivery": "alert_deliveries",
    "book": "book_entries",
}


@dataclass(slots=True, frozen=True)
class Op:
    """One write: an insert of ``row`` (or, for ``alert``, an upsert plus a lifecycle event)."""

    kind: OpKind
    row: dict[str, Any]
    event: dict[str, Any] | None = None


def _detail(finding: Finding, key: str) -> str:
    value = finding.details.get(key)
    return "" if value is None else str(value)


def finding_op(finding: Finding) -> Op | None:
    """The row of an inquiry, misstatement or compliance finding (spikes are alerts only)."""
    base = {"room": finding.room, "sku": finding.sku, "text": finding.text,
            "source_ts": finding.ts, "received_ts": finding.received}  # fmt: skip
    if finding.kind == "inquiry":
        return Op("inquiry", {
            **base, "category": finding.category, "severity": finding.severity,
            "after_sales": finding.after_sales, "score": float(finding.score),
            "user_hash": finding.user, "faq_question": finding.group_key or None,
            "faq_reply": finding.suggested_reply, "paid": bool(finding.details.get("paid")),
        })  # fmt: skip
    if finding.kind == "misstatement":
        return Op("misstatement", {
            **base, "field": finding.category, "claimed": _detail(finding, "claimed"),
            "expected": _detail(finding, "expected"), "evidence": _detail(finding, "evidence"),
            "correction": finding.correction, "group_key": finding.group_key,
        })  # fmt: skip
    if finding.kind == "compliance":
        return Op("compliance", {
            **base, "term": _detail(finding, "term") or finding.group_key,
            "evidence": _detail(finding, "evidence"),
        })  # fmt: skip
    return None


def alert_op(alert: Alert, now: float) -> Op:
    """The alert's latest-version row and its lifecycle event."""
    at = alert.updated_at or now
    row = {
        "alert_id": alert.alert_id, "room": alert.room, "kind": alert.kind,
        "category": alert.category, "severity": alert.severity, "sku": alert.sku,
        "title": alert.title, "state": alert.state, "version": alert.version,
        "count": alert.count, "first_seen": alert.first_seen, "last_seen": alert.last_seen,
        "source_ts": alert.source_ts, "received_ts": alert.received or None,
        "created_at": at, "updated_at": at, "team": alert.team, "assignee": alert.assignee,
        "acked_by": alert.acked_by, "acked_at": at if alert.state == "acked" else None,
        "escalation_level": alert.escalation_level,
        "escalated_at": at if alert.state == "escalated" else None,
        "resolved_by": alert.resolved_by,
        "resolved_at": at if alert.state == "resolved" else None,
        "false_positive": alert.false_positive, "group_key": alert.group_key,
        "faq_question": alert.faq_question, "suggested_reply": alert.suggested_reply,
        "correction": alert.correction, "examples": list(alert.examples),
    }  # fmt: skip
    event = {
        "alert_id": alert.alert_id, "version": alert.version, "state": alert.state, "at": at,
        "severity": alert.severity, "count": alert.count, "team": alert.team,
        "assignee": alert.assignee, "acked_by": alert.acked_by,
        "resolved_by": alert.resolved_by, "escalation_level": alert.escalation_level,
    }  # fmt: skip
    return Op("alert", row, event)


def resolved_correction(alert: Alert, now: float) -> Op | None:
    """A staff resolve of a misstatement alert marks its misstatements corrected."""
    if (
        alert.kind != "misstatement"
        or alert.state != "resolved"
        or not alert.resolved_by
        or alert.false_positive
    ):
        return None
    return correction_op(alert.room, alert.group_key, alert.updated_at or now, "resolved")


def correction_op(room: str, group_key: str, at: float, source: str) -> Op:
    """Mark the room's uncorrected misstatements of ``group_key`` up to ``at`` corrected."""
    return Op("correction", {"room": room, "group_key": group_key, "at": at, "source": source})


def delivery_op(alert: Alert, sink: str, at: float) -> Op:
    """One confirmed delivery of an alert version by a sink."""
    row = {"alert_id": alert.alert_id, "version": alert.version, "sink": sink,
           "delivered_at": at}  # fmt: skip
    return Op("delivery", row)


# The columns of a shared alert-book entry, as the alert book hands them over.
BOOK_COLUMNS = frozenset(
    ("alert_id", "room", "owner", "state", "version", "revision", "deadline", "updated_at",
     "entry")
)  # fmt: skip


def book_op(row: dict[str, Any]) -> Op:
    """A version-guarded upsert of one alert-book entry (``row`` has ``BOOK_COLUMNS``)."""
    missing = BOOK_COLUMNS - row.keys()
    if missing:
        raise ValueError(f"book entry row without {sorted(missing)}")
    return Op("book", {key: row[key] for key in BOOK_COLUMNS})


# What a host says when correcting themselves on air.
_MARKER = re.compile(r"更正|纠正|说错|口误|改正|不好意思.{0,6}(?:刚才|刚刚)|以.{0,6}为准")
_DIGITS = re.compile(r"\d+(?:\.\d+)?")


@dataclass(slots=True)
class _Pending:
    group_key: str
    expected: str
    received: float


@dataclass(slots=True)
class CorrectionWatcher:
    """Callable: host speech → the misstatements it corrects on air.

    An utterance with a correction marker (更正, 说错了, 以…为准) corrects the room's open
    misstatements whose expected value it names; failing that, every one of the room's
    misstatements from the last ``window`` seconds.
    """

    window: float = 600.0
    max_per_room: int = 50
    pending: dict[str, list[_Pending]] = field(default_factory=dict)

    def seen(self, room: str, group_key: str, expected: str, received: float) -> None:
        """Remember a misstatement until it is corrected or ages out."""
        items = self.pending.setdefault(room, [])
        items.append(_Pending(group_key, expected, received))
        del items[: -self.max_per_room]

    def __call__(self, speech: HostSpeech) -> list[Op]:
        items = self.pending.get(speech.room)
        if not items or not _MARKER.search(speech.text):
            return []
        live = [p for p in items if speech.received - p.received <= self.window]
        named = [p for p in live if _names(speech.text, p.expected)]
        fixed = named or live
        remaining = [p for p in live if p not in fixed]
        if remaining:
            self.pending[speech.room] = remaining
        else:
            self.pending.pop(speech.room, None)
        keys = dict.fromkeys(p.group_key for p in fixed)
        return [correction_op(speech.room, key, speech.received, "speech") for key in keys]


def _names(text: str, expected: str) -> bool:
    if expected and expected in text:
        return True
    numbers = _DIGITS.findall(expected)
    return bool(numbers) and all(n in text for n in numbers)
