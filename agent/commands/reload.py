"""``danmaku-agent reload --pid-file FILE``: ask a running agent to re-read its sources."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

HELP = """\
Send SIGHUP to a running agent (started with 'run --pid-file FILE'). It re-reads its
config and adds or removes rooms without disturbing the others; an invalid config is
logged and the running one kept."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``reload``."""
    parser.add_argument("--pid-file", type=Path, required=True, help="the agent's pid file")


def run(args: argparse.Namespace) -> int:
    """Signal the agent."""
    try:
        pid = int(args.pid_file.read_text().strip())
    except (OSError, ValueError) as exc:
        print(f"danmaku-agent: {args.pid_file}: cannot read a process id: {exc}", file=sys.stderr)
        return 2
    try:
        os.kill(pid, signal.SIGHUP)
    except ProcessLookupError:
        print(f"danmaku-agent: no running agent with pid {pid}", file=sys.stderr)
        return 1
    print(f"reload requested (pid {pid})")
    return 0
