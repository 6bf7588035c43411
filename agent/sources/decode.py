"""Decode one relay frame (event JSON text) into an event, counting what is rejected.

Rejection reasons (the ``reason`` label of ``danmaku_frames_rejected_total``): ``too_large``,
``bad_utf8``, ``bad_json``, ``too_deep`` from decoding, and ``not_object``, ``missing_field``,
``bad_field``, ``unknown_type`` from ``agent.events.parse_event``. Comments leave unranked:
the ingress ranks them only when it may have to shed (``agent.ingress``).
"""

from __future__ import annotations

from typing import Any

import orjson

from agent.errors import FrameRejected
from agent.events import Event, parse_event
from agent.logs import get_logger
from agent.metrics import Metrics
from agent.ratelimit import LogThrottle

# One event JSON is a few hundred bytes; anything past this is an attack or a bug.
MAX_EVENT_BYTES = 64 * 1024

# Every ``reason`` a FrameDecoder can count (parse_event's FrameRejected reasons included).
PARSE_REASONS = frozenset({"not_object", "missing_field", "bad_field", "unknown_type"})
REJECT_REASONS = PARSE_REASONS | {"too_large", "bad_utf8", "bad_json", "too_deep"}

_log = get_logger("agent.sources")


class FrameDecoder:
    """Callable: frame text/bytes → ``Event`` or ``None`` (ignored or rejected, counted)."""

    def __init__(
        self,
        source: str,
        metrics: Metrics,
        *,
        room: str | None = None,
        name: str | None = None,
    ) -> None:
        self.source = source
        self.metrics = metrics
        self.room = room
        self.name = name or source
        self._throttle = LogThrottle()

    def reject(self, reason: str, detail: str = "") -> None:
        """Count a rejected frame and log it at a bounded rate."""
        self.metrics.frames_rejected.labels(self.source, reason).inc()
        allowed, suppressed = self._throttle.allow(reason)
        if allowed:
            _log.warning(
                "frame rejected", source=self.name, reason=reason, detail=detail[:120],
                suppressed_before=suppressed,
            )  # fmt: skip

    def __call__(self, frame: str | bytes, received: float) -> Event | None:
        """Parse one frame; ``None`` when it was ignored or rejected (both counted)."""
        if len(frame) > MAX_EVENT_BYTES:
            self.reject("too_large", f"{len(frame)} bytes")
            return None
        try:
            obj: Any = orjson.loads(frame)
        except orjson.JSONDecodeError as exc:
            self.reject(_json_reason(exc), str(exc))
            return None
        if self.room is not None and isinstance(obj, dict):
            # A relay connection serves one configured room; the config is authoritative.
            obj["room"] = self.room
        try:
            event = parse_event(obj, source=self.source, received=received)
        except FrameRejected as exc:
            self.reject(exc.reason, exc.detail)
            return None
        if event is None:
            kind = obj.get("type") if isinstance(obj, dict) else None
            self.metrics.events_ignored.labels(self.source, str(kind)[:32]).inc()
            return None
        return event


def _json_reason(exc: orjson.JSONDecodeError) -> str:
    """The closed reason for an orjson failure."""
    message = str(exc).lower()
    if "utf-8" in message:
        return "bad_utf8"
    if "depth limit" in message or "recursion" in message:
        return "too_deep"
    return "bad_json"
