"""Errors of the agent, one base and a shallow hierarchy.

    AgentError
    ├── ConfigError          a config file is invalid (exit code 2)
    ├── FrameRejected        an incoming frame or event was malformed (counted by reason)
    └── DeliveryError        a sink could not deliver an alert (retryable or not)

Messages are lower-case, name the offending value, and are built in ``__init__`` from
typed fields that are kept as attributes (metrics use them as label values).
"""

from __future__ import annotations


class AgentError(Exception):
    """Base of every error the agent raises on purpose."""


class ConfigError(AgentError):
    """A configuration file is invalid; ``str(err)`` is the one line shown to the user."""

    def __init__(self, path: str, where: str, problem: str) -> None:
        self.path = path
        self.where = where
        self.problem = problem
        location = f"{path}: {where}" if where else path
        super().__init__(f"{location}: {problem}")


class FrameRejected(AgentError):
    """An incoming frame or event was malformed.

    ``reason`` is a closed, short token used as the ``reason`` label of
    ``danmaku_frames_rejected_total`` (never free text from the frame).
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


class DeliveryError(AgentError):
    """A sink failed to deliver; ``retryable`` tells the outbox whether to try again."""

    def __init__(self, sink: str, problem: str, *, retryable: bool = True) -> None:
        self.sink = sink
        self.problem = problem
        self.retryable = retryable
        super().__init__(f"{sink}: {problem}")
