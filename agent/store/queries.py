"""Reads and deletions of the records: retention, a viewer's data-subject requests, reports.

Every function takes an open ``AsyncConnection`` and runs inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from agent.store import schema

_BY_RECEIVED = (schema.inquiries, schema.misstatements, schema.compliance)


async def _count(conn: AsyncConnection, table: sa.Table, where: sa.ColumnElement[bool]) -> int:
    result = await conn.execute(sa.select(sa.func.count()).select_from(table).where(where))
    return int(result.scalar_one())


def _old_alert_ids(cutoff: float) -> sa.Select[tuple[str]]:
    return sa.select(schema.alerts.c.alert_id).where(schema.alerts.c.updated_at < cutoff)


async def purge(conn: AsyncConnection, cutoff: float, *, dry_run: bool = False) -> dict[str, int]:
    """Delete (or, dry, count) records received before ``cutoff``; rows per table.

    Alerts go with their lifecycle events and deliveries once their last version is older;
    shared alert-book entries once nobody changed them since.
    """
    old_ids = _old_alert_ids(cutoff)
    targets: list[tuple[sa.Table, sa.ColumnElement[bool]]] = [
        (table, table.c.received_ts < cutoff) for table in _BY_RECEIVED
    ]
    targets += [
        (schema.alert_events, schema.alert_events.c.alert_id.in_(old_ids)),
        (schema.alert_deliveries, schema.alert_deliveries.c.alert_id.in_(old_ids)),
        (schema.alerts, schema.alerts.c.updated_at < cutoff),
        (schema.book_entries, schema.book_entries.c.updated_at < cutoff),
    ]
    counts: dict[str, int] = {}
    for table, where in targets:
        if dry_run:
            counts[str(table.name)] = await _count(conn, table, where)
        else:
            result = await conn.execute(sa.delete(table).where(where))
            counts[str(table.name)] = int(result.rowcount)
    return counts


async def book_entries(
    conn: AsyncConnection, rooms: Sequence[str], alert_ids: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """Alert-book entries (their ``entry`` JSON): the unresolved ones of ``rooms``, and those
    of ``alert_ids`` whatever their state (a copy held elsewhere may have been closed)."""
    b = schema.book_entries
    found: dict[str, dict[str, Any]] = {}

    async def select(column: sa.Column[str], values: set[str], *where: Any) -> None:
        wanted = sorted(values)
        for start in range(0, len(wanted), 500):  # bounded IN lists
            query = sa.select(b.c.alert_id, b.c.entry).where(
                column.in_(wanted[start : start + 500]), *where
            )
            found.update((alert_id, dict(entry)) for alert_id, entry in await conn.execute(query))

    await select(b.c.room, set(rooms), b.c.state != "resolved")
    await select(b.c.alert_id, set(alert_ids) - found.keys())
    return list(found.values())


def _plain(row: sa.Row[Any]) -> dict[str, Any]:
    return {str(key): value for key, value in row._mapping.items()}


async def user_inquiries(conn: AsyncConnection, user_hash: str) -> list[dict[str, Any]]:
    """Every inquiry of one viewer (by keyed hash), oldest first."""
    i = schema.inquiries
    rows = await conn.execute(
        sa.select(i).where(i.c.user_hash == user_hash).order_by(i.c.source_ts, i.c.id)
    )
    return [_plain(r) for r in rows]


@dataclass(slots=True, frozen=True)
class Forgotten:
    """What ``forget_user`` removed."""

    inquiries: int
    alert_examples: int


async def forget_user(conn: AsyncConnection, user_hash: str) -> Forgotten:
    """Delete one viewer's inquiries, and their texts from the examples of alerts in the
    same rooms (examples carry no viewer id; the text is all that links them)."""
    i, a = schema.inquiries, schema.alerts
    mine = (await conn.execute(
        sa.select(i.c.room, i.c.text).where(i.c.user_hash == user_hash)
    )).all()  # fmt: skip
    texts: dict[str, set[str]] = {}
    for room, text in mine:
        texts.setdefault(room, set()).add(text)
    removed = 0
    if texts:
        rows = await conn.execute(sa.select(a.c.alert_id, a.c.room, a.c.examples)
                                  .where(a.c.room.in_(list(texts))))  # fmt: skip
        for alert_id, room, examples in rows.all():
            kept = [e for e in examples or [] if e not in texts[room]]
            if len(kept) != len(examples or []):
                removed += len(examples) - len(kept)
                await conn.execute(
                    sa.update(a).where(a.c.alert_id == alert_id).values(examples=kept)
                )
    result = await conn.execute(sa.delete(i).where(i.c.user_hash == user_hash))
    return Forgotten(inquiries=int(result.rowcount), alert_examples=removed)


async def select_rows(
    conn: AsyncConnection,
    table: sa.Table,
    *,
    room: str | None,
    start: float | None,
    end: float | None,
    time_column: str = "source_ts",
) -> list[dict[str, Any]]:
    """Rows of ``table`` in ``[start, end)`` (source time by default), optionally one room."""
    column = table.c[time_column]
    query = sa.select(table)
    if room is not None:
        query = query.where(table.c.room == room)
    if start is not None:
        query = query.where(column >= start)
    if end is not None:
        query = query.where(column < end)
    rows = await conn.execute(query.order_by(column))
    return [_plain(r) for r in rows]


async def events_of(conn: AsyncConnection, alert_ids: Sequence[str]) -> list[dict[str, Any]]:
    """Lifecycle events of the given alerts, in version order."""
    e = schema.alert_events
    out: list[dict[str, Any]] = []
    ids = list(alert_ids)
    for start in range(0, len(ids), 500):  # bounded IN lists
        chunk = ids[start : start + 500]
        rows = await conn.execute(
            sa.select(e).where(e.c.alert_id.in_(chunk)).order_by(e.c.alert_id, e.c.version)
        )
        out.extend(_plain(r) for r in rows)
    return out


async def deliveries_of(conn: AsyncConnection, alert_ids: Sequence[str]) -> list[dict[str, Any]]:
    """Confirmed deliveries of the given alerts."""
    d = schema.alert_deliveries
    out: list[dict[str, Any]] = []
    ids = list(alert_ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = await conn.execute(sa.select(d).where(d.c.alert_id.in_(chunk)))
        out.extend(_plain(r) for r in rows)
    return out
