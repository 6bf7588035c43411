"""The records store: one suite over SQLite and the real PostgreSQL (migrations, writes,
lifecycle, corrections, retention, data-subject requests, outages that lose nothing)."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from agent.cli import main
from agent.events import Alert, Finding, HostSpeech
from agent.metrics import Metrics
from agent.privacy import UserHasher
from agent.store import RecordStore, StoreError, async_url, create_engine, migrate, queries
from agent.store.engine import current_revision, head_revision
from agent.store.errors import classify
from agent.store.schema import metadata
from tests.conftest import ROOT
from tests.loopback import PgProxy

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
HASH_KEY = "test-hash-key-0123456789abcdef"


@dataclass
class Db:
    """A fresh, empty database of one backend."""

    backend: str
    url: str
    path: Path | None = None


def _pg(sql: str) -> None:
    async def go() -> None:
        conn = await asyncpg.connect(PG_ADMIN.replace("postgresql", "postgres"))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(go())


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Db]:
    """An empty SQLite file, or a uniquely named PostgreSQL database dropped afterwards."""
    if request.param == "sqlite":
        path = tmp_path / "records.db"
        yield Db("sqlite", f"sqlite:///{path}", path)
        return
    name = f"test_store_{uuid.uuid4().hex[:12]}"
    _pg(f"CREATE DATABASE {name}")
    try:
        yield Db("postgres", f"postgresql://postgres@127.0.0.1:5432/{name}")
    finally:
        _pg(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def inquiry(n: int, *, user: str | None = "h:u1", room: str = "r1", received: float = 1000.0,
            category: str = "logistics") -> Finding:  # fmt: skip
    """An inquiry finding."""
    return Finding(room=room, kind="inquiry", category=category, severity="low",
                   text=f"什么时候发货 {n}", ts=900.0 + n, received=received, score=0.9,
                   sku="A1", group_key="多久发货？", suggested_reply="48小时内发货",
                   user=user)  # fmt: skip


def misstatement(received: float = 1000.0, room: str = "r1") -> Finding:
    """A price misstatement finding."""
    return Finding(room=room, kind="misstatement", category="price", severity="high",
                   text="到手价只要99", ts=received - 100, received=received, sku="A1",
                   group_key="A1:price", correction="更正一下：到手价129元",
                   details={"claimed": "99", "expected": "129", "evidence": "只要99"})  # fmt: skip


def alert(alert_id: str = "a1", version: int = 1, state: str = "open", at: float = 1000.0,
          **extra: Any) -> Alert:  # fmt: skip
    """An alert version."""
    data = {"alert_id": alert_id, "room": "r1", "kind": "inquiry", "category": "logistics",
            "severity": "high", "first_seen": 900.0, "last_seen": 950.0, "source_ts": 900.0,
            "version": version, "state": state, "updated_at": at, "received": at - 0.5,
            "examples": ["什么时候发货 1"], **extra}  # fmt: skip
    return Alert.from_dict(data)


@contextlib.asynccontextmanager
async def opened(
    url: str, metrics: Metrics | None = None, **options: Any
) -> AsyncIterator[RecordStore]:
    """A running store with fast batching and retries."""
    settings = {"flush_interval": 0.02, "retry_initial": 0.05, "retry_max": 0.2, **options}
    async with RecordStore(url, metrics or Metrics(), **settings) as store:
        yield store


async def rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    """Rows of a query on a separate engine."""
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return [tuple(r) for r in await conn.execute(sa.text(sql))]
    finally:
        await engine.dispose()


async def count(url: str, table: str) -> int:
    """Rows in a table."""
    return int((await rows(url, f"SELECT count(*) FROM {table}"))[0][0])


# -- pure parts -------------------------------------------------------------------------


def test_config_urls_map_to_async_drivers() -> None:
    """sqlite:/// and postgresql:// become aiosqlite and asyncpg; other schemes are refused."""
    assert async_url("sqlite:///data/x.db").drivername == "sqlite+aiosqlite"
    assert async_url("postgresql://u@h/db").drivername == "postgresql+asyncpg"
    assert async_url("postgres://u@h/db").drivername == "postgresql+asyncpg"
    with pytest.raises(StoreError, match="unsupported scheme 'mysql'"):
        async_url("mysql://u@h/db")


