"""A loopback websocket server speaking the Bilibili danmaku protocol, for tests."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from websockets.asyncio.server import Server, ServerConnection, serve

from agent.sources.bilibili_codec import (
    HEADER,
    OP_AUTH,
    OP_AUTH_REPLY,
    OP_COMMAND,
    OP_HEARTBEAT,
    OP_HEARTBEAT_REPLY,
    encode_packet,
)


def danmu_packet(text: str, uid: int = 1001, ts_ms: int = 1767225600123, suffix: str = "") -> bytes:
    """One ver 0 DANMU_MSG packet in the real field layout."""
    info = [[0, 1, 25, 16777215, ts_ms, 0, 0, "", 0], text, [uid, f"用户{uid}", 0, 0, 0, 10000, 1, ""]]
    body = orjson.dumps({"cmd": f"DANMU_MSG{suffix}", "info": info})
    return encode_packet(OP_COMMAND, body, ver=0, seq=0)


class BilibiliServer:
    """Accepts clients, answers auth and heartbeats, sends whatever frames a test queues."""

    def __init__(self, auth_code: int = 0) -> None:
        self.auth_code = auth_code
        self.auths: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.heartbeats = 0
        self.clients: set[ServerConnection] = set()
        self.connected = asyncio.Event()
        self._server: Server | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/sub"

    async def start(self, port: int = 0) -> None:
        self._server = await serve(self._handle, "127.0.0.1", port)
        self.port = next(iter(self._server.sockets)).getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> BilibiliServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def send(self, frame: bytes) -> None:
        """Send one binary websocket message to every authenticated client."""
        for ws in list(self.clients):
            await ws.send(frame)

    async def drop(self) -> None:
        """Abruptly close every client's TCP connection (no close frame)."""
        for ws in list(self.clients):
            ws.transport.abort()
        self.clients.clear()
        self.connected.clear()

    async def _handle(self, ws: ServerConnection) -> None:
        if ws.request is not None:
            self.headers.append(dict(ws.request.headers))
        first = await ws.recv()
        if not isinstance(first, bytes):
            return
        _len, head, _ver, op, _seq = HEADER.unpack_from(first)
        if op != OP_AUTH:
            return
        self.auths.append(orjson.loads(first[head:]))
        await ws.send(encode_packet(OP_AUTH_REPLY, orjson.dumps({"code": self.auth_code})))
        if self.auth_code != 0:
            return
        self.clients.add(ws)
        self.connected.set()
        try:
            async for message in ws:
                if isinstance(message, bytes) and HEADER.unpack_from(message)[3] == OP_HEARTBEAT:
                    self.heartbeats += 1
                    await ws.send(encode_packet(OP_HEARTBEAT_REPLY, (4321).to_bytes(4, "big")))
        except Exception:
            pass
        finally:
            self.clients.discard(ws)
