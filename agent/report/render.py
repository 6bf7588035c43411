"""The report files: XLSX (one sheet per table), CSV (UTF-8 with BOM, for Excel) and one
self-contained HTML summary with inline SVG charts.

Danmaku and host texts are escaped in HTML, and any cell that a spreadsheet would read as a
formula (``=``, ``+``, ``-``, ``@`` first) is prefixed with ``'``.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from html import escape
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from agent.report import analysis as an
from agent.report.svg import Bar, hbars, stacked_bars

Cell = str | int | float | bool | None
# Control characters that XLSX (XML 1.0) cannot hold.
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(slots=True)
class Table:
    """One sheet / CSV file."""

    sheet: str
    file: str
    headers: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    widths: dict[int, int] = field(default_factory=dict)


@dataclass(slots=True)
class Report:
    """Everything computed for one report."""

    title: str
    scope: str
    tz: str
    summary: list[tuple[str, Cell]]
    tables: list[Table]
    charts: list[tuple[str, str, str]]  # (heading, explanation, svg)
    html_tables: list[tuple[str, Table, int]]  # (heading, table, rows shown)


def safe_cell(value: Cell) -> Cell:
    """A value safe for a spreadsheet cell: no formula injection, no illegal characters."""
    if isinstance(value, str):
        value = _ILLEGAL.sub("", value)
        if value.startswith(_FORMULA_START):
            return "'" + value
    return value


def local(ts: float | None, tz: str, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    """An epoch time as local text."""
    if ts is None:
        return ""
    return datetime.fromtimestamp(float(ts), ZoneInfo(tz)).strftime(fmt)


def _seconds(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _yes(value: bool | None) -> str:
    return "" if value is None else ("是" if value else "否")


def build(
    *,
    title: str,
    scope: str,
    tz: str,
    start: float | None,
    end: float | None,
    inquiries: Sequence[an.Row],
    alerts: Sequence[an.Row],
    events: Sequence[an.Row],
    deliveries: Sequence[an.Row],
    misstatements: Sequence[an.Row],
    compliance: Sequence[an.Row],
    ack_sla: dict[str, float],
    faq: dict[tuple[str | None, str], str] | None = None,
) -> Report:
    """Compute every table and chart of the report."""
    series = an.per_category(inquiries, start, end)
    questions = an.top_questions(inquiries, faq)
    timing = an.timings(alerts, ack_sla, deliveries)
    sla = an.sla_summary(timing, ack_sla)
    fixes = an.corrections(misstatements, alerts)
    staff = an.workload(timing, events)
    fmt = "%H:%M" if series.width < 86400 else "%m-%d"
    span = [local(b, tz, fmt) for b in series.buckets]

    trend = Table("分类趋势", "category_trend.csv",
                  ["时段开始", *[an.label_zh(c) for c in series.categories]])  # fmt: skip
    for i, bucket in enumerate(series.buckets):
        trend.rows.append([local(bucket, tz), *[series.counts[c][i] for c in series.categories]])

    inquiry_table = Table("咨询记录", "inquiries.csv",
                          ["时间", "直播间", "商品", "类别", "售后", "置信度", "弹幕（已脱敏）",
                           "用户（哈希）", "匹配FAQ问题"], widths={6: 50, 8: 30})  # fmt: skip
    for r in inquiries:
        inquiry_table.rows.append([
            local(r["source_ts"], tz), r["room"], r.get("sku"), an.label_zh(r["category"]),
            _yes(bool(r["after_sales"])), round(float(r["score"]), 3), r["text"],
            r.get("user_hash"), r.get("faq_question"),
        ])  # fmt: skip

    question_table = Table("热门问题", "top_questions.csv",
                           ["排名", "商品", "问题", "类别", "次数", "FAQ回复", "示例弹幕"],
                           widths={2: 30, 5: 60, 6: 40})  # fmt: skip
    for rank, q in enumerate(questions, 1):
        question_table.rows.append([rank, q.sku, q.question or "（无匹配FAQ）",
                                    an.label_zh(q.category), q.count, q.reply,
                                    q.example])  # fmt: skip

    alert_table = Table("告警时效", "alerts.csv",
                        ["告警ID", "直播间", "类型", "类别", "严重度", "条数", "状态", "团队",
                         "处理人", "创建时间", "检测用时(秒)", "送达用时(秒)", "确认人",
                         "确认用时(秒)", "确认SLA(秒)", "确认达标", "升级次数", "解决人",
                         "解决用时(秒)", "误报", "标题"], widths={0: 28, 20: 40})  # fmt: skip
    for t in timing:
        r = t.row
        alert_table.rows.append([
            r["alert_id"], r["room"], an.KIND_ZH.get(r["kind"], r["kind"]),
            an.label_zh(r["category"]), an.SEVERITY_ZH.get(r["severity"], r["severity"]),
            r["count"], an.STATE_ZH.get(r["state"], r["state"]), r.get("team"),
            r.get("assignee"), local(r["created_at"], tz), _seconds(t.detect_seconds),
            _seconds(t.deliver_seconds), r.get("acked_by"), _seconds(t.ack_seconds), t.sla,
            _yes(t.within_sla), r.get("escalation_level") or 0, r.get("resolved_by"),
            _seconds(t.resolve_seconds), _yes(bool(r.get("false_positive"))), r.get("title"),
        ])  # fmt: skip

    sla_table = Table("SLA达标", "sla.csv",
                      ["严重度", "确认SLA(秒)", "告警数", "已确认", "SLA内确认", "达标率",
                       "升级", "确认用时P50(秒)", "确认用时P90(秒)",
                       "检测用时P50(秒)"])  # fmt: skip
    for line in sla:
        rate = round(line.within / line.alerts, 3) if line.alerts else None
        sla_table.rows.append([
            an.SEVERITY_ZH.get(line.severity, line.severity), line.sla, line.alerts, line.acked,
            line.within, rate, line.escalated, _seconds(line.p50), _seconds(line.p90),
            _seconds(line.detect_p50),
        ])  # fmt: skip

    fix_table = Table("口播错误", "misstatements.csv",
                      ["时间", "直播间", "商品", "项目", "主播说", "应为", "主播原话", "更正话术",
                       "更正用时(秒)", "更正方式", "告警确认用时(秒)"],
                      widths={6: 40, 7: 40})  # fmt: skip
    source_zh = {"speech": "主播口播更正", "resolved": "客服标记已更正"}
    for f in fixes:
        m = f.row
        fix_table.rows.append([
            local(m["source_ts"], tz), m["room"], m.get("sku"), an.label_zh(m["field"]),
            m["claimed"], m["expected"], m["text"], m.get("correction"), _seconds(f.seconds),
            source_zh.get(m.get("correction_source") or "", "未更正"), _seconds(f.ack_seconds),
        ])  # fmt: skip

    compliance_table = Table("违规用语", "compliance.csv",
                             ["时间", "直播间", "商品", "用语", "主播原话"],
                             widths={4: 60})  # fmt: skip
    for c in compliance:
        compliance_table.rows.append([local(c["source_ts"], tz), c["room"], c.get("sku"),
                                      c["term"], c["text"]])  # fmt: skip

    staff_table = Table("客服工作量", "staff.csv",
                        ["客服", "当前分派", "确认", "解决", "被升级到",
                         "确认用时P50(秒)"])  # fmt: skip
    for w in staff:
        staff_table.rows.append([w.staff, w.assigned, w.acked, w.resolved, w.escalated_to,
                                 _seconds(w.ack_p50)])  # fmt: skip

    acked = sum(1 for t in timing if t.ack_seconds is not None)
    within = sum(1 for t in timing if t.within_sla)
    after_sales = sum(1 for r in inquiries if r["after_sales"])
    corrected = sum(1 for f in fixes if f.seconds is not None)
    summary: list[tuple[str, Cell]] = [
        ("范围", scope),
        ("咨询总数", len(inquiries)),
        ("其中售后咨询", after_sales),
        ("告警数", len(alerts)),
        ("已确认告警", acked),
        ("SLA内确认", within),
        ("SLA达标率", f"{within / len(alerts):.0%}" if alerts else "—"),
        ("口播错误", len(misstatements)),
        ("已更正口播错误", corrected),
        ("违规用语", len(compliance)),
    ]
    summary_table = Table("概要", "summary.csv", ["项目", "数值"], [[k, v] for k, v in summary],
                          widths={0: 20, 1: 60})  # fmt: skip

    charts = [
        ("各类咨询随时间变化",
         f"每 {an.fmt_seconds(series.width)} 一格，按咨询类别堆叠（时间为弹幕发送时间）。",
         stacked_bars("各类咨询随时间变化", span,
                      [(an.label_zh(c), series.counts[c]) for c in series.categories])),
        ("热门问题",
         "被问得最多的FAQ问题（完整回复见下表及 XLSX「热门问题」）。",
         hbars("热门问题", [Bar(f"{q.sku or ''} {q.question}".strip(), q.count, str(q.count))
                            for q in questions if q.question][:12])),
        ("确认用时与SLA",
         "各严重度告警确认用时的中位数（P50）与P90；虚线为确认SLA，超出标红。",
         hbars("确认用时与SLA", [
             Bar(f"{an.SEVERITY_ZH.get(s.severity, s.severity)} {name}", value,
                 an.fmt_seconds(value), s.sla, value > s.sla)
             for s in sla for name, value in (("P50", s.p50), ("P90", s.p90)) if value is not None
         ], mark_label="确认SLA")),
        ("口播错误更正用时",
         "从识别到口播更正（或客服标记已更正）的用时；未更正的不显示。",
         hbars("口播错误更正用时", [
             Bar(f"{local(f.row['source_ts'], tz, '%H:%M:%S')} {an.label_zh(f.row['field'])} "
                 f"{f.row['claimed']}", f.seconds, an.fmt_seconds(f.seconds))
             for f in fixes if f.seconds is not None
         ])),
        ("客服工作量",
         "每位客服确认与解决的告警数。",
         hbars("客服工作量", [Bar(w.staff, w.acked + w.resolved,
                                  f"确认 {w.acked} · 解决 {w.resolved}") for w in staff])),
    ]  # fmt: skip
    tables = [summary_table, sla_table, question_table, fix_table, compliance_table,
              staff_table, alert_table, trend, inquiry_table]  # fmt: skip
    html_tables = [("SLA达标情况", sla_table, 10), ("热门问题与FAQ回复", question_table, 20),
                   ("口播错误与更正", fix_table, 100), ("违规用语", compliance_table, 50),
                   ("客服工作量", staff_table, 50)]  # fmt: skip
    return Report(title, scope, tz, summary, tables, charts, html_tables)


def write_xlsx(report: Report, path: Path) -> None:
    """One sheet per table, bold frozen header."""
    from openpyxl import Workbook  # noqa: PLC0415 - only when writing
    from openpyxl.cell import WriteOnlyCell  # noqa: PLC0415
    from openpyxl.styles import Font  # noqa: PLC0415
    from openpyxl.utils import get_column_letter  # noqa: PLC0415

    book = Workbook(write_only=True)
    bold = Font(bold=True)
    for table in report.tables:
        sheet = book.create_sheet(table.sheet)
        for i in range(len(table.headers)):
            width = table.widths.get(i, max(10, min(24, len(table.headers[i]) * 2 + 2)))
            sheet.column_dimensions[get_column_letter(i + 1)].width = width
        sheet.freeze_panes = "A2"
        header = []
        for name in table.headers:
            cell = WriteOnlyCell(sheet, value=name)
            cell.font = bold
            header.append(cell)
        sheet.append(header)
        for row in table.rows:
            sheet.append([safe_cell(v) for v in row])
    book.save(path)


def write_csv(report: Report, folder: Path) -> list[Path]:
    """One CSV per table (UTF-8 with BOM so Excel shows the Chinese)."""
    paths = []
    for table in report.tables:
        path = folder / table.file
        with path.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(table.headers)
            writer.writerows([safe_cell(v) for v in row] for row in table.rows)
        paths.append(path)
    return paths


_CSS = """
body{font-family:"PingFang SC","Microsoft YaHei","Noto Sans CJK SC",sans-serif;margin:24px;
color:#222;max-width:1000px}
h1{font-size:24px;margin-bottom:4px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd}
.scope{color:#666}.cards{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}
.card{border:1px solid #ddd;border-radius:6px;padding:8px 14px;min-width:110px}
.card b{display:block;font-size:22px}.note{color:#666;font-size:13px}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{border:1px solid #ddd;
padding:4px 6px;text-align:left;vertical-align:top}th{background:#f4f4f4}
svg.chart{max-width:100%;height:auto}
"""


def _cell_html(value: Cell) -> str:
    if value is None:
        return ""
    return escape(str(value))


def write_html(report: Report, path: Path) -> None:
    """The self-contained summary page (no script, no external resource)."""
    out = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; img-src data:\">",
        f"<title>{escape(report.title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{escape(report.title)}</h1>",
        f'<p class="scope">{escape(report.scope)}（时区 {escape(report.tz)}）</p>',
        '<div class="cards">',
    ]
    for key, value in report.summary[1:]:
        out.append(f'<div class="card">{escape(key)}<b>{_cell_html(value)}</b></div>')
    out.append("</div>")
    for heading, note, svg in report.charts:
        out.append(f'<h2>{escape(heading)}</h2><p class="note">{escape(note)}</p>{svg}')
    for heading, table, limit in report.html_tables:
        out.append(f"<h2>{escape(heading)}</h2>")
        if not table.rows:
            out.append('<p class="note">（无）</p>')
            continue
        out.append("<table><thead><tr>")
        out.extend(f"<th>{escape(h)}</th>" for h in table.headers)
        out.append("</tr></thead><tbody>")
        for row in table.rows[:limit]:
            out.append("<tr>" + "".join(f"<td>{_cell_html(v)}</td>" for v in row) + "</tr>")
        out.append("</tbody></table>")
        if len(table.rows) > limit:
            out.append(f'<p class="note">仅显示前 {limit} 行，共 {len(table.rows)} 行；完整数据见 '
                       f"report.xlsx「{escape(table.sheet)}」。</p>")  # fmt: skip
    out.append(
        '<p class="note">弹幕已脱敏，用户为加密哈希。完整明细见 report.xlsx 与 CSV 文件。</p>'
    )
    out.append("</body></html>")
    path.write_text("\n".join(out), encoding="utf-8")


def write_all(report: Report, folder: Path) -> dict[str, Any]:
    """Write XLSX, CSV and HTML into ``folder``; returns the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    xlsx = folder / "report.xlsx"
    html = folder / "report.html"
    write_xlsx(report, xlsx)
    csvs = write_csv(report, folder)
    write_html(report, html)
    return {"xlsx": str(xlsx), "html": str(html), "csv": [str(p) for p in csvs]}
