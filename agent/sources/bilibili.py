"""A Bilibili live room read over the platform's danmaku websocket, one connection per room.

    connect ─► op 7 auth ─► op 8 reply (code 0) ─┬─► heartbeat task: op 2 every ``heartbeat`` s
                                                 └─► read task: op 3 popularity, op 5 commands

``DANMU_MSG`` becomes a ``Comment``, ``SUPER_CHAT_MESSAGE`` a paid one; every other command is
counted by name in ``danmaku_events_ignored_total`` (a closed set of names, the rest as
``other``). Bytes are decoded by the pure ``bilibili_codec``; a frame it rejects is counted
by reason and logged at a bounded rate, a bad packet inside a batch only costs itself.

Reconnects with exponential backoff and full jitter and authenticates afresh every time;
the backoff resets after ``min_uptime`` seconds up. A server silent for ``idle_timeout``
seconds (heartbeat replies included) is dropped. Login values (uid, SESSDATA, buvid, key)
are optional and read from the environment variables the config names.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import structlog
from prometheus_client import Counter
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from agent.backoff import Backoff
from agent.config import BilibiliSourceConfig, secret_from_env
from agent.events import MAX_TEXT_CHARS, MAX_USER_CHARS, Comment
from agent.logs import get_logger
from agent.metrics import Metrics
from agent.sources.base import Ingress, extend_deadline
from agent.sources.bilibili_codec import CodecError, auth_packet, decode_frame, heartbeat_packet
from agent.sources.decode import FrameDecoder

_log = get_logger("agent.sources.bilibili")

SOURCE = "bilibili"
TEXT_COMMANDS = frozenset({"DANMU_MSG", "SUPER_CHAT_MESSAGE"})
# Command names that become their own ``kind`` label; anything else is ``other``, so a
# server cannot mint label values.
KNOWN_COMMANDS = frozenset({
    "SEND_GIFT", "SEND_GIFT_V2", "COMBO_SEND", "GUARD_BUY", "USER_TOAST_MSG",
    "INTERACT_WORD", "INTERACT_WORD_V2", "ENTRY_EFFECT", "ENTRY_EFFECT_MUST_RECEIVE",
    "LIKE_INFO_V3_CLICK", "LIKE_INFO_V3_UPDATE", "WATCHED_CHANGE", "ONLINE_RANK_COUNT",
    "ONLINE_RANK_V2", "ONLINE_RANK_TOP3", "ROOM_REAL_TIME_MESSAGE_UPDATE", "STOP_LIVE_ROOM_LIST",
    "NOTICE_MSG", "WIDGET_BANNER", "HOT_RANK_CHANGED", "HOT_RANK_CHANGED_V2", "ROOM_CHANGE",
    "LIVE", "PREPARING", "ROOM_BLOCK_MSG", "WARNING", "CUT_OFF", "SUPER_CHAT_MESSAGE_DELETE",
    "SUPER_CHAT_MESSAGE_JPN", "DANMU_AGGREGATION", "POPULARITY_RED_POCKET_START",
    "POPULARITY_RED_POCKET_WINNER_LIST", "GOTO_BUY_FLOW", "PK_BATTLE_START", "PK_BATTLE_END",
})  # fmt: skip
# The official web client's origin; the server refuses some handshakes without it.
ORIGIN = "https://live.bilibili.com"
AUTH_TIMEOUT = 10.0

RETRYABLE = (OSError, TimeoutError, ConnectionClosed, InvalidHandshake, asyncio.IncompleteReadError)


class AuthRejectedError(Exception):
    """The server answered the op 7 auth with a non-zero code (retried with backoff)."""

    def __init__(self, code: int | None, reason: str = "") -> None:
        self.code = code
        self.reason = reason
        super().__init__(f"auth rejected: code {code}" + (f" ({reason})" if reason else ""))


def is_retryable(exc: BaseException) -> bool:
    """Whether a connection failure is worth another attempt (bad URIs are not)."""
    if isinstance(exc, AuthRejectedError):
        return True
    return isinstance(exc, RETRYABLE) and not isinstance(exc, InvalidURI)


def ignored_kind(cmd: str) -> str:
    """The ``kind`` label of an ignored command: its name when known, else ``other``."""
    return cmd if cmd in KNOWN_COMMANDS else "other"


@dataclass(frozen=True, slots=True)
class Login:
    """Optional login values for the auth packet and the handshake cookie."""

    uid: int = 0
    key: str = ""
    buvid: str = ""
    sessdata: str = ""

    def cookie(self) -> str | None:
        """The ``Cookie`` header value, or None when anonymous."""
        parts = []
        if self.sessdata:
            parts.append(f"SESSDATA={self.sessdata}")
        if self.buvid:
            parts.append(f"buvid3={self.buvid}")
        return "; ".join(parts) or None


def read_login(config: BilibiliSourceConfig, name: str) -> Login:
    """Read the login the config names from the environment; unset values stay anonymous."""
    values: dict[str, str] = {}
    for key in ("uid", "key", "buvid", "sessdata"):
        var = getattr(config, f"{key}_env")
        value = secret_from_env(var, where=f"{name}.{key}_env", required=False)
        if var is not None and not value:
            _log.warning("login variable not set; continuing without it", source=name, variable=var)
        values[key] = value or ""
    uid = values.pop("uid")
    if uid and not uid.isdigit():
        _log.warning("login uid is not numeric; connecting as uid 0", source=name)
        uid = ""
    return Login(uid=int(uid or 0), **values)


class BilibiliSource:
    """Client of one Bilibili live room's danmaku websocket."""

    finite = False

    def __init__(self, config: BilibiliSourceConfig, metrics: Metrics) -> None:
        self.config = config
        self.room = config.room
        self.roomid = config.roomid if config.roomid is not None else int(config.room)
        self.url = config.url
        self.name = f"{SOURCE}:{config.room}"
        self.metrics = metrics
        self.decode = FrameDecoder(SOURCE, metrics, room=config.room, name=self.name)
        r = config.reconnect
        self.backoff = Backoff(r.initial, r.maximum, r.factor)
        label = metrics.room(config.room)
        self._up = metrics.connection_up.labels(label, SOURCE)
        self._reconnects = metrics.reconnects.labels(label, SOURCE)
        self._ignored: dict[str, Counter] = {}
        self.connections = 0
        self.popularity: int | None = None
        # Monotonic time the current connection authenticated; 0 while not connected.
        self._connected_at = 0.0

    # -- pure part: one websocket message in, comments out (counted) ---------------------------

    def events(self, frame: bytes, received: float) -> list[Comment]:
        """Decode one binary message into comments; rejects and ignored commands are counted."""
        try:
            decoded = decode_frame(frame)
        except CodecError as exc:
            self.decode.reject(exc.reason, exc.detail)
            return []
        for reason in decoded.errors:
            self.decode.reject(reason)
        if decoded.popularity is not None:
            self.popularity = decoded.popularity
        for cmd in decoded.commands:
            if cmd not in TEXT_COMMANDS:
                self._count_ignored(cmd)
        room = self.room
        comments = []
        for msg in decoded.messages:
            cmd = msg["cmd"]
            if cmd == "DANMU_MSG":
                # Inline and positional: this runs once per danmaku. Comments leave unranked;
                # the ingress ranks them when it may have to shed.
                text, uid, ts_ms = msg["text"], msg["uid"], msg["timestamp_ms"]
                comments.append(Comment(
                    room, str(uid) if uid else msg["uname"][:MAX_USER_CHARS],
                    text if len(text) <= MAX_TEXT_CHARS else text[:MAX_TEXT_CHARS],
                    ts_ms / 1000.0 if ts_ms > 0 else received, received, SOURCE,
                ))  # fmt: skip
            elif cmd == "SUPER_CHAT_MESSAGE":
                comments.append(self._super_chat(msg, received))
        return comments

    def _super_chat(self, msg: dict[str, Any], received: float) -> Comment:
        """A paid Comment from a mapped super chat (the uid when the viewer shows one)."""
        uid = msg["uid"]
        return Comment(
            self.room,
            str(uid) if uid else msg["uname"][:MAX_USER_CHARS],
            msg["text"][:MAX_TEXT_CHARS],
            msg.get("timestamp") or received,
            received,
            SOURCE,
            paid=True,
        )

    def _count_ignored(self, cmd: str) -> None:
        counter = self._ignored.get(cmd)
        if counter is None:
            counter = self.metrics.events_ignored.labels(SOURCE, ignored_kind(cmd))
            if len(self._ignored) < 256:
                self._ignored[cmd] = counter
        counter.inc()

    # -- connection -------------------------------------------------------------------------

    def _headers(self, login: Login) -> dict[str, str]:
        headers = {"Origin": ORIGIN}
        cookie = login.cookie()
        if cookie:
            headers["Cookie"] = cookie
        return headers

    async def run(self, ingress: Ingress) -> None:
        """Connect, authenticate, read, reconnect — until cancelled."""
        with structlog.contextvars.bound_contextvars(room=self.room, source=SOURCE):
            login = read_login(self.config, self.name)
            while True:
                try:
                    reason = await self._connect_once(ingress, login)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    if not is_retryable(exc):
                        _log.error("bilibili failed for good", source=self.name, error=repr(exc))
                        raise
                    reason = _describe(exc)
                    if isinstance(exc, ConnectionClosed) and _too_big(exc):
                        self.decode.reject("too_large", "frame over max_frame_bytes")
                finally:
                    self._up.set(0)
                await self._pause(reason)

    async def _pause(self, reason: str) -> None:
        """Wait out the backoff before the next attempt, and count it."""
        up = time.monotonic() - self._connected_at if self._connected_at else 0.0
        if up >= self.config.reconnect.min_uptime:
            self.backoff.reset()
        delay = self.backoff.next_delay()
        self._reconnects.inc()
        _log.warning(
            "bilibili disconnected; reconnecting", source=self.name, reason=reason,
            delay=round(delay, 2), attempt=self.backoff.attempts, uptime=round(up, 1),
        )  # fmt: skip
        await asyncio.sleep(delay)

    async def _connect_once(self, ingress: Ingress, login: Login) -> str:
        """One connection: handshake, auth, then heartbeat and read until it fails."""
        self._connected_at = 0.0
        async with connect(
            self.url,
            additional_headers=self._headers(login),
            max_size=self.config.max_frame_bytes,
            open_timeout=AUTH_TIMEOUT,
            # The protocol has its own heartbeat; the idle timeout covers a dead peer.
            ping_interval=None,
            close_timeout=1,
        ) as ws:
            self.connections += 1
            await self._authenticate(ws, login, ingress)
            self._connected_at = time.monotonic()
            self._up.set(1)
            _log.info("bilibili connected", source=self.name, roomid=self.roomid, uid=login.uid)
            try:
                async with asyncio.TaskGroup() as tg:
                    tg.create_task(self._heartbeat(ws), name=f"source[{self.name}].heartbeat")
                    tg.create_task(self._read(ws, ingress), name=f"source[{self.name}].read")
            except BaseExceptionGroup as group:
                raise group.exceptions[0] from None
        return "closed by server"

    async def _authenticate(self, ws: ClientConnection, login: Login, ingress: Ingress) -> None:
        """Send op 7 and wait for the op 8 reply; a non-zero code raises ``AuthRejectedError``."""
        await ws.send(auth_packet(self.roomid, login.uid, login.key, login.buvid))
        async with asyncio.timeout(min(AUTH_TIMEOUT, self.config.idle_timeout)):
            while True:
                frame = await ws.recv()
                if isinstance(frame, str):
                    self.decode.reject("text_frame")
                    continue
                try:
                    decoded = decode_frame(frame)
                except CodecError as exc:
                    self.decode.reject(exc.reason, exc.detail)
                    raise AuthRejectedError(None, exc.reason) from None
                if decoded.kind != "auth_reply":
                    self._offer_all(self.events(frame, time.time()), ingress)
                    continue
                if decoded.code != 0:
                    raise AuthRejectedError(decoded.code)
                return

    async def _heartbeat(self, ws: ClientConnection) -> None:
        """Send op 2 at once and every ``heartbeat`` seconds."""
        packet = heartbeat_packet()
        while True:
            await ws.send(packet)
            await asyncio.sleep(self.config.heartbeat)

    async def _read(self, ws: ClientConnection, ingress: Ingress) -> None:
        """Decode every message; raises TimeoutError after ``idle_timeout`` of silence."""
        idle = self.config.idle_timeout
        clock = asyncio.get_running_loop().time
        async with asyncio.timeout(idle) as deadline:
            while True:
                frame = await ws.recv()
                extend_deadline(deadline, idle, clock())
                if isinstance(frame, str):
                    self.decode.reject("text_frame")
                    continue
                self._offer_all(self.events(frame, time.time()), ingress)

    @staticmethod
    def _offer_all(comments: list[Comment], ingress: Ingress) -> None:
        for comment in comments:
            ingress.offer(comment)


def _too_big(exc: ConnectionClosed) -> bool:
    """We closed with 1009 (our max_size was exceeded), or the server told us it did."""
    return any(frame is not None and frame.code == 1009 for frame in (exc.sent, exc.rcvd))


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "idle timeout"
    if isinstance(exc, ConnectionClosed):
        return f"connection closed ({exc})"
    return f"{type(exc).__name__}: {exc}"
