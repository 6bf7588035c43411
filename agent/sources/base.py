"""What a source is, and the ingress it writes into.

A source turns a platform's stream into ``Comment``/``HostSpeech`` events and hands each to
the ingress: ``await ingress.put(e)`` (waits when full: finite sources such as replays, which
must lose nothing) or ``ingress.offer(e)`` (never waits: live sources, which must not stall
their socket; the ingress sheds under overload and counts every drop).
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from agent.events import Event

# A silent connection is dropped between ``idle_timeout`` and this many times it.
IDLE_SLACK = 1.1


def extend_deadline(deadline: asyncio.Timeout, idle: float, now: float) -> None:
    """Push an idle deadline after a frame arrived at ``now`` (loop time).

    Re-arming a timer per frame costs a heap push and a cancelled handle each; pushing it
    ``idle * IDLE_SLACK`` ahead only once it is less than ``idle`` away re-arms it once per
    tenth of ``idle``, and silence is still noticed after ``idle`` at the earliest.
    """
    when = deadline.when()
    if when is None or when - now < idle:
        deadline.reschedule(now + idle * IDLE_SLACK)


class Ingress(Protocol):
    """The bounded queue in front of detection."""

    async def put(self, event: Event) -> None:
        """Enqueue, waiting for room when full."""

    def offer(self, event: Event) -> bool:
        """Enqueue without waiting; False when the event (or a lower-priority one) was shed."""


class Source(Protocol):
    """A running connection to one stream."""

    name: str
    finite: bool

    async def run(self, ingress: Ingress) -> None:
        """Read until the stream ends (finite sources) or until cancelled (live ones)."""
