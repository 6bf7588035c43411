"""The records store (5.2.1 c): every inquiry, alert lifecycle, misstatement and banned term.

SQLAlchemy Core on SQLite (default) or PostgreSQL with the same code; Alembic migrations
run at start; writes are batched by a background task so ``submit`` never waits on disk.
"""

from __future__ import annotations

from agent.store.engine import async_url, create_engine, migrate
from agent.store.errors import StoreError
from agent.store.records import RecordStore

__all__ = ["RecordStore", "StoreError", "async_url", "create_engine", "migrate"]
