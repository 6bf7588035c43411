"""``danmaku-agent demo``: replay the bundled sample broadcast through the whole agent."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = """\
Replay the bundled 3-minute sample broadcast (configs/demo/) through the whole agent:
alerts print to the console and go to out/alerts.jsonl; records go to data/demo.db.
Needs no broker and no database server. Each run starts afresh: the demo's previous
alerts, outbox and records are removed first (--keep-state keeps them)."""


def find_demo_config() -> Path | None:
    """configs/demo.yaml in the working directory, else beside the installed source tree."""
    for root in (Path.cwd(), Path(__file__).resolve().parents[2]):
        candidate = root / "configs" / "demo.yaml"
        if candidate.is_file():
            return candidate
    return None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``demo``."""
    parser.add_argument(
        "--speed",
        type=float,
        default=None,
        help="replay speed (1 = real time, 0 = as fast as possible; default 2)",
    )
    parser.add_argument("--config", type=Path, default=None, help="use another demo config")
    parser.add_argument(
        "--keep-state",
        action="store_true",
        help="keep the previous demo run's alerts, outbox and records",
    )


def run(args: argparse.Namespace) -> int:
    """Load the demo config, apply --speed, run it."""
    from agent.commands.run import run_config  # noqa: PLC0415
    from agent.config import ReplaySourceConfig, load_config  # noqa: PLC0415
    from agent.errors import ConfigError  # noqa: PLC0415
    from agent.logs import configure_logging  # noqa: PLC0415

    path = args.config or find_demo_config()
    if path is None:
        print(
            "danmaku-agent: configs/demo.yaml not found; run from the project folder",
            file=sys.stderr,
        )
        return 2
    try:
        config = load_config(path)
    except ConfigError as exc:
        print(f"danmaku-agent: {exc}", file=sys.stderr)
        return 2
    if args.speed is not None:
        sources = [
            s.model_copy(update={"speed": args.speed}) if isinstance(s, ReplaySourceConfig) else s
            for s in config.sources
        ]
        config = config.model_copy(update={"sources": sources})
    if not args.keep_state:
        clear_state(config)
    configure_logging(config.log_level)
    return run_config(config, path)


def clear_state(config: object) -> None:
    """Remove what an earlier demo run left, so every demo shows the same broadcast afresh."""
    from agent.config import AgentConfig, JsonlSinkConfig  # noqa: PLC0415

    assert isinstance(config, AgentConfig)
    paths = [config.outbox.path]
    paths += [s.path for s in config.sinks if isinstance(s, JsonlSinkConfig)]
    if config.store is not None and config.store.url.startswith("sqlite:///"):
        paths.append(Path(config.store.url.removeprefix("sqlite:///")))
    for path in paths:
        for extra in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{extra}").unlink(missing_ok=True)
