"""Decode one relay frame (event JSON text) into an event, counting what is rejected."""

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

_log = get_logger("agent.sources")


class FrameDecoder:
    """Callable: frame text/bytes → ``Event`` or ``None`` (ignored or rejected, counted)."""

    def __init__(
        self, source: str, metrics: Metrics, *, room: str | None = None, name: str | None = None
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
        if len(frame) > MAX_EVENT_BYTES:
            self.reject("too_large", f"{len(frame)} bytes")
            return None
        try:
            obj: Any = orjson.loads(frame)
        except orjson.JSONDecodeError as exc:
            reason = "bad_utf8" if "utf-8" in str(exc).lower() else "bad_json"
            self.reject(reason, str(exc))
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
        return event
