"""A websocket endpoint where relays (a company gateway, a Douyin/Kuaishou fetcher) push events.

Each text frame is one DESIGN event JSON; events keep their own room, which must be one of
``rooms`` unless ``allow_all_rooms``. Strangers are kept out and bounded:

- a bearer token (from the variable ``token_env``) is checked at the handshake: HTTP 401;
- at most ``max_connections`` relays at once: HTTP 503 past it;
- frames over ``max_frame_bytes`` close the connection with 1009 (counted ``too_large``);
- each connection has a token bucket of ``per_second`` frames with ``burst``; frames past
  it are dropped and counted (``rate_limited``) without being parsed.

Rejected frames go to ``danmaku_frames_rejected_total{source="push"}``, refused handshakes to
``danmaku_push_handshakes_rejected_total``. Cancelling ``run`` closes the server and every
connection.
"""

from __future__ import annotations

import asyncio
import hmac
import time
from http import HTTPStatus

import structlog
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from agent.config import PushSourceConfig, secret_from_env
from agent.errors import ConfigError
from agent.events import Event
from agent.logs import get_logger
from agent.metrics import Metrics
from agent.sources.base import Ingress
from agent.sources.decode import FrameDecoder

_log = get_logger("agent.sources.push")

SOURCE = "push"


class TokenBucket:
    """``rate`` tokens per second up to ``burst``; each allowed frame takes one."""

    __slots__ = ("burst", "rate", "stamp", "tokens")

    def __init__(self, rate: float, burst: int, now: float | None = None) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.tokens = float(burst)
        self.stamp = time.monotonic() if now is None else now

    def allow(self, now: float) -> bool:
        """Take a token if one is there."""
        tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if tokens >= 1.0:
            self.tokens = tokens - 1.0
            return True
        self.tokens = tokens
        return False


def bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer …`` header, or None."""
    value = request.headers.get("Authorization")
    if value is None:
        return None
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


class PushSource:
    """The push server; ``port`` is the bound port once ``ready`` is set (``listen`` may use 0)."""

    finite = False

    def __init__(self, config: PushSourceConfig, metrics: Metrics) -> None:
        self.config = config
        self.name = f"{SOURCE}:{config.listen}"
        self.metrics = metrics
        self.decode = FrameDecoder(SOURCE, metrics, name=self.name)
        self.rooms = frozenset(config.rooms)
        self.allow_all = config.allow_all_rooms
        self.port: int | None = None
        self.ready = asyncio.Event()
        self.active = 0
        self._gauge = metrics.push_connections.labels(config.listen)
        self._token = ""

    def _refuse(self, connection: ServerConnection, status: HTTPStatus, reason: str) -> Response:
        self.metrics.push_handshakes_rejected.labels(self.config.listen, reason).inc()
        peer = connection.remote_address
        _log.warning("relay refused", source=self.name, reason=reason, peer=str(peer)[:64])
        return connection.respond(status, f"{reason.replace('_', ' ')}\n")

    def _check(self, connection: ServerConnection, request: Request) -> Response | None:
        """``process_request``: the bearer token and the connection cap."""
        token = bearer_token(request)
        if token is None or not hmac.compare_digest(token.encode(), self._token.encode()):
            return self._refuse(connection, HTTPStatus.UNAUTHORIZED, "unauthorized")
        if self.active >= self.config.max_connections:
            return self._refuse(connection, HTTPStatus.SERVICE_UNAVAILABLE, "too_many_connections")
        return None

    def allowed(self, event: Event) -> bool:
        """Whether the event's room is served here."""
        return self.allow_all or event.room in self.rooms

    async def run(self, ingress: Ingress) -> None:
        """Serve until cancelled; cancellation closes the listening socket and all relays."""
        token = secret_from_env(self.config.token_env, where=f"{self.name}.token_env")
        if not token:
            raise ConfigError("environment", f"{self.name}.token_env", "the push token is empty")
        self._token = token
        host, _, port = self.config.listen.rpartition(":")
        if not self.rooms and not self.allow_all:
            _log.warning("push endpoint has no rooms and allow_all_rooms is off", source=self.name)

        async def handler(ws: ServerConnection) -> None:
            await self._serve(ws, ingress)

        with structlog.contextvars.bound_contextvars(source=self.name):
            async with serve(
                handler,
                host,
                int(port),
                process_request=self._check,
                max_size=self.config.max_frame_bytes,
                # Frames are parsed as they come; a small queue pushes back on the TCP socket.
                max_queue=16,
                ping_interval=20,
                ping_timeout=20,
                close_timeout=2,
                server_header=None,
            ) as server:
                self.port = next(iter(server.sockets)).getsockname()[1]
                self.ready.set()
                _log.info("push endpoint listening", source=self.name, port=self.port)
                try:
                    await server.serve_forever()
                finally:
                    self.ready.clear()
                    _log.info("push endpoint closing", source=self.name, relays=self.active)

    async def _serve(self, ws: ServerConnection, ingress: Ingress) -> None:
        """Read one relay's frames until it goes away."""
        if self.active >= self.config.max_connections:
            # Handshakes that passed the check together: the late ones leave at once.
            self.metrics.push_handshakes_rejected.labels(
                self.config.listen, "too_many_connections"
            ).inc()
            await ws.close(1013, "too many connections")
            return
        self.active += 1
        self._gauge.inc()
        peer = str(ws.remote_address)[:64]
        _log.info("relay connected", source=self.name, peer=peer, relays=self.active)
        bucket = TokenBucket(self.config.per_second, self.config.burst)
        limited = 0
        try:
            async for frame in ws:
                if not bucket.allow(time.monotonic()):
                    limited += 1
                    self.decode.reject("rate_limited")
                    continue
                if isinstance(frame, bytes):
                    self.decode.reject("binary_frame")
                    continue
                event = self.decode(frame, time.time())
                if event is None:
                    continue
                if not self.allowed(event):
                    self.decode.reject("room_not_allowed", event.room)
                    continue
                ingress.offer(event)
        except ConnectionClosed as exc:
            if any(f is not None and f.code == 1009 for f in (exc.sent, exc.rcvd)):
                self.decode.reject("too_large", "frame over max_frame_bytes")
        finally:
            self.active -= 1
            self._gauge.dec()
            _log.info("relay disconnected", source=self.name, peer=peer, rate_limited=limited)