def test_sqlite_errors_are_classified() -> None:
    """Locked, read-only, full and constraint failures get their closed reason."""
    assert classify(sqlite3.OperationalError("database is locked")) == ("locked", True)
    assert classify(sqlite3.OperationalError("attempt to write a readonly database")) == (
        "read_only", True)  # fmt: skip
    assert classify(sqlite3.OperationalError("database or disk is full")) == ("full", True)
    assert classify(sqlite3.IntegrityError("NOT NULL constraint failed")) == ("rejected", False)
    assert classify(ConnectionRefusedError()) == ("unreachable", True)


# -- migrations -------------------------------------------------------------------------


async def test_migrations_from_an_empty_database_match_the_schema(db: Db) -> None:
    """Upgrading an empty database reaches head, and the result equals schema.py."""
    engine = create_engine(db.url)
    try:
        await migrate(engine)
        await migrate(engine)  # at head: a no-op
        async with engine.connect() as conn:
            assert await current_revision(conn) == head_revision() == "0003"
            diff = await conn.run_sync(
                lambda c: compare_metadata(MigrationContext.configure(c), metadata)
            )
        assert diff == []
    finally:
        await engine.dispose()


async def test_migration_from_the_previous_revision_keeps_rows(db: Db) -> None:
    """Rows written under 0001 survive the upgrade and gain the 0002 columns and tables."""
    engine = create_engine(db.url)
    try:
        await migrate(engine, "0001")
        async with engine.begin() as conn:
            await conn.execute(sa.text(
                "INSERT INTO misstatements (room, field, text, group_key, source_ts, received_ts)"
                " VALUES ('r1', 'price', '只要99', 'A1:price', 1.0, 2.0)"))  # fmt: skip
            await conn.execute(sa.text(
                "INSERT INTO inquiries (room, category, severity, after_sales, score, text,"
                " user_hash, source_ts, received_ts) VALUES ('r1', 'logistics', 'low', true, 0.9,"
                " '发货', 'h:u1', 1.0, 2.0)"))  # fmt: skip
        await migrate(engine, "0002")
        async with engine.connect() as conn:
            assert await current_revision(conn) == "0002"
            query = "SELECT text, corrected_at, correction_source FROM misstatements"
            fixed = (await conn.execute(sa.text(query))).all()
            assert [tuple(r) for r in fixed] == [("只要99", None, None)]
            assert len(await queries.user_inquiries(conn, "h:u1")) == 1
        async with opened(db.url) as store:
            store.delivered(alert(), "mqtt")
            assert await store.flush(10)
        assert await count(db.url, "alert_deliveries") == 1
    finally:
        await engine.dispose()


async def test_migration_from_0002_adds_the_shared_book_and_keeps_rows(db: Db) -> None:
    """Rows written under 0002 survive 0003, which adds a working book_entries table."""
    engine = create_engine(db.url)
    try:
        await migrate(engine, "0002")
        async with engine.begin() as conn:
            await conn.execute(sa.text(
                "INSERT INTO alert_deliveries (alert_id, version, sink, delivered_at)"
                " VALUES ('a1', 1, 'mqtt', 5.0)"))  # fmt: skip
        await migrate(engine)
        async with engine.connect() as conn:
            assert await current_revision(conn) == "0003"
        async with opened(db.url) as store:
            store.mirror_entry(book_row("x", "r1", version=1, revision=1))
            assert await store.flush(10)
            assert [e["alert"]["alert_id"] for e in await store.load_entries(["r1"])] == ["x"]
        assert await rows(db.url, "SELECT alert_id, sink FROM alert_deliveries") == [
            ("a1", "mqtt")]  # fmt: skip
    finally:
        await engine.dispose()


# -- writes -----------------------------------------------------------------------------


