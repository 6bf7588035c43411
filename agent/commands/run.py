"""``danmaku-agent run --config FILE``: run the agent until stopped or its replays end."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

HELP = """\
Run the agent with a YAML config (see README: Configuration). Stops gracefully on
SIGINT/SIGTERM, draining what was read; re-reads its sources on SIGHUP. A run whose
sources are all finite (replay) drains, delivers everything and exits 0 when they end.
Exit code 2 when the config is invalid."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``run``."""
    parser.add_argument("--config", "-c", required=True, type=Path, help="YAML config file")
    parser.add_argument("--pid-file", type=Path, help="write the process id here (for 'reload')")
    parser.add_argument("--log-level", choices=["debug", "info", "warning", "error"])
    parser.add_argument("--log-json", action="store_true", help="JSON logs even on a TTY")


def run(args: argparse.Namespace) -> int:
    """Load the config, then run the service."""
    from agent.config import load_config  # noqa: PLC0415 - keep --help fast
    from agent.errors import ConfigError  # noqa: PLC0415
    from agent.logs import configure_logging  # noqa: PLC0415

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"danmaku-agent: {exc}", file=sys.stderr)
        return 2
    configure_logging(args.log_level or config.log_level, json=True if args.log_json else None)
    return run_config(config, args.config, pid_file=args.pid_file)


def run_config(config: object, path: Path | None, *, pid_file: Path | None = None) -> int:
    """Run a loaded config; shared by ``run`` and ``demo``."""
    from agent.config import AgentConfig  # noqa: PLC0415
    from agent.errors import ConfigError  # noqa: PLC0415
    from agent.service import Service  # noqa: PLC0415

    assert isinstance(config, AgentConfig)
    if pid_file is not None:
        pid_file.parent.mkdir(parents=True, exist_ok=True)
        pid_file.write_text(f"{os.getpid()}\n")
    try:
        return asyncio.run(Service(config, path).run())
    except ConfigError as exc:
        print(f"danmaku-agent: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        # Catalog, model and lineup loaders raise ValueError subclasses with one-line messages.
        print(f"danmaku-agent: {exc}", file=sys.stderr)
        return 2
    finally:
        if pid_file is not None:
            pid_file.unlink(missing_ok=True)
