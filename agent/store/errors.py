"""Errors of the records store.

    AgentError
    └── StoreError            the store cannot be used as configured (bad URL, no key)

``classify`` maps a driver exception to the ``reason`` label of
``danmaku_store_errors_total`` and says whether retrying can help.
"""

from __future__ import annotations

import sqlite3

from agent.errors import AgentError

# The closed set of ``reason`` labels.
REASONS = ("unreachable", "locked", "read_only", "full", "timeout", "rejected", "other")


class StoreError(AgentError):
    """The records store is misconfigured or unusable; the message names the value."""

    def __init__(self, problem: str) -> None:
        self.problem = problem
        super().__init__(problem)


_SQLITE_MESSAGES = (
    ("locked", "locked"),
    ("busy", "locked"),
    ("readonly", "read_only"),
    ("read-only", "read_only"),
    ("disk is full", "full"),
    ("disk i/o", "unreachable"),
    ("unable to open", "unreachable"),
    ("no such table", "unreachable"),
)

# PostgreSQL SQLSTATE classes and codes.
_PG_CODES = {
    "53100": "full",  # disk_full
    "53200": "full",  # out_of_memory
    "25006": "read_only",  # read_only_sql_transaction
    "55P03": "locked",  # lock_not_available
    "40P01": "locked",  # deadlock_detected
    "40001": "locked",  # serialization_failure
    "57014": "timeout",  # query_canceled (statement_timeout)
    "57P01": "unreachable",  # admin_shutdown
    "57P02": "unreachable",  # crash_shutdown
    "57P03": "unreachable",  # cannot_connect_now
    "3D000": "unreachable",  # invalid_catalog_name: the database is gone
    "42P01": "unreachable",  # undefined_table: dropped under us; retry after migrating
}


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        orig = getattr(current, "orig", None)
        current = (
            orig if isinstance(orig, BaseException) else (current.__cause__ or current.__context__)
        )
    return seen


def classify(exc: BaseException) -> tuple[str, bool]:
    """``(reason, retryable)`` of a failed write; unknown problems are retried as ``other``.

    ``rejected`` (not retryable) means the database refused the data itself (a constraint,
    a value out of range): retrying the same rows can never succeed.
    """
    for link in _chain(exc):
        code = getattr(link, "sqlstate", None) or getattr(link, "pgcode", None)
        if isinstance(code, str):
            if code in _PG_CODES:
                return _PG_CODES[code], True
            if code[:2] in ("08",):
                return "unreachable", True
            if code[:2] in ("22", "23"):
                return "rejected", False
        if isinstance(link, sqlite3.IntegrityError | sqlite3.DataError):
            return "rejected", False
        if isinstance(link, sqlite3.Error):
            message = str(link).lower()
            for needle, reason in _SQLITE_MESSAGES:
                if needle in message:
                    return reason, True
        if isinstance(link, TimeoutError):
            return "timeout", True
        if isinstance(link, ConnectionError | OSError):
            return "unreachable", True
        name = type(link).__name__
        if name in ("ConnectionDoesNotExistError", "InterfaceError", "InternalClientError"):
            return "unreachable", True
    return "other", True
