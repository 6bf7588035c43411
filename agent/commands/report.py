"""``danmaku-agent report --config FILE [--room R] [--from T1] [--to T2] --out DIR``."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from agent.config import AgentConfig

HELP = """\
Write the after-show report (复盘) of a room, or of every room, from the records store:
  DIR/report.html   summary with charts: inquiries per category over time, top questions
                    with their FAQ replies, acknowledgement times against the SLA
                    (escalation.ack_seconds), misstatements with time to correction,
                    per-staff workload
  DIR/report.xlsx   every table as a sheet (概要, SLA达标, 热门问题, 口播错误, 违规用语,
                    客服工作量, 告警时效, 分类趋势, 咨询记录)
  DIR/*.csv         the same tables as CSV (UTF-8 with BOM)
--from/--to: ISO date-time in the routing time zone (default Asia/Shanghai), e.g.
2025-11-22T20:00, or epoch seconds; --to is exclusive; both filter on the time the danmaku
or utterance was sent. Progress goes to stderr, the written paths to stdout as JSON.
Exit code 2 when the config, the times or the database cannot be used."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``report``."""
    parser.add_argument("--config", required=True, help="the agent's YAML config")
    parser.add_argument("--room", help="one room (default: every room)")
    parser.add_argument("--from", dest="start", metavar="T1", help="start time (inclusive)")
    parser.add_argument("--to", dest="end", metavar="T2", help="end time (exclusive)")
    parser.add_argument("--out", type=Path, required=True, help="output folder")


def _say(message: str) -> None:
    print(f"report: {message}", file=sys.stderr, flush=True)


async def _load(url: str, room: str | None, start: float | None, end: float | None) -> Any:
    from agent.store import queries, schema  # noqa: PLC0415
    from agent.store.admin import connect  # noqa: PLC0415

    data: dict[str, Any] = {}
    async with connect(url, write=False) as conn:
        for name, table in (("inquiries", schema.inquiries), ("alerts", schema.alerts),
                            ("misstatements", schema.misstatements),
                            ("compliance", schema.compliance)):  # fmt: skip
            data[name] = await queries.select_rows(conn, table, room=room, start=start, end=end)
            _say(f"{len(data[name]):,} {name}")
        ids = [a["alert_id"] for a in data["alerts"]]
        data["events"] = await queries.events_of(conn, ids)
        data["deliveries"] = await queries.deliveries_of(conn, ids)
    return data


def _faq(config: AgentConfig) -> dict[tuple[str | None, str], str] | None:
    """The catalog's current FAQ replies by (sku, question), when a catalog is configured."""
    if config.catalog is None:
        return None
    from classifiers.catalog import CatalogError, load_catalog  # noqa: PLC0415

    try:
        catalog = load_catalog(config.catalog)
    except CatalogError as exc:
        _say(f"catalog not used: {exc}")
        return None
    return {(p.sku, e.q): e.a for p in catalog for e in p.faq}


def run(args: argparse.Namespace) -> int:
    """Read the records and write the report files."""
    from agent.errors import ConfigError  # noqa: PLC0415
    from agent.report import render  # noqa: PLC0415
    from agent.store.admin import load, parse_time  # noqa: PLC0415
    from agent.store.errors import StoreError  # noqa: PLC0415

    started = time.perf_counter()
    try:
        config, store = load(args.config)
    except (ConfigError, StoreError) as exc:
        print(f"danmaku-agent report: {exc}", file=sys.stderr)
        return 2
    tz = config.routing.timezone
    try:
        start = parse_time(args.start, tz) if args.start else None
        end = parse_time(args.end, tz) if args.end else None
    except ValueError as exc:
        print(f"danmaku-agent report: {exc}", file=sys.stderr)
        return 2
    if start is not None and end is not None and end <= start:
        print("danmaku-agent report: --to must be after --from", file=sys.stderr)
        return 2
    try:
        data = asyncio.run(_load(store.url, args.room, start, end))
    except (StoreError, OSError) as exc:
        print(f"danmaku-agent report: {exc}", file=sys.stderr)
        return 2
    times = [r["source_ts"] for r in data["inquiries"]] + [r["source_ts"] for r in data["alerts"]]
    lo = start if start is not None else min(times, default=None)
    hi = end if end is not None else max(times, default=None)
    scope = (f"直播间 {args.room or '全部'} · {render.local(lo, tz, '%Y-%m-%d %H:%M')} 至 "
             f"{render.local(hi, tz, '%Y-%m-%d %H:%M')}")  # fmt: skip
    _say("computing tables and charts")
    sla = {str(k): v for k, v in config.escalation.ack_seconds.items()}
    report = render.build(
        title=f"直播复盘报告 — {args.room or '全部直播间'}", scope=scope, tz=tz, start=start,
        end=end, inquiries=data["inquiries"], alerts=data["alerts"], events=data["events"],
        deliveries=data["deliveries"], misstatements=data["misstatements"],
        compliance=data["compliance"], ack_sla=sla, faq=_faq(config),
    )  # fmt: skip
    _say(f"writing {args.out}")
    try:
        written = render.write_all(report, args.out)
    except OSError as exc:
        print(f"danmaku-agent report: {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 2
    _say(f"done in {time.perf_counter() - started:.1f}s")
    sys.stdout.buffer.write(orjson.dumps(written, option=orjson.OPT_INDENT_2) + b"\n")
    return 0
