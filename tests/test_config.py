"""Config validation: every broken file gives one line naming file, key path and problem."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agent.config import JsonWsSourceConfig, ReplaySourceConfig, load_config
from agent.errors import ConfigError

CASES = [
    (
        "sources:\n  - {type: replay, path: a.jsonl}\n  - {type: json_ws, room: r1, url: 'ws:/x'}\n",
        "sources[1].url: not a ws:// or wss:// URL: 'ws:/x'",
    ),
    ("sources: [{type: kafka}]\n", "sources[0]: unknown type 'kafka'; expected one of"),
    ("sources: [{type: replay}]\n", "sources[0].path: required key is missing"),
    ("sources: []\n", "sources: list should have at least 1 item"),
    ("sources: [{type: replay, path: a, speed: -1}]\n", "sources[0].speed: input should be greater than or equal to 0"),
    ("sources: [{type: replay, path: a}]\nmetrics: {listen: nowhere}\n", "metrics.listen: not a host:port address: 'nowhere'"),
    ("sources: [{type: replay, path: a}]\nsinks: [{type: jsonl, path: o, colour: red}]\n", "sinks[0].colour: unknown key"),
    ("sources: [{type: replay, path: a}]\nweb: {token_env: 'A B'}\n", "web.token_env: not an environment variable name: 'A B'"),
    ("sources: [\n", "line 2: invalid YAML"),
    ("- just\n- a list\n", "the top level must be a mapping of keys"),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_broken_config_gives_one_line(tmp_path: Path, text: str, expected: str) -> None:
    """Each broken file raises ConfigError whose message is '<file>: <path>: <problem>'."""
    path = tmp_path / "x.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(f"{path}: {expected}"), message
    assert "\n" not in message


def test_missing_file(tmp_path: Path) -> None:
    """A config path that does not exist is named in the message."""
    with pytest.raises(ConfigError, match=r"nope\.yaml: file not found"):
        load_config(tmp_path / "nope.yaml")


def test_valid_config_resolves_relative_paths(tmp_path: Path) -> None:
    """Relative paths resolve against the config's folder when not found from the cwd."""
    (tmp_path / "stream.jsonl").write_text("")
    path = tmp_path / "ok.yaml"
    path.write_text(
        "sources:\n"
        "  - {type: replay, path: stream.jsonl, speed: 0}\n"
        "  - {type: json_ws, room: r1, url: 'ws://127.0.0.1:9001/stream'}\n"
    )
    config = load_config(path)
    replay, relay = config.sources
    assert isinstance(replay, ReplaySourceConfig)
    assert replay.path == tmp_path / "stream.jsonl"
    assert isinstance(relay, JsonWsSourceConfig)
    assert relay.reconnect.initial == 1.0
    assert [s.type for s in config.sinks] == ["console"]


def test_cli_exits_2_with_one_line(tmp_path: Path) -> None:
    """`danmaku-agent run` on a broken file exits 2 and prints one line, no traceback."""
    path = tmp_path / "bad.yaml"
    path.write_text("sources:\n  - {type: json_ws, room: r1, url: 'http://x'}\n")
    proc = subprocess.run(
        [sys.executable, "-m", "agent", "run", "--config", str(path)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert lines == [f"danmaku-agent: {path}: sources[0].url: not a ws:// or wss:// URL: 'http://x'"]
