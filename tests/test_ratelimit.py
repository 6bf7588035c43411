"""Log limiters: bad-frame floods and dependency outages are told in a few lines."""

from __future__ import annotations

from typing import Any

from agent.ratelimit import LogThrottle, OutageLog


class Recorder:
    """A logger that keeps (level, event, fields)."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str, dict[str, Any]]] = []

    def warning(self, event: str, **fields: Any) -> None:
        self.lines.append(("warning", event, fields))

    def info(self, event: str, **fields: Any) -> None:
        self.lines.append(("info", event, fields))


def test_throttle_allows_a_burst_then_reports_what_it_suppressed() -> None:
    throttle = LogThrottle(period=10.0, burst=2)
    assert [throttle.allow("k", t)[0] for t in (0.0, 1.0, 2.0, 3.0)] == [True, True, False, False]
    assert throttle.allow("k", 10.5) == (True, 2)
    assert throttle.allow("other", 3.0) == (True, 0)


def test_outage_is_told_once_reminded_then_recovered() -> None:
    log = Recorder()
    outage = OutageLog(log, every=60.0)
    outage.recovered("back", now=0.0)  # nothing was down: silent
    for t in range(0, 150, 2):  # a retry every 2 s for 150 s
        outage.failed("broker down", now=float(t), sink="mqtt")
    assert outage.down
    outage.recovered("back", now=151.0, sink="mqtt")
    assert not outage.down
    assert [(level, event) for level, event, _ in log.lines] == [
        ("warning", "broker down"),
        ("warning", "broker down (still)"),
        ("warning", "broker down (still)"),
        ("info", "back"),
    ]
    assert log.lines[1][2]["down_seconds"] == 60.0
    assert log.lines[-1][2] == {"down_seconds": 151.0, "attempts": 75, "sink": "mqtt"}
    outage.failed("broker down", now=200.0)
    assert log.lines[-1][1] == "broker down"  # a new outage starts a new story
