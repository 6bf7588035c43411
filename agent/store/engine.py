"""Database URLs, engines and migrations.

``sqlite:///path`` and ``postgresql://…`` (as written in the config) become the async
drivers (aiosqlite, asyncpg); the schema is brought to the newest Alembic revision at
start. Revisions live in ``agent/store/migrations/versions``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from agent.store.errors import StoreError

MIGRATIONS = Path(__file__).with_name("migrations")
_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
}
# Any constant will do: it serialises concurrent migrations of agents sharing a database.
_PG_MIGRATION_LOCK = 0x64616E6D


def async_url(url: str) -> URL:
    """The async-driver URL for a config URL; raises ``StoreError`` for other schemes."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreError(f"store.url: not a database URL: {url!r}") from None
    driver = _DRIVERS.get(parsed.drivername)
    if driver is None:
        raise StoreError(
            f"store.url: unsupported scheme {parsed.drivername!r}; "
            "expected sqlite:///PATH or postgresql://USER@HOST/DB"
        )
    return parsed.set(drivername=driver)


def display_url(url: URL) -> str:
    """The URL for logs: password hidden."""
    return url.render_as_string(hide_password=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL: readers (reports) never block the writer; a busy timeout rides out short locks.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=2000")
    cursor.close()


def create_engine(url: str, *, connect_timeout: float = 5.0) -> AsyncEngine:
    """An async engine for ``url`` (config form); SQLite parent folders are created."""
    target = async_url(url)
    if target.get_backend_name() == "sqlite":
        database = target.database or ""
        if database in ("", ":memory:"):
            engine = create_async_engine(target, poolclass=StaticPool)
        else:
            Path(database).parent.mkdir(parents=True, exist_ok=True)
            engine = create_async_engine(target, connect_args={"timeout": 2.0})
            sa.event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(
        target,
        pool_pre_ping=True,
        pool_size=2,
        max_overflow=2,
        connect_args={"timeout": connect_timeout, "command_timeout": 30.0},
    )


def _alembic_config(connection: sa.Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: sa.Connection, revision: str) -> None:
    if connection.dialect.name == "postgresql":
        lock = sa.text("SELECT pg_advisory_xact_lock(:key)")
        connection.execute(lock, {"key": _PG_MIGRATION_LOCK})
    command.upgrade(_alembic_config(connection), revision)


def _current(connection: sa.Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def migrate(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (default: the newest), in one transaction."""
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade, revision)


async def current_revision(conn: AsyncConnection) -> str | None:
    """The revision the database is at; None when never migrated."""
    return await conn.run_sync(_current)


def head_revision() -> str:
    """The newest revision shipped with this version."""
    head = ScriptDirectory.from_config(_alembic_config_plain()).get_current_head()
    if head is None:
        raise StoreError("no migrations shipped")
    return head


def _alembic_config_plain() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config
