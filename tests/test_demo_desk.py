"""``danmaku-agent demo --desk``: the replayed broadcast stays on the control desk until Ctrl-C;
an address already in use is one line, not a traceback."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.conftest import ROOT, free_port


def _demo_config(folder: Path) -> Path:
    """configs/demo.yaml with every written file in ``folder``."""
    demo = ROOT / "configs" / "demo"
    config = folder / "demo.yaml"
    config.write_text(
        "instance: demo-desk-test\n"
        f"sources: [{{type: replay, path: {demo / 'stream.jsonl'}, speed: 0}}]\n"
        f"catalog: {demo / 'catalog.yaml'}\n"
        f"lineup: {demo / 'lineup.yaml'}\n"
        f"sinks: [{{type: jsonl, path: {folder / 'alerts.jsonl'}}}]\n"
        f"outbox: {{path: {folder / 'outbox.db'}}}\n",
        encoding="utf-8",
    )
    return config


def _demo(config: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "DANMAKU_HASH_KEY": "test-hash-key-0123456789abcdef"}
    env.pop("DANMAKU_DESK_TOKEN", None)
    return subprocess.Popen(
        [sys.executable, "-m", "agent", "demo", "--config", str(config), *args],
        cwd=config.parent, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def _read_until(proc: subprocess.Popen[str], event: str, timeout: float) -> dict[str, object]:
    """The first JSON log line of ``event``."""
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if line.startswith("{"):
            entry: dict[str, object] = json.loads(line)
            if entry.get("event") == event:
                return entry
    raise AssertionError(f"no {event!r} log line")


def test_demo_desk_keeps_the_replayed_alerts_up_until_interrupted(tmp_path: Path) -> None:
    port = free_port()
    proc = _demo(_demo_config(tmp_path), "--desk", f"127.0.0.1:{port}", "--speed", "0")
    try:
        url = str(_read_until(proc, "control desk listening", 60)["url"])
        token = url.split("token=", 1)[1]
        _read_until(proc, "every source finished; running until stopped (Ctrl-C)", 60)
        time.sleep(1.0)  # the replay's last alerts leave the pipeline
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/alerts", headers={"Authorization": f"Bearer {token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as resp:
            alerts = json.loads(resp.read())
        alerts = alerts.get("alerts", alerts) if isinstance(alerts, dict) else alerts
        assert {a["kind"] for a in alerts} >= {"inquiry", "misstatement"}
        assert proc.poll() is None, "the demo ended although the desk was asked for"
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out[-2000:]


def test_desk_address_in_use_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = _demo(_demo_config(tmp_path), "--desk", f"127.0.0.1:{port}")
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert out.splitlines()[-1] == (
        f"danmaku-agent: web.listen: cannot listen on 127.0.0.1:{port}: address already in use"
    )
    assert "Traceback" not in out
