"""The after-show report from a recorded demo run: XLSX reads back, HTML has its charts."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import openpyxl
import orjson
import pytest

from agent.cli import main
from agent.events import Alert
from agent.metrics import Metrics
from agent.report.render import safe_cell
from agent.report.svg import Bar, hbars
from agent.store import RecordStore
from tests.conftest import ROOT

SHEETS = ["概要", "SLA达标", "热门问题", "口播错误", "违规用语", "客服工作量", "告警时效",
          "分类趋势", "咨询记录"]  # fmt: skip


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A config whose store holds a full replay of the demo broadcast plus staff actions."""
    folder = tmp_path_factory.mktemp("demo")
    config = folder / "agent.yaml"
    config.write_text(
        f"instance: test\n"
        f"sources: [{{type: replay, path: {ROOT / 'configs/demo/stream.jsonl'}, speed: 0}}]\n"
        f"catalog: {ROOT / 'configs/demo/catalog.yaml'}\n"
        f"lineup: {ROOT / 'configs/demo/lineup.yaml'}\n"
        f"sinks: [{{type: jsonl, path: {folder / 'alerts.jsonl'}}}]\n"
        f"store: {{url: 'sqlite:///{folder / 'records.db'}'}}\n"
        f"outbox: {{path: {folder / 'outbox.db'}}}\n",
        encoding="utf-8",
    )
    env = {**os.environ, "DANMAKU_HASH_KEY": "test-hash-key-0123456789abcdef"}
    done = subprocess.run([sys.executable, "-m", "agent", "run", "--config", str(config)],
                          cwd=folder, env=env, capture_output=True, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    asyncio.run(_staff_actions(folder / "records.db"))
    return config


async def _staff_actions(db: Path) -> None:
    """Acknowledge and resolve some of the recorded alerts, as staff would have."""
    with sqlite3.connect(db) as conn:
        latest = conn.execute("SELECT alert_id, version, created_at, kind FROM alerts "
                              "ORDER BY created_at LIMIT 6").fetchall()  # fmt: skip
    async with RecordStore(f"sqlite:///{db}", Metrics()) as store:
        for i, (alert_id, version, created, kind) in enumerate(latest):
            with sqlite3.connect(db) as conn:
                (raw,) = conn.execute("SELECT room, category, severity, first_seen, last_seen,"
                                      " source_ts, group_key FROM alerts WHERE alert_id = ?",
                                      (alert_id,)).fetchall()  # fmt: skip
            base = dict(zip(["room", "category", "severity", "first_seen", "last_seen",
                             "source_ts", "group_key"], raw, strict=True))  # fmt: skip
            staff = "li" if i % 2 else "wang"
            acked = Alert(alert_id=alert_id, kind=kind, version=version + 1, state="acked",
                          updated_at=created + 30 + 200 * i, acked_by=staff, assignee=staff,
                          **base)  # fmt: skip
            store.submit(acked)
            store.submit(Alert(alert_id=alert_id, kind=kind, version=version + 2,
                               state="resolved", updated_at=created + 400 + 200 * i,
                               acked_by=staff, resolved_by=staff, assignee=staff, **base))  # fmt: skip


def test_report_from_a_demo_run_opens(demo_run: Path, tmp_path: Path) -> None:
    """XLSX has every sheet with rows, HTML has five SVG charts and no live markup."""
    out = tmp_path / "report"
    code = main(["report", "--config", str(demo_run), "--room", "demo-room-1",
                 "--from", "2025-11-22T16:26", "--to", "1763800200", "--out", str(out)])  # fmt: skip
    assert code == 0
    book = openpyxl.load_workbook(out / "report.xlsx", read_only=True)
    assert book.sheetnames == SHEETS
    inquiries = list(book["咨询记录"].iter_rows(values_only=True))
    assert inquiries[0][:4] == ("时间", "直播间", "商品", "类别")
    assert len(inquiries) > 100
    assert {row[1] for row in inquiries[1:]} == {"demo-room-1"}
    fixes = list(book["口播错误"].iter_rows(values_only=True))
    assert len(fixes) - 1 == 6  # the six misstatements of room 1 in configs/demo/README.md
    staff = {row[0]: row for row in book["客服工作量"].iter_rows(min_row=2, values_only=True)}
    assert set(staff) == {"li", "wang"}
    assert staff["wang"][2] == 3  # acknowledged three of the six
    book.close()
    html = (out / "report.html").read_text(encoding="utf-8")
    assert html.count("<svg") == 5
    assert "各类咨询随时间变化" in html
    assert "确认用时与SLA" in html
    assert "客服工作量" in html
    assert "<script" not in html
    assert "<img" not in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert (out / "inquiries.csv").read_bytes().startswith(b"\xef\xbb\xbf")


def test_report_without_a_room_covers_every_room(demo_run: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    """No --room: both demo rooms are in; the written paths are printed as JSON."""
    assert main(["report", "--config", str(demo_run), "--out", str(tmp_path)]) == 0
    written = orjson.loads(capsys.readouterr().out)
    assert written["xlsx"].endswith("report.xlsx")
    book = openpyxl.load_workbook(tmp_path / "report.xlsx", read_only=True)
    rooms = {row[1] for row in book["咨询记录"].iter_rows(min_row=2, values_only=True)}
    book.close()
    assert rooms == {"demo-room-1", "demo-room-2"}


def test_report_rejects_bad_times(demo_run: Path, tmp_path: Path) -> None:
    """An unreadable time or an empty window is a usage error (exit 2)."""
    assert main(["report", "--config", str(demo_run), "--from", "yesterday",
                 "--out", str(tmp_path)]) == 2  # fmt: skip
    assert main(["report", "--config", str(demo_run), "--from", "1763800200",
                 "--to", "1763800000", "--out", str(tmp_path)]) == 2  # fmt: skip


def test_spreadsheet_cells_cannot_become_formulas() -> None:
    """Danmaku starting with = + - @ are kept as text; control characters are removed."""
    assert safe_cell('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    assert safe_cell("@all 退款") == "'@all 退款"
    assert safe_cell("退\x07款") == "退款"
    assert safe_cell(12) == 12


def test_chart_labels_are_escaped() -> None:
    """A hostile label is text inside the SVG, never markup."""
    svg = hbars("<b>t</b>", [Bar("<script>alert(1)</script>", 3, "3")])
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg


def test_demo_run_records_where_each_alert_went(demo_run: Path) -> None:
    """Every alert version of the recorded run is noted as delivered to the jsonl sink."""
    db = demo_run.parent / "records.db"
    sent = [orjson.loads(line) for line in (demo_run.parent / "alerts.jsonl").read_bytes().splitlines()]
    with sqlite3.connect(db) as conn:
        delivered = conn.execute("SELECT COUNT(*) FROM alert_deliveries").fetchone()[0]
        misstated = conn.execute("SELECT COUNT(*) FROM misstatements").fetchone()[0]
    assert delivered >= len(sent) > 0
    assert misstated >= 8  # every misstatement of the demo broadcast is on record
