"""What a sink is: an async context manager that delivers one alert version at a time."""

from __future__ import annotations

from types import TracebackType
from typing import Protocol, Self

from agent.events import Alert


class Sink(Protocol):
    """Delivers alerts somewhere; raises ``DeliveryError`` when it cannot."""

    name: str

    async def __aenter__(self) -> Self:
        """Open connections and files."""

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close them."""

    async def deliver(self, alert: Alert) -> None:
        """Deliver one alert version (idempotent on ``alert_id`` + ``version``)."""
