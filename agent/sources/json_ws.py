"""A relay websocket that sends one event JSON per text frame, kept connected for the broadcast.

Reconnects with exponential backoff and full jitter; the backoff resets only after the
connection stayed up ``min_uptime`` seconds. A silent connection is dropped after
``idle_timeout`` so a half-open TCP session cannot freeze a room.
"""

from __future__ import annotations

import asyncio
import time

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from agent.backoff import Backoff
from agent.config import JsonWsSourceConfig, secret_from_env
from agent.logs import get_logger
from agent.metrics import Metrics
from agent.sources.base import Ingress, extend_deadline
from agent.sources.decode import FrameDecoder

_log = get_logger("agent.sources.json_ws")

RETRYABLE = (OSError, TimeoutError, ConnectionClosed, InvalidHandshake, asyncio.IncompleteReadError)


def is_retryable(exc: BaseException) -> bool:
    """Whether a connection failure is worth another attempt (bad URIs are not)."""
    return isinstance(exc, RETRYABLE) and not isinstance(exc, InvalidURI)


class JsonWsSource:
    """Client of one relay; every text frame is a DESIGN event of the configured room."""

    finite = False

    def __init__(self, config: JsonWsSourceConfig, metrics: Metrics) -> None:
        self.config = config
        self.room = config.room
        self.url = config.url
        self.name = f"json_ws:{config.room}"
        self.metrics = metrics
        self.decode = FrameDecoder("json_ws", metrics, room=config.room, name=self.name)
        r = config.reconnect
        self.backoff = Backoff(r.initial, r.maximum, r.factor)
        label = metrics.room(config.room)
        self._up = metrics.connection_up.labels(label, "json_ws")
        self._reconnects = metrics.reconnects.labels(label, "json_ws")
        self.connections = 0

    def _headers(self) -> dict[str, str]:
        token = secret_from_env(self.config.token_env, where=f"{self.name}.token_env")
        return {"Authorization": f"Bearer {token}"} if token else {}

    async def run(self, ingress: Ingress) -> None:
        """Connect, read, reconnect — until cancelled."""
        headers = self._headers()
        while True:
            started = time.monotonic()
            try:
                async with connect(
                    self.url,
                    additional_headers=headers,
                    max_size=self.config.max_frame_bytes,
                    open_timeout=10,
                    ping_interval=20,
                    ping_timeout=20,
                ) as ws:
                    self.connections += 1
                    self._up.set(1)
                    _log.info("relay connected", source=self.name, url=self.url)
                    started = time.monotonic()
                    await self._read(ws, ingress)
                    reason = "closed by relay"
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not is_retryable(exc):
                    _log.error("relay failed for good", source=self.name, error=repr(exc))
                    raise
                reason = _describe(exc)
                if isinstance(exc, ConnectionClosed) and _too_big(exc):
                    self.decode.reject("too_large", "frame over max_frame_bytes")
            finally:
                self._up.set(0)
            if time.monotonic() - started >= self.config.reconnect.min_uptime:
                self.backoff.reset()
            delay = self.backoff.next_delay()
            self._reconnects.inc()
            _log.warning(
                "relay disconnected; reconnecting", source=self.name, reason=reason,
                delay=round(delay, 2), attempt=self.backoff.attempts,
            )  # fmt: skip
            await asyncio.sleep(delay)

    async def _read(self, ws: ClientConnection, ingress: Ingress) -> None:
        """Decode every frame; raises TimeoutError after ``idle_timeout`` of silence."""
        idle = self.config.idle_timeout
        clock = asyncio.get_running_loop().time
        async with asyncio.timeout(idle) as deadline:
            while True:
                frame = await ws.recv()
                extend_deadline(deadline, idle, clock())
                if isinstance(frame, bytes):
                    self.decode.reject("binary_frame")
                    continue
                event = self.decode(frame, time.time())
                if event is not None:
                    ingress.offer(event)


def _too_big(exc: ConnectionClosed) -> bool:
    """We closed with 1009 (our max_size was exceeded), or the relay told us it did."""
    return any(frame is not None and frame.code == 1009 for frame in (exc.sent, exc.rcvd))


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "idle timeout"
    if isinstance(exc, ConnectionClosed):
        return f"connection closed ({exc})"
    return f"{type(exc).__name__}: {exc}"
