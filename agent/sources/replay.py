"""Replay a recorded broadcast (JSONL of DESIGN events) at a chosen speed.

``speed`` 1.0 keeps the recorded pacing, 2.0 plays twice as fast, 0 as fast as possible.
Events keep their own room. A replay is finite: when the file ends, the source returns.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from pathlib import Path

from agent.config import ReplaySourceConfig
from agent.ingress import IngressClosed
from agent.logs import get_logger
from agent.metrics import Metrics
from agent.sources.base import Ingress
from agent.sources.decode import FrameDecoder

_log = get_logger("agent.sources.replay")

# With speed 0, yield to the loop every so many events so other rooms keep running.
_YIELD_EVERY = 256


class ReplaySource:
    """Read a JSONL file line by line (never all in memory) and pace it by ``ts``."""

    finite = True

    def __init__(self, config: ReplaySourceConfig, metrics: Metrics) -> None:
        self.path = Path(config.path)
        self.speed = config.speed
        self.name = f"replay:{self.path.name}"
        self.decode = FrameDecoder("replay", metrics, name=self.name)
        self.events_read = 0

    async def run(self, ingress: Ingress) -> None:
        """Emit every event of the file, then return."""
        origin_ts: float | None = None
        origin_wall = time.monotonic()
        try:
            handle = self.path.open("rb")
        except OSError as exc:
            _log.error("replay file unreadable", path=str(self.path), error=str(exc))
            return
        with handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                event = self.decode(line, time.time())
                if event is None:
                    continue
                if self.speed > 0:
                    if origin_ts is None:
                        origin_ts, origin_wall = event.ts, time.monotonic()
                    due = origin_wall + (event.ts - origin_ts) / self.speed
                    delay = due - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
                elif number % _YIELD_EVERY == 0:
                    await asyncio.sleep(0)
                # Receive time is when the event enters the agent, not when it was read.
                event = replace(event, received=time.time())
                try:
                    await ingress.put(event)
                except IngressClosed:
                    _log.info("replay stopped by shutdown", path=str(self.path), line=number)
                    return
                self.events_read += 1
        _log.info("replay finished", path=str(self.path), events=self.events_read)
