"""The alert book's durable state: open alerts with their timers, and live silences.

SQLite in WAL mode, written synchronously on each state change (a few per alert, never per
comment), so a SIGKILLed agent resumes every open alert and escalation deadline.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import orjson

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS book_alerts (alert_id TEXT PRIMARY KEY, body BLOB NOT NULL)",
    "CREATE TABLE IF NOT EXISTS book_silences (id TEXT PRIMARY KEY, body BLOB NOT NULL)",
)


class BookStore:
    """Key → JSON rows for alert entries and silences."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        for statement in _SCHEMA:
            self._db.execute(statement)

    def save_alert(self, alert_id: str, body: dict[str, Any]) -> None:
        """Insert or replace one entry."""
        self._db.execute(
            "INSERT OR REPLACE INTO book_alerts (alert_id, body) VALUES (?, ?)",
            (alert_id, orjson.dumps(body)),
        )

    def delete_alert(self, alert_id: str) -> None:
        """Forget an entry (resolved and past its listing time)."""
        self._db.execute("DELETE FROM book_alerts WHERE alert_id = ?", (alert_id,))

    def alerts(self) -> list[dict[str, Any]]:
        """Every stored entry."""
        rows = self._db.execute("SELECT body FROM book_alerts").fetchall()
        return [orjson.loads(row[0]) for row in rows]

    def save_silence(self, silence_id: str, body: dict[str, Any]) -> None:
        """Insert or replace a silence."""
        self._db.execute(
            "INSERT OR REPLACE INTO book_silences (id, body) VALUES (?, ?)",
            (silence_id, orjson.dumps(body)),
        )

    def delete_silence(self, silence_id: str) -> None:
        """Forget a silence."""
        self._db.execute("DELETE FROM book_silences WHERE id = ?", (silence_id,))

    def silences(self) -> list[dict[str, Any]]:
        """Every stored silence."""
        rows = self._db.execute("SELECT body FROM book_silences").fetchall()
        return [orjson.loads(row[0]) for row in rows]

    def close(self) -> None:
        """Close the database."""
        self._db.close()
