"""Property tests of the event parser and the relay frame decoder: accept, or reject by reason."""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.errors import FrameRejected
from agent.events import (
    MAX_ROOM_CHARS,
    MAX_TEXT_CHARS,
    MAX_USER_CHARS,
    Alert,
    Comment,
    HostSpeech,
    parse_event,
)
from agent.metrics import Metrics
from agent.sources.decode import PARSE_REASONS, REJECT_REASONS, FrameDecoder

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=12,
)
ANY_VALUE = JSON | st.floats() | st.integers(min_value=-(2**70), max_value=2**70)
KEYS = st.sampled_from(["type", "room", "user", "text", "ts", "sku", "paid", "extra"])
TYPES = st.sampled_from(["comment", "speech", "gift", "like", "enter", "unknown", ""])
EVENTS = st.dictionaries(KEYS, ANY_VALUE | TYPES, max_size=8) | st.fixed_dictionaries(
    {"type": TYPES, "room": ANY_VALUE, "text": ANY_VALUE},
    optional={"ts": ANY_VALUE, "user": ANY_VALUE, "sku": ANY_VALUE, "paid": ANY_VALUE},
)


# One registry and decoder across examples: its log throttle keeps the run quiet and fast.
SHARED = Metrics()
SHARED_DECODE = FrameDecoder("fuzz", SHARED)


def _check_event(event: object) -> None:
    assert isinstance(event, Comment | HostSpeech)
    assert event.room.strip()
    assert len(event.room) <= MAX_ROOM_CHARS
    assert len(event.text) <= MAX_TEXT_CHARS
    assert math.isfinite(event.ts)
    assert event.ts > 0
    if isinstance(event, Comment):
        assert len(event.user) <= MAX_USER_CHARS


@settings(max_examples=400, deadline=None)
@given(EVENTS | JSON)
def test_parse_event_accepts_or_rejects_by_reason(obj: Any) -> None:
    """parse_event returns an event or None, or raises FrameRejected with a documented reason."""
    reason = None
    try:
        event = parse_event(obj, source="fuzz", received=1763800000.0)
    except FrameRejected as exc:
        reason = exc.reason
    else:
        if event is not None:
            _check_event(event)
    assert reason is None or reason in PARSE_REASONS


def _counted(metrics: Metrics) -> float:
    total = 0.0
    for family in metrics.registry.collect():
        if family.name in ("danmaku_frames_rejected", "danmaku_events_ignored"):
            total += sum(s.value for s in family.samples if s.name.endswith("_total"))
    return total


def _reasons(metrics: Metrics) -> set[str]:
    return {
        s.labels["reason"]
        for family in metrics.registry.collect()
        if family.name == "danmaku_frames_rejected"
        for s in family.samples
        if s.name.endswith("_total")
    }


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.binary(max_size=300)
    | st.text(max_size=300)
    | EVENTS.map(lambda e: json.dumps(e, ensure_ascii=False))
    | st.integers(min_value=1, max_value=1500).map(lambda n: "[" * n + "]" * n)
)
def test_frame_decoder_never_raises_and_counts_once(frame: str | bytes) -> None:
    """Every frame yields exactly one outcome: an event, one rejection or one ignored event."""
    before = _counted(SHARED)
    event = SHARED_DECODE(frame, 1763800000.0)
    assert _counted(SHARED) - before + (event is not None) == 1
    assert _reasons(SHARED) <= REJECT_REASONS
    if event is not None:
        _check_event(event)


def test_frame_decoder_reasons_for_known_hostile_frames() -> None:
    """Huge, deeply nested, non-object and invalid UTF-8 frames get their own reasons."""
    metrics = Metrics()
    decode = FrameDecoder("fuzz", metrics)
    frames = {
        "too_large": b'{"type":"comment","text":"' + b"x" * 70_000 + b'"}',
        "too_deep": b"[" * 2000 + b"]" * 2000,
        "not_object": b"[1]",
        "bad_utf8": b'{"type":"comment","text":"\xff"}',
        "bad_json": b'{"type":',
        "missing_field": b'{"type":"comment","room":"r1"}',
        "unknown_type": b'{"type":"poll","room":"r1","text":"x"}',
        "bad_field": b'{"type":"comment","room":"r1","text":"x","ts":"now"}',
    }
    for frame in frames.values():
        assert decode(frame, 1.0) is None
    for reason in frames:
        assert (
            metrics.registry.get_sample_value(
                "danmaku_frames_rejected_total", {"source": "fuzz", "reason": reason}
            )
            == 1
        ), reason


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.text(max_size=20), max_size=5),
    st.one_of(st.none(), st.text(max_size=10)),
    st.integers(1, 10),
)
def test_alert_to_dict_is_asdict_with_its_own_examples(
    examples: list[str], sku: str | None, version: int
) -> None:
    """to_dict gives what dataclasses.asdict gives, with a copy of the examples list."""
    alert = Alert(alert_id="a", room="r1", kind="inquiry", category="logistics", severity="low",
                  first_seen=1.0, last_seen=2.0, source_ts=1.0, version=version,
                  examples=examples, sku=sku)  # fmt: skip
    data = alert.to_dict()
    assert data == dataclasses.asdict(alert)
    assert data["examples"] is not alert.examples
    assert Alert.from_dict(data) == alert