async def test_findings_are_written_in_batches_with_metrics(db: Db) -> None:
    """Inquiries, misstatements and banned terms land in their tables; counters say so."""
    metrics = Metrics()
    async with opened(db.url, metrics, batch_size=7) as store:
        for n in range(20):
            store.submit(inquiry(n))
        store.submit(misstatement())
        store.submit(Finding(room="r1", kind="compliance", category="ad_law", severity="high",
                             text="全网最低", ts=1.0, received=2.0, group_key="全网最低",
                             details={"term": "全网最低", "evidence": "全网最低"}))  # fmt: skip
        store.submit(Finding(room="r1", kind="spike", category="quality", severity="high",
                             text="x", ts=1.0, received=2.0))  # fmt: skip
        assert await store.flush(10)
        assert store.pending() == 0
    assert await count(db.url, "inquiries") == 20
    got = await rows(db.url, "SELECT sku, category, user_hash, faq_question, faq_reply, score "
                             "FROM inquiries ORDER BY id LIMIT 1")  # fmt: skip
    assert got == [("A1", "logistics", "h:u1", "多久发货？", "48小时内发货", 0.9)]
    assert await rows(db.url, "SELECT claimed, expected, correction FROM misstatements") == [
        ("99", "129", "更正一下：到手价129元")]  # fmt: skip
    assert await rows(db.url, "SELECT term FROM compliance") == [("全网最低",)]
    written = metrics.registry.get_sample_value
    assert written("danmaku_records_written_total", {"table": "inquiries"}) == 20
    assert written("danmaku_records_written_total", {"table": "compliance"}) == 1
    assert written("danmaku_store_pending") == 0
    assert written("danmaku_store_up") == 1


async def test_submit_snapshots_the_record(db: Db) -> None:
    """A finding changed after submit is written as it was when submitted."""
    async with opened(db.url, flush_interval=5.0) as store:
        finding = inquiry(1)
        store.submit(finding)
        finding.text = "changed"
        assert await store.flush(10)
    assert await rows(db.url, "SELECT text FROM inquiries") == [("什么时候发货 1",)]


async def test_alert_lifecycle_keeps_latest_version_and_every_event(db: Db) -> None:
    """Versions upsert the alert row; ack/escalate/resolve times stick; repeats are ignored."""
    async with opened(db.url) as store:
        store.submit(alert(version=1, at=1000.0, team="aftersales", assignee="li"))
        store.submit(alert(version=2, state="escalated", at=1180.0, escalation_level=1,
                           assignee="wang"))  # fmt: skip
        store.submit(alert(version=3, state="acked", at=1200.0, acked_by="wang",
                           assignee="wang", escalation_level=1))  # fmt: skip
        store.submit(alert(version=3, state="acked", at=1200.0, acked_by="wang"))  # a repeat
        store.submit(alert(version=4, state="acked", at=1300.0, acked_by="wang", count=5))
        store.submit(alert(version=5, state="resolved", at=1500.0, acked_by="wang",
                           resolved_by="wang"))  # fmt: skip
        store.submit(alert(version=2, state="escalated", at=1180.0))  # late and stale
        assert await store.flush(10)
    got = await rows(db.url, "SELECT state, version, created_at, acked_at, acked_by, "
                             "escalated_at, resolved_at, resolved_by FROM alerts")  # fmt: skip
    assert got == [("resolved", 5, 1000.0, 1200.0, "wang", 1180.0, 1500.0, "wang")]
    events = await rows(db.url, "SELECT version, state FROM alert_events ORDER BY version")
    assert events == [(1, "open"), (2, "escalated"), (3, "acked"), (4, "acked"),
                      (5, "resolved")]  # fmt: skip


def book_row(alert_id: str, room: str, *, version: int, revision: int, state: str = "open",
             owner: str = "a") -> dict[str, Any]:  # fmt: skip
    """A shared alert-book row as the alert book mirrors it."""
    entry = {"alert": alert(alert_id, version=version, state=state, room=room).to_dict(),
             "first_published": 1000.0, "paged": ["li"], "step": "ack", "notified": True,
             "acked_at": None, "revision": revision}  # fmt: skip
    return {"alert_id": alert_id, "room": room, "owner": owner, "state": state,
            "version": version, "revision": revision, "deadline": 1180.0,
            "updated_at": 1000.0 + revision, "entry": entry}  # fmt: skip


async def test_book_entries_keep_the_newest_state_whatever_the_arrival_order(db: Db) -> None:
    """(version, revision) only grows: late, older states (within or across batches) lose."""
    async with opened(db.url) as store:
        store.mirror_entry(book_row("x", "r1", version=1, revision=1))
        store.mirror_entry(book_row("x", "r1", version=2, revision=3, owner="b"))
        store.mirror_entry(book_row("x", "r1", version=2, revision=2))  # same batch, older
        assert await store.flush(10)
        store.mirror_entry(book_row("x", "r1", version=1, revision=9))  # older version
        store.mirror_entry(book_row("x", "r1", version=2, revision=3, owner="c"))  # a tie
        assert await store.flush(10)
    got = await rows(db.url, "SELECT version, revision, owner, updated_at FROM book_entries")
    assert got == [(2, 3, "b", 1003.0)]


