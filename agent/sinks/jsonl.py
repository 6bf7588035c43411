"""Append every alert version as one JSON line (the DESIGN alert shape)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

import orjson

from agent.config import JsonlSinkConfig
from agent.errors import DeliveryError
from agent.events import Alert


class JsonlSink:
    """A line-per-version log of alerts; each line is flushed so a reader never sees half."""

    def __init__(self, config: JsonlSinkConfig, **_: Any) -> None:
        self.path = Path(config.path)
        self.name = "jsonl"
        self._file: IO[bytes] | None = None

    async def __aenter__(self) -> Self:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("ab")
        except OSError as exc:
            raise DeliveryError(
                self.name, f"cannot open {self.path}: {exc}", retryable=False
            ) from exc
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._file is not None:
            await asyncio.to_thread(self._file.close)
            self._file = None

    async def deliver(self, alert: Alert) -> None:
        """Write and flush one line."""
        if self._file is None:
            raise DeliveryError(self.name, "sink is not open", retryable=True)
        try:
            self._file.write(orjson.dumps(alert.to_dict()) + b"\n")
            self._file.flush()
        except OSError as exc:
            raise DeliveryError(self.name, f"write to {self.path} failed: {exc}") from exc
