"""What the offline commands (report, purge, export-user, forget-user) share: the config's
store, the viewer hash without creating a key, time arguments, JSON output."""

from __future__ import annotations

import asyncio
import math
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection

from agent.config import AgentConfig, StoreConfig, load_config
from agent.store.engine import create_engine, migrate
from agent.store.errors import StoreError


def store_config(config: AgentConfig, path: str) -> StoreConfig:
    """The config's ``store:``; a ``StoreError`` when there is none."""
    if config.store is None:
        raise StoreError(f"{path}: no store: section; nothing is recorded with this config")
    return config.store


def load(path: str) -> tuple[AgentConfig, StoreConfig]:
    """The config file and its store section (``ConfigError`` / ``StoreError`` on problems)."""
    config = load_config(path)
    return config, store_config(config, path)


@asynccontextmanager
async def connect(url: str, *, write: bool) -> AsyncIterator[AsyncConnection]:
    """One connection in a transaction, schema at head (migrated if needed)."""
    engine = create_engine(url)
    try:
        database = engine.url.database or ""
        sqlite_file = engine.url.get_backend_name() == "sqlite" and database not in ("", ":memory:")
        # A read must not create an empty database where a path was mistyped.
        if not write and sqlite_file and not await asyncio.to_thread(Path(database).exists):
            raise StoreError(f"no records database at {database}")
        await migrate(engine)
        async with engine.begin() as conn:
            yield conn
    finally:
        await engine.dispose()


def user_hash(config: AgentConfig, uid: str) -> str:
    """The keyed hash the agent stores for platform user ``uid``.

    Uses the same key as the running agent (environment, else the key file); never creates
    a key, since a fresh one would match nobody.
    """
    from agent.privacy import UserHasher, load_or_create_key  # noqa: PLC0415

    privacy = config.privacy
    secret = os.environ.get(privacy.hash_key_env)
    if secret:
        return UserHasher(secret.encode())(uid)
    if not privacy.key_file.exists():
        raise StoreError(
            f"no user-hash key: set {privacy.hash_key_env} or run where {privacy.key_file} is"
        )
    return UserHasher(load_or_create_key(privacy.key_file))(uid)


def parse_time(value: str, tz: str = "Asia/Shanghai") -> float:
    """Epoch seconds from an epoch number or an ISO date(-time); naive times are in ``tz``."""
    text = value.strip()
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        if not math.isfinite(number):
            raise ValueError(f"not a time: {value!r}")
        return number / 1000.0 if number > 1e11 else number
    try:
        parsed = datetime.fromisoformat(text.replace(" ", "T", 1) if " " in text else text)
    except ValueError:
        raise ValueError(
            f"not an ISO date-time or epoch seconds: {value!r} (e.g. 2025-11-22T20:00)"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(tz))
    return parsed.timestamp()


def iso(ts: float | None, tz: str = "Asia/Shanghai") -> str | None:
    """An epoch time as ISO 8601 in ``tz`` (seconds precision)."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, ZoneInfo(tz)).isoformat(timespec="seconds")


def jsonable(row: dict[str, Any], tz: str = "Asia/Shanghai") -> dict[str, Any]:
    """A row with ``*_ts`` / ``*_at`` times added as ISO strings next to the epoch values."""
    out = dict(row)
    for key, value in row.items():
        if (key.endswith(("_ts", "_at"))) and isinstance(value, int | float):
            out[f"{key}_iso"] = iso(float(value), tz)
    return out
