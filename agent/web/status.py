"""Per-room connection status for the desk, read from the agent's own metrics."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from agent.metrics import Metrics

# A connected room silent for this long is flagged as a stale feed.
STALE_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class RoomStatus:
    """One room as the desk shows it."""

    room: str
    connected: bool | None  # None: no live connection to watch (replay, push relays)
    last_message: float | None
    stale: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return asdict(self)


StatusFn = Callable[[float], list[RoomStatus]]


def metrics_status(metrics: Metrics, stale_after: float = STALE_SECONDS) -> StatusFn:
    """Room statuses from ``danmaku_connection_up`` and the last-message timestamps."""

    def status(now: float) -> list[RoomStatus]:
        up: dict[str, bool] = {}
        last: dict[str, float] = {}
        for family in metrics.registry.collect():
            for sample in family.samples:
                room = sample.labels.get("room")
                if room is None:
                    continue
                if sample.name == "danmaku_connection_up":
                    up[room] = up.get(room, False) or sample.value >= 1
                elif sample.name == "danmaku_last_message_timestamp_seconds":
                    last[room] = sample.value
        rooms = sorted(set(up) | set(last))
        return [
            RoomStatus(
                room=r,
                connected=up.get(r),
                last_message=last.get(r),
                stale=up.get(r) is True and (r not in last or now - last[r] > stale_after),
            )
            for r in rooms
        ]

    return status
