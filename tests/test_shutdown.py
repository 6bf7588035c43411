"""Stopping a running agent: SIGTERM drains what was read and exits 0; replays end by themselves."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import orjson

from tests.conftest import ROOT


def _config(folder: Path, speed: float) -> Path:
    config = folder / "agent.yaml"
    config.write_text(
        f"instance: shutdown-test\n"
        f"sources: [{{type: replay, path: {ROOT / 'configs/demo/stream.jsonl'}, speed: {speed}}}]\n"
        f"catalog: {ROOT / 'configs/demo/catalog.yaml'}\n"
        f"lineup: {ROOT / 'configs/demo/lineup.yaml'}\n"
        f"sinks: [{{type: jsonl, path: {folder / 'alerts.jsonl'}}}]\n"
        f"outbox: {{path: {folder / 'outbox.db'}}}\n"
        f"aggregate: {{update_interval: 0}}\n",
        encoding="utf-8",
    )
    return config


def _start(config: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DANMAKU_HASH_KEY": "test-hash-key-0123456789abcdef"}
    return subprocess.Popen(
        [sys.executable, "-m", "agent", "run", "--config", str(config), "--log-json"],
        cwd=config.parent, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip


def test_sigterm_drains_and_exits_zero(tmp_path: Path) -> None:
    """A real-time replay stopped by SIGTERM delivers the alerts of what it read, then exits 0."""
    agent = _start(_config(tmp_path, speed=1.0))
    alerts = tmp_path / "alerts.jsonl"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (alerts.exists() and alerts.stat().st_size):
        time.sleep(0.1)
    assert alerts.exists(), "no alert within 60 s"
    agent.send_signal(signal.SIGTERM)
    out, _ = agent.communicate(timeout=60)
    logs = [orjson.loads(line) for line in out.splitlines() if line.startswith(b"{")]
    events = [entry["event"] for entry in logs]
    assert agent.returncode == 0, out.decode()[-2000:]
    assert "signal received; draining" in events
    assert events.index("shutting down") < events.index("pipeline stopped")
    assert not any(entry.get("level") == "error" for entry in logs), out.decode()[-2000:]
    rows = [orjson.loads(line) for line in alerts.read_bytes().splitlines()]
    assert rows
    # Stopped early: the broadcast runs 3 minutes in real time, so far from all of it was read.
    assert max(row["last_seen"] for row in rows) - min(row["first_seen"] for row in rows) < 150


def test_finite_sources_end_the_run_with_everything_delivered(tmp_path: Path) -> None:
    """A replay at full speed ends the run by itself: exit 0, and the outbox holds nothing."""
    agent = _start(_config(tmp_path, speed=0))
    out, _ = agent.communicate(timeout=120)
    assert agent.returncode == 0, out.decode()[-2000:]
    logs = [orjson.loads(line) for line in out.splitlines() if line.startswith(b"{")]
    assert any(entry.get("reason") == "sources finished" for entry in logs)
    rows = [orjson.loads(line) for line in (tmp_path / "alerts.jsonl").read_bytes().splitlines()]
    kinds = {row["kind"] for row in rows}
    assert kinds == {"inquiry", "misstatement", "spike", "compliance"}
    with sqlite3.connect(tmp_path / "outbox.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 0