async def test_load_entries_returns_unresolved_entries_of_the_rooms_asked(db: Db) -> None:
    """Only the rooms asked for, resolved entries left out unless asked for by id, the entry
    JSON as mirrored."""
    metrics = Metrics()
    async with opened(db.url, metrics) as store:
        store.mirror_entry(book_row("x", "r1", version=1, revision=1))
        store.mirror_entry(book_row("y", "r1", version=3, revision=4, state="resolved"))
        store.mirror_entry(book_row("z", "r2", version=1, revision=1))
        store.mirror_entry(book_row("w", "r3", version=2, revision=2, state="escalated"))
        assert await store.flush(10)
        loaded = await store.load_entries(["r1", "r3", "r9"])
        by_id = await store.load_entries(["r9"], ["y", "x", "nope"])
    got = sorted((e["alert"]["alert_id"], e["alert"]["state"], e["revision"]) for e in loaded)
    assert got == [("w", "escalated", 2), ("x", "open", 1)]
    assert sorted((e["alert"]["alert_id"], e["alert"]["state"]) for e in by_id) == [
        ("x", "open"), ("y", "resolved")]  # fmt: skip
    assert loaded[0]["paged"] == ["li"]
    written = metrics.registry.get_sample_value
    assert written("danmaku_records_written_total", {"table": "book_entries"}) == 4


async def test_misstatement_corrected_on_air_or_by_resolve(db: Db) -> None:
    """A host correction naming the right value, or a staff resolve, sets time to correction."""
    async with opened(db.url) as store:
        store.submit(misstatement(received=1000.0, room="r1"))
        store.submit(misstatement(received=1000.0, room="r2"))
        speech = HostSpeech(room="r1", text="不好意思刚才说错了 更正一下到手价是129元", ts=1.0,
                            received=1042.0, source="relay")  # fmt: skip
        store.submit(HostSpeech(room="r2", text="这款很好用", ts=1.0, received=1010.0,
                                source="relay"))  # fmt: skip
        store.submit(speech)
        store.submit(alert("m2", version=2, state="resolved", at=1090.0, kind="misstatement",
                           room="r2", group_key="A1:price", resolved_by="li"))  # fmt: skip
        assert await store.flush(10)
    got = await rows(db.url, "SELECT room, corrected_at, correction_source FROM misstatements "
                             "ORDER BY room")  # fmt: skip
    assert got == [("r1", 1042.0, "speech"), ("r2", 1090.0, "resolved")]


async def test_a_refused_row_is_dropped_and_counted_while_the_rest_is_written(db: Db) -> None:
    """A row the database refuses (NOT NULL) does not block the batch it came in."""
    metrics = Metrics()
    async with opened(db.url, metrics, flush_interval=0.2) as store:
        store.submit(inquiry(1))
        bad = inquiry(2)
        bad.text = None  # type: ignore[assignment]
        store.submit(bad)
        store.submit(inquiry(3))
        assert await store.flush(10)
    assert await rows(db.url, "SELECT text FROM inquiries ORDER BY id") == [
        ("什么时候发货 1",), ("什么时候发货 3",)]  # fmt: skip
    sample = metrics.registry.get_sample_value
    assert (
        sample("danmaku_records_dropped_total", {"table": "inquiries", "reason": "rejected"}) == 1
    )


async def test_close_flushes_what_is_buffered(db: Db) -> None:
    """Leaving the context writes everything submitted just before."""
    async with opened(db.url, flush_interval=30.0) as store:
        for n in range(50):
            store.submit(inquiry(n))
    assert await count(db.url, "inquiries") == 50


async def test_the_store_refuses_reentry(db: Db) -> None:
    """Entering a running store again is an error."""
    async with opened(db.url) as store:
        with pytest.raises(StoreError, match="already open"):
            await store.__aenter__()


# -- retention and data-subject requests ------------------------------------------------


