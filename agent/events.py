"""Values that flow through the pipeline: events in, findings in the middle, alerts out.

This module is a leaf: it imports nothing else from ``agent`` but ``errors``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

from agent.errors import FrameRejected

FindingKind = Literal["inquiry", "misstatement", "spike", "compliance"]
AlertState = Literal["open", "acked", "escalated", "resolved"]
Severity = Literal["low", "medium", "high", "critical"]

SEVERITIES: tuple[Severity, ...] = ("low", "medium", "high", "critical")
ALERT_STATES: tuple[AlertState, ...] = ("open", "acked", "escalated", "resolved")
FINDING_KINDS: tuple[FindingKind, ...] = ("inquiry", "misstatement", "spike", "compliance")

# Danmaku are short; relays may still send novels. Longer texts are cut so one stranger
# cannot make every later stage (tokeniser, store, chat robots) pay for megabytes.
MAX_TEXT_CHARS = 1000
MAX_ROOM_CHARS = 64
MAX_USER_CHARS = 128
IGNORED_TYPES = frozenset({"gift", "like", "enter", "follow", "share", "system"})


# Events are values: stages make new ones (``dataclasses.replace``) and never assign to
# fields. They are not ``frozen`` because a frozen dataclass's ``__init__`` sets each field
# through ``object.__setattr__``, four times slower, and a comment is built per danmaku.


@dataclass(slots=True)
class Comment:
    """A viewer's bullet comment. ``user`` is a keyed hash once normalised, never a raw id."""

    room: str
    user: str
    text: str
    ts: float
    received: float
    source: str
    paid: bool = False
    priority: int = 0


@dataclass(slots=True)
class HostSpeech:
    """One utterance of the host from the ASR relay; ``sku`` when the relay knows it."""

    room: str
    text: str
    ts: float
    received: float
    source: str
    sku: str | None = None


Event = Comment | HostSpeech


@dataclass(slots=True)
class Finding:
    """Something worth an alert or a record: an inquiry, a misstatement, a spike, a banned term."""

    room: str
    kind: FindingKind
    category: str
    severity: Severity
    text: str
    ts: float
    received: float
    score: float = 1.0
    sku: str | None = None
    group_key: str = ""
    after_sales: bool = True
    suggested_reply: str | None = None
    correction: str | None = None
    user: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Alert:
    """An open alert as published to sinks; ``to_dict`` is the DESIGN alert JSON."""

    alert_id: str
    room: str
    kind: FindingKind
    category: str
    severity: Severity
    first_seen: float
    last_seen: float
    source_ts: float
    version: int = 1
    state: AlertState = "open"
    count: int = 1
    examples: list[str] = field(default_factory=list)
    sku: str | None = None
    suggested_reply: str | None = None
    correction: str | None = None
    team: str | None = None
    assignee: str | None = None
    escalation_level: int = 0
    title: str = ""
    faq_question: str | None = None
    updated_at: float = 0.0
    received: float = 0.0
    # Lifecycle, filled in by the alert book (routing/escalation); additive to the contract.
    acked_by: str | None = None
    resolved_by: str | None = None
    false_positive: bool = False
    deadline: float | None = None
    # The aggregator's grouping key (FAQ entry, field, term), kept so grouping survives restarts.
    group_key: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The contract JSON object (plus additive fields that tools may ignore).

        What ``dataclasses.asdict`` gives, a tenth of its cost (every version is copied for
        the outbox, the store and each sink): every field is a scalar but ``examples``.
        """
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        data["examples"] = list(self.examples)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Alert:
        """Rebuild an alert from its JSON form (unknown keys are ignored)."""
        names = cls.__dataclass_fields__.keys()
        return cls(**{k: v for k, v in data.items() if k in names})


def _text(obj: dict[str, Any], key: str, limit: int, *, required: bool) -> str | None:
    value = obj.get(key)
    if value is None:
        if required:
            raise FrameRejected("missing_field", key)
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise FrameRejected("bad_field", key)
    text = str(value)
    if len(text) > limit:
        text = text[:limit]
    return text


def _timestamp(obj: dict[str, Any], received: float) -> float:
    value = obj.get("ts")
    if value is None:
        return received
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FrameRejected("bad_field", "ts")
    ts = float(value)
    if not math.isfinite(ts) or ts <= 0:
        raise FrameRejected("bad_field", "ts")
    # Relays that send milliseconds are common; fold them into seconds.
    if ts > 1e11:
        ts /= 1000.0
    return ts


def parse_event(obj: object, *, source: str, received: float) -> Event | None:
    """Turn one decoded event JSON value into an event.

    Returns ``None`` for known non-text types (gift, like, enter…) which callers count
    and ignore. Raises ``FrameRejected`` with a closed reason for anything malformed.
    """
    if not isinstance(obj, dict):
        raise FrameRejected("not_object")
    kind = obj.get("type")
    if not isinstance(kind, str):
        raise FrameRejected("missing_field", "type")
    if kind in IGNORED_TYPES:
        return None
    if kind not in ("comment", "speech"):
        raise FrameRejected("unknown_type")
    room = _text(obj, "room", MAX_ROOM_CHARS, required=True)
    if not room or not room.strip():
        raise FrameRejected("bad_field", "room")
    text = _text(obj, "text", MAX_TEXT_CHARS, required=True)
    assert text is not None  # required=True never returns None
    ts = _timestamp(obj, received)
    if kind == "speech":
        sku = _text(obj, "sku", MAX_ROOM_CHARS, required=False)
        return HostSpeech(room=room, text=text, ts=ts, received=received, source=source, sku=sku)
    user = _text(obj, "user", MAX_USER_CHARS, required=False) or ""
    paid = obj.get("paid") is True
    return Comment(
        room=room, user=user, text=text, ts=ts, received=received, source=source, paid=paid
    )
