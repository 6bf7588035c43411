"""Loopback helpers shared by the tests and the fault benchmark: a cuttable TCP proxy in
front of PostgreSQL, a websocket relay base that knows which agent reads which room, and
the clean-up of retained messages on the shared broker."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import aiomqtt
from websockets.asyncio.server import ServerConnection


class PgProxy:
    """A TCP relay on loopback in front of PostgreSQL that can be cut and reopened."""

    def __init__(self) -> None:
        self.cut = False
        self.writers: set[asyncio.StreamWriter] = set()
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        """Listen on a free port."""
        self.server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.CancelledError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.cut:
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", 5432)
        self.writers |= {writer, up_writer}
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    def sever(self) -> None:
        """Drop every relayed connection and refuse new ones until ``reopen``."""
        self.cut = True
        for writer in self.writers:
            writer.transport.abort()
        self.writers.clear()

    def reopen(self) -> None:
        """Accept connections again."""
        self.cut = False

    async def close(self) -> None:
        """Stop listening."""
        self.sever()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


@dataclass(kw_only=True)
class RoomRelay:
    """One websocket server for every room: ``/{room}?agent={instance}``; knows who reads."""

    port: int = 0
    clients: dict[str, dict[str, set[ServerConnection]]] = field(default_factory=dict)

    def readers(self, room: str) -> set[str]:
        """Instances connected to a room now."""
        return {a for a, conns in self.clients.get(room, {}).items() if conns}

    async def handler(self, ws: ServerConnection) -> None:
        """Keep an agent's connection to a room until it closes."""
        assert ws.request is not None
        parts = urlsplit(ws.request.path)
        room, agent = parts.path.strip("/"), parse_qs(parts.query)["agent"][0]
        conns = self.clients.setdefault(room, {}).setdefault(agent, set())
        conns.add(ws)
        try:
            await ws.wait_closed()
        finally:
            conns.discard(ws)


async def clear_retained(prefix: str, wait: float = 1.0) -> None:
    """Leave the shared broker as found: empty every retained message under the prefix."""
    async with aiomqtt.Client("127.0.0.1", 1883, protocol=aiomqtt.ProtocolVersion.V5) as client:
        await client.subscribe(f"{prefix}/#")
        topics: set[str] = set()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait):
                async for message in client.messages:
                    if message.retain and message.payload:
                        topics.add(str(message.topic))
        for topic in topics:
            await client.publish(topic, b"", qos=1, retain=True)