async def test_purge_removes_exactly_what_is_past_retention(db: Db) -> None:
    """Rows received before the cutoff go, with old alerts' events; newer rows stay."""
    async with opened(db.url) as store:
        for n in range(3):
            store.submit(inquiry(n, received=100.0))
        for n in range(4):
            store.submit(inquiry(n, received=5000.0))
        store.submit(misstatement(received=100.0))
        store.submit(misstatement(received=5000.0))
        store.submit(alert("old", at=100.0))
        store.submit(alert("old", version=2, state="acked", at=150.0))
        store.submit(alert("new", at=5000.0))
        store.delivered(alert("old"), "mqtt")
        store.mirror_entry(book_row("old", "r1", version=2, revision=2) | {"updated_at": 150.0})
        store.mirror_entry(book_row("new", "r1", version=1, revision=1) | {"updated_at": 5000.0})
        assert await store.flush(10)
    engine = create_engine(db.url)
    try:
        async with engine.begin() as conn:
            dry = await queries.purge(conn, 1000.0, dry_run=True)
        async with engine.begin() as conn:
            done = await queries.purge(conn, 1000.0)
    finally:
        await engine.dispose()
    expected = {"inquiries": 3, "misstatements": 1, "compliance": 0, "alert_events": 2,
                "alert_deliveries": 1, "alerts": 1, "book_entries": 1}  # fmt: skip
    assert dry == done == expected
    assert await rows(db.url, "SELECT alert_id FROM book_entries") == [("new",)]
    assert await count(db.url, "inquiries") == 4
    assert await rows(db.url, "SELECT alert_id FROM alerts") == [("new",)]
    assert await rows(db.url, "SELECT alert_id FROM alert_events") == [("new",)]


