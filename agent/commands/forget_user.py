"""``danmaku-agent forget-user --config FILE --uid UID``: erase one viewer's records."""

from __future__ import annotations

import argparse
import asyncio
import sys

import orjson

HELP = """\
Delete what is stored about one viewer, found by their platform uid (hashed with the
agent's key): their inquiries, and their texts from the examples of alerts in the same
rooms. Prints {"uid_hash", "deleted": {"inquiries": N, "alert_examples": M}} as JSON.
Exit code 2 when the config, key or database cannot be used."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``forget-user``."""
    parser.add_argument("--config", required=True, help="the agent's YAML config")
    parser.add_argument("--uid", required=True, help="the viewer's platform user id")


async def _forget(url: str, hashed: str) -> tuple[int, int]:
    from agent.store import queries  # noqa: PLC0415
    from agent.store.admin import connect  # noqa: PLC0415

    async with connect(url, write=True) as conn:
        done = await queries.forget_user(conn, hashed)
    return done.inquiries, done.alert_examples


def run(args: argparse.Namespace) -> int:
    """Delete the viewer's records."""
    from agent.errors import ConfigError  # noqa: PLC0415
    from agent.store.admin import load, user_hash  # noqa: PLC0415
    from agent.store.errors import StoreError  # noqa: PLC0415

    try:
        config, store = load(args.config)
        hashed = user_hash(config, args.uid)
        inquiries, examples = asyncio.run(_forget(store.url, hashed))
    except (ConfigError, StoreError, OSError) as exc:
        print(f"danmaku-agent forget-user: {exc}", file=sys.stderr)
        return 2
    out = {"uid_hash": hashed, "deleted": {"inquiries": inquiries, "alert_examples": examples}}
    sys.stdout.buffer.write(orjson.dumps(out, option=orjson.OPT_INDENT_2) + b"\n")
    return 0
