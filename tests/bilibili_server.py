"""A loopback websocket server speaking the Bilibili danmaku protocol, for tests."""

from __future__ import annotations

import asyncio
import zlib
from typing import Any

import brotli
import orjson
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers

from agent.sources.bilibili_codec import (
    HEADER,
    OP_AUTH,
    OP_AUTH_REPLY,
    OP_COMMAND,
    OP_HEARTBEAT,
    OP_HEARTBEAT_REPLY,
    VER_BROTLI,
    VER_ZLIB,
    encode_packet,
)

POPULARITY = 4321


def danmu_packet(text: str, uid: int = 1001, ts_ms: int = 1767225600123, suffix: str = "") -> bytes:
    """One ver 0 DANMU_MSG packet in the real field layout."""
    info = [
        [0, 1, 25, 16777215, ts_ms, 0, 0, "", 0],
        text,
        [uid, f"用户{uid}", 0, 0, 0, 10000, 1, ""],
    ]
    body = orjson.dumps({"cmd": f"DANMU_MSG{suffix}", "info": info})
    return encode_packet(OP_COMMAND, body, ver=0, seq=0)


def command_packet(obj: Any) -> bytes:
    """One ver 0 op 5 packet with any JSON body (commands, or junk for malformed tests)."""
    body = obj if isinstance(obj, bytes) else orjson.dumps(obj)
    return encode_packet(OP_COMMAND, body, ver=0, seq=0)


def super_chat_packet(
    text: str, uid: int = 2002, price: int = 30, start: int = 1767225601
) -> bytes:
    """One SUPER_CHAT_MESSAGE packet."""
    data = {"uid": uid, "message": text, "price": price, "start_time": start,
            "user_info": {"uname": f"金主{uid}"}}  # fmt: skip
    return command_packet({"cmd": "SUPER_CHAT_MESSAGE", "data": data})


def batch(packets: list[bytes], ver: int = VER_BROTLI) -> bytes:
    """Packets concatenated and wrapped in one zlib (ver 2) or brotli (ver 3) packet."""
    inner = b"".join(packets)
    body = zlib.compress(inner) if ver == VER_ZLIB else brotli.compress(inner)
    return encode_packet(OP_COMMAND, body, ver=ver, seq=0)


class BilibiliServer:
    """Accepts clients, answers auth and heartbeats, sends whatever frames a test queues."""

    def __init__(self, auth_code: int = 0, *, answer_heartbeats: bool = True) -> None:
        self.auth_code = auth_code
        self.answer_heartbeats = answer_heartbeats
        self.auths: list[dict[str, Any]] = []
        # Handshake headers of every connection (case-insensitive lookups).
        self.headers: list[Headers] = []
        self.heartbeats = 0
        self.clients: set[ServerConnection] = set()
        self.connected = asyncio.Event()
        self._heartbeat_seen = asyncio.Event()
        self._server: Server | None = None
        self.port = 0

    @property
    def url(self) -> str:
        """The ws:// URL a source should connect to."""
        return f"ws://127.0.0.1:{self.port}/sub"

    async def start(self, port: int = 0) -> None:
        """Listen on 127.0.0.1 (a fresh port, or the given one for a restart)."""
        self._server = await serve(self._handle, "127.0.0.1", port or self.port)
        self.port = next(iter(self._server.sockets)).getsockname()[1]

    async def stop(self) -> None:
        """Drop every client and stop listening."""
        if self._server is not None:
            await self.drop()
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> BilibiliServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def send(self, frame: bytes | str) -> None:
        """Send one websocket message to every authenticated client."""
        for ws in list(self.clients):
            await ws.send(frame)

    async def wait_client(self) -> None:
        """Wait (at most 5 s) until at least one client has authenticated."""
        async with asyncio.timeout(5):
            await self.connected.wait()

    async def wait_heartbeats(self, count: int) -> None:
        """Wait (at most 5 s) until ``count`` heartbeats in total have arrived."""
        async with asyncio.timeout(5):
            while self.heartbeats < count:
                self._heartbeat_seen.clear()
                await self._heartbeat_seen.wait()

    async def drop(self) -> None:
        """Abruptly close every client's TCP connection (no close frame)."""
        for ws in list(self.clients):
            ws.transport.abort()
        self.clients.clear()
        self.connected.clear()

    async def _handle(self, ws: ServerConnection) -> None:
        if ws.request is not None:
            self.headers.append(ws.request.headers)
        first = await ws.recv()
        if not isinstance(first, bytes):
            return
        _len, head, _ver, op, _seq = HEADER.unpack_from(first)
        if op != OP_AUTH:
            return
        self.auths.append(orjson.loads(first[head:]))
        await ws.send(encode_packet(OP_AUTH_REPLY, orjson.dumps({"code": self.auth_code})))
        if self.auth_code != 0:
            await ws.wait_closed()
            return
        self.clients.add(ws)
        self.connected.set()
        try:
            async for message in ws:
                if isinstance(message, bytes) and HEADER.unpack_from(message)[3] == OP_HEARTBEAT:
                    self.heartbeats += 1
                    self._heartbeat_seen.set()
                    if self.answer_heartbeats:
                        reply = POPULARITY.to_bytes(4, "big")
                        await ws.send(encode_packet(OP_HEARTBEAT_REPLY, reply))
        except Exception:
            pass
        finally:
            self.clients.discard(ws)