def _config(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "agent.yaml"
    path.write_text(
        f"sources: [{{type: replay, path: {ROOT / 'configs/demo/stream.jsonl'}}}]\n"
        f"store: {{url: '{url}', retention_days: 30}}\n",
        encoding="utf-8",
    )
    return path


async def test_forget_and_export_user_touch_exactly_that_viewer(
    db: Db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """forget-user deletes the viewer's inquiries and example texts; others stay intact."""
    monkeypatch.setenv("DANMAKU_HASH_KEY", HASH_KEY)
    hasher = UserHasher(HASH_KEY.encode())
    me, other = hasher("u1001"), hasher("u2002")
    async with opened(db.url) as store:
        store.submit(inquiry(1, user=me))
        store.submit(inquiry(2, user=me, room="r2"))
        store.submit(inquiry(3, user=other))
        store.submit(alert("a1", examples=["什么时候发货 1", "什么时候发货 3"]))
        assert await store.flush(10)
    config = str(_config(tmp_path, db.url))
    capsys.readouterr()

    assert await asyncio.to_thread(main, ["export-user", "--config", config, "--uid", "u1001"]) == 0
    exported = orjson.loads(capsys.readouterr().out)
    assert exported["uid_hash"] == me
    assert [r["text"] for r in exported["inquiries"]] == ["什么时候发货 1", "什么时候发货 2"]
    assert exported["inquiries"][0]["source_ts_iso"].endswith("+08:00")

    assert await asyncio.to_thread(main, ["forget-user", "--config", config, "--uid", "u1001"]) == 0
    assert orjson.loads(capsys.readouterr().out)["deleted"] == {"inquiries": 2,
                                                                 "alert_examples": 1}  # fmt: skip
    assert await rows(db.url, "SELECT user_hash, text FROM inquiries") == [
        (other, "什么时候发货 3")
    ]
    (raw,) = (await rows(db.url, "SELECT examples FROM alerts"))[0]
    assert (orjson.loads(raw) if isinstance(raw, str) else raw) == ["什么时候发货 3"]


# -- outages ----------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def outage(db: Db) -> AsyncIterator[tuple[str, Any, Any]]:
    """``(url, cut, restore)``: SQLite is locked by another writer, PostgreSQL is cut off."""
    if db.backend == "sqlite":
        holder: list[sqlite3.Connection] = []

        def cut() -> None:
            conn = sqlite3.connect(str(db.path), isolation_level=None)
            conn.execute("BEGIN EXCLUSIVE")
            holder.append(conn)

        def restore() -> None:
            conn = holder.pop()
            conn.execute("ROLLBACK")
            conn.close()

        yield db.url, cut, restore
        return
    proxy = PgProxy()
    await proxy.start()

    def pg_restore() -> None:
        proxy.cut = False

    try:
        yield db.url.replace(":5432/", f":{proxy.port}/"), proxy.sever, pg_restore
    finally:
        await proxy.close()


async def _until(predicate: Any, seconds: float = 15.0) -> None:
    """Poll ``predicate`` (a metric) until true."""
    async with asyncio.timeout(seconds):
        while not predicate():  # noqa: ASYNC110 - metrics have no event to wait on
            await asyncio.sleep(0.02)


async def test_database_outage_mid_run_loses_no_record(db: Db) -> None:
    """Cut mid-run: one error line, metrics, buffering; restored: everything is written."""
    metrics = Metrics()
    sample = metrics.registry.get_sample_value
    async with outage(db) as (url, cut, restore):
        engine = create_engine(url)
        await migrate(engine)
        await engine.dispose()
        async with opened(url, metrics) as store:
            for n in range(100):
                store.submit(inquiry(n))
            assert await store.flush(10)
            cut()
            for n in range(100, 300):
                store.submit(inquiry(n))
            store.submit(alert())
            await _until(lambda: sum(
                sample("danmaku_store_errors_total", {"reason": r}) or 0
                for r in ("locked", "unreachable", "other")) > 0)  # fmt: skip
            assert sample("danmaku_store_up") == 0
            assert sample("danmaku_store_pending") == 201
            restore()
            assert await store.flush(20)
            assert sample("danmaku_store_up") == 1
    assert await count(db.url, "inquiries") == 300
    assert await count(db.url, "alerts") == 1
    assert sample("danmaku_records_written_total", {"table": "inquiries"}) == 300


async def test_store_starts_without_a_database_and_catches_up(db: Db) -> None:
    """An unreachable database at start does not stop the agent; records wait and land."""
    async with outage(db) as (url, cut, restore):
        if db.backend == "sqlite":
            engine = create_engine(url)
            await migrate(engine)
            await engine.dispose()
        cut()
        async with opened(url) as store:
            for n in range(10):
                store.submit(inquiry(n))
            assert not await store.flush(0.3)
            restore()
            assert await store.flush(20)
    assert await count(db.url, "inquiries") == 10


async def test_written_waits_for_what_was_buffered_before_the_mark(db: Db) -> None:
    """A mark is reached once the rows buffered before it are committed: at once when
    nothing is buffered, not while the database is cut, and soon after it is back."""
    async with outage(db) as (url, cut, restore):
        engine = create_engine(url)
        await migrate(engine)
        await engine.dispose()
        async with opened(url, flush_interval=30.0) as store:
            assert await store.written(store.mark(), 0.1)  # nothing buffered
            cut()
            store.mirror_entry(book_row("x", "r1", version=1, revision=1))
            mark = store.mark()
            for n in range(5):
                store.submit(inquiry(n))
            assert not await store.written(mark, 0.3)
            restore()
            assert await store.written(mark, 20)
            assert await count(db.url, "book_entries") == 1


async def test_a_full_buffer_drops_new_records_and_counts_them(db: Db) -> None:
    """Past buffer_size, records are dropped and counted; written + dropped = submitted."""
    metrics = Metrics()
    sample = metrics.registry.get_sample_value
    async with outage(db) as (url, cut, restore):
        engine = create_engine(url)
        await migrate(engine)
        await engine.dispose()
        cut()
        async with opened(url, metrics, buffer_size=100) as store:
            for n in range(150):
                store.submit(inquiry(n))
            assert store.pending() == 100
            restore()
            assert await store.flush(20)
    dropped = sample("danmaku_records_dropped_total", {"table": "inquiries",
                                                       "reason": "buffer_full"})  # fmt: skip
    assert dropped == 50
    assert await count(db.url, "inquiries") == 100


async def test_a_single_record_is_written_without_a_flush(db: Db) -> None:
    """A trickle of records is written within the flush interval, not only at batch size."""
    metrics = Metrics()
    sample = metrics.registry.get_sample_value
    async with opened(db.url, metrics) as store:
        store.submit(inquiry(1))
        await _until(lambda: sample("danmaku_records_written_total", {"table": "inquiries"}))
        store.submit(inquiry(2))
        await _until(lambda: sample("danmaku_records_written_total", {"table": "inquiries"}) == 2)
