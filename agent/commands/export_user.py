"""``danmaku-agent export-user --config FILE --uid UID [--out FILE]``: a data-subject export."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

import orjson

HELP = """\
Export everything stored about one viewer, found by their platform uid (hashed with the
agent's key: DANMAKU_HASH_KEY or privacy.key_file, as the running agent does). Writes JSON
{"uid_hash", "inquiries": [...]} to --out (default stdout); texts are as stored, i.e.
already masked. Exit code 2 when the config, key or database cannot be used."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``export-user``."""
    parser.add_argument("--config", required=True, help="the agent's YAML config")
    parser.add_argument("--uid", required=True, help="the viewer's platform user id")
    parser.add_argument("--out", type=Path, help="output JSON file (default: stdout)")


async def _export(url: str, hashed: str) -> list[dict[str, Any]]:
    from agent.store import queries  # noqa: PLC0415
    from agent.store.admin import connect  # noqa: PLC0415

    async with connect(url, write=False) as conn:
        return await queries.user_inquiries(conn, hashed)


def run(args: argparse.Namespace) -> int:
    """Write the viewer's records as JSON."""
    from agent.errors import ConfigError  # noqa: PLC0415
    from agent.store.admin import jsonable, load, user_hash  # noqa: PLC0415
    from agent.store.errors import StoreError  # noqa: PLC0415

    try:
        config, store = load(args.config)
        hashed = user_hash(config, args.uid)
        rows = asyncio.run(_export(store.url, hashed))
    except (ConfigError, StoreError, OSError) as exc:
        print(f"danmaku-agent export-user: {exc}", file=sys.stderr)
        return 2
    tz = config.routing.timezone
    data = orjson.dumps({"uid_hash": hashed, "inquiries": [jsonable(r, tz) for r in rows]},
                        option=orjson.OPT_INDENT_2) + b"\n"  # fmt: skip
    if args.out is None:
        sys.stdout.buffer.write(data)
    else:
        try:
            args.out.write_bytes(data)
        except OSError as exc:
            print(f"danmaku-agent export-user: {args.out}: {exc.strerror}", file=sys.stderr)
            return 2
    print(f"exported {len(rows)} inquiries of {hashed}", file=sys.stderr)
    return 0
