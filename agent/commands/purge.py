"""``danmaku-agent purge --config FILE [--older-than DAYS] [--dry-run]``: apply retention."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

import orjson

HELP = """\
Delete records received more than DAYS ago (default: store.retention_days of the config):
inquiries, misstatements, banned-term findings, and alerts whose last version is older,
with their lifecycle events and deliveries. Prints {"cutoff", "dry_run", "deleted": {table:
rows}} as JSON. --dry-run counts without deleting. A running agent also purges on its own
every store.purge_interval_hours.
Exit code 2 when the config or the database cannot be used."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``purge``."""
    parser.add_argument("--config", required=True, help="the agent's YAML config")
    parser.add_argument("--older-than", type=float, metavar="DAYS",
                        help="retention in days (default: store.retention_days)")  # fmt: skip
    parser.add_argument("--dry-run", action="store_true", help="count, do not delete")


async def _purge(url: str, cutoff: float, dry_run: bool) -> dict[str, int]:
    from agent.store import queries  # noqa: PLC0415
    from agent.store.admin import connect  # noqa: PLC0415

    async with connect(url, write=True) as conn:
        return await queries.purge(conn, cutoff, dry_run=dry_run)


def run(args: argparse.Namespace) -> int:
    """Delete (or count) the records past retention."""
    from agent.errors import ConfigError  # noqa: PLC0415
    from agent.store.admin import iso, load  # noqa: PLC0415
    from agent.store.errors import StoreError  # noqa: PLC0415

    try:
        config, store = load(args.config)
    except (ConfigError, StoreError) as exc:
        print(f"danmaku-agent purge: {exc}", file=sys.stderr)
        return 2
    days = store.retention_days if args.older_than is None else args.older_than
    if days < 0:
        print("danmaku-agent purge: --older-than must be ≥ 0 days", file=sys.stderr)
        return 2
    cutoff = time.time() - days * 86400.0
    try:
        counts = asyncio.run(_purge(store.url, cutoff, args.dry_run))
    except (StoreError, OSError) as exc:
        print(f"danmaku-agent purge: {exc}", file=sys.stderr)
        return 2
    tz = config.routing.timezone
    out = {"cutoff": iso(cutoff, tz), "older_than_days": days, "dry_run": args.dry_run,
           "deleted": counts}  # fmt: skip
    sys.stdout.buffer.write(orjson.dumps(out, option=orjson.OPT_INDENT_2) + b"\n")
    return 0
