"""``danmaku-agent demo``: replay the bundled sample broadcast through the whole agent."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agent.config import AgentConfig

HELP = """\
Replay the bundled 3-minute sample broadcast (configs/demo/) through the whole agent:
alerts print to the console and go to out/alerts.jsonl; records go to data/demo.db.
Needs no broker and no database server. Each run starts afresh: the demo's previous
alerts, outbox and records are removed first (--keep-state keeps them).

--desk also serves the control desk (中控台) on 127.0.0.1:8080 (or the HOST:PORT given),
replays in real time unless --speed is given, and keeps the agent up after the replay so
the alerts can be acknowledged, assigned and resolved there; Ctrl-C stops it. The desk
address with its access token is logged at start ("control desk listening")."""


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
        "--desk",
        nargs="?",
        const="127.0.0.1:8080",
        default=None,
        metavar="HOST:PORT",
        help="serve the control desk (default 127.0.0.1:8080) and stay up after the replay",
    )
    parser.add_argument(
        "--keep-state",
        action="store_true",
        help="keep the previous demo run's alerts, outbox and records",
    )


def run(args: argparse.Namespace) -> int:
    """Load the demo config, apply --speed, run it."""
    from pydantic import ValidationError  # noqa: PLC0415

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
    speed = args.speed if args.speed is not None else (1.0 if args.desk else None)
    if speed is not None:
        sources = [
            s.model_copy(update={"speed": speed}) if isinstance(s, ReplaySourceConfig) else s
            for s in config.sources
        ]
        config = config.model_copy(update={"sources": sources})
    if args.desk:
        try:
            config = with_desk(config, args.desk)
        except ValidationError as exc:
            problem = str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
            print(f"danmaku-agent: --desk: {problem}", file=sys.stderr)
            return 2
    if not args.keep_state:
        clear_state(config)
    configure_logging(config.log_level)
    return run_config(config, path)


def with_desk(config: AgentConfig, listen: str) -> AgentConfig:
    """The config with the control desk on ``listen`` and the agent kept up after the replay."""
    from agent.config import WebConfig  # noqa: PLC0415

    web = WebConfig(listen=listen)  # validates HOST:PORT (ValueError)
    pipeline = config.pipeline.model_copy(update={"exit_when_sources_end": False})
    return config.model_copy(update={"web": web, "pipeline": pipeline})


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
