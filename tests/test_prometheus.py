"""Prometheus rules and dashboards against a real Prometheus scraping the agent on a replay."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import yaml
from prometheus_client import generate_latest
from websockets.sync.server import ServerConnection, serve

from agent.metrics import Metrics
from tests.conftest import ROOT, free_port

PROMETHEUS = shutil.which("prometheus")
PROMTOOL = shutil.which("promtool")
RULES = ROOT / "dashboards" / "prometheus"
GRAFANA = ROOT / "dashboards" / "grafana"
TOKEN = "prom-test-token"
# Stand-ins for Grafana's variables: a window that covers several 1 s scrapes.
RATE_WINDOW = "15s"
RANGE = "5m"

needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool not installed (Debian prometheus)"
)
needs_prometheus = pytest.mark.skipif(
    PROMETHEUS is None, reason="prometheus not installed (Debian prometheus)"
)


def run_promtool(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    assert PROMTOOL is not None
    return subprocess.run([PROMTOOL, *args], input=stdin, capture_output=True, timeout=60,
                          check=False, cwd=RULES)  # fmt: skip


@needs_promtool
def test_promtool_check_rules() -> None:
    """The alerting rules are valid."""
    result = run_promtool("check", "rules", "rules.yml")
    assert result.returncode == 0, result.stdout + result.stderr


@needs_promtool
def test_promtool_rule_unit_tests() -> None:
    """The rule unit tests pass (every rule fires when it should)."""
    result = run_promtool("test", "rules", "rules_test.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    tested = set(re.findall(r"alertname: (\w+)", (RULES / "rules_test.yml").read_text("utf-8")))
    defined = set(re.findall(r"alert: (\w+)", (RULES / "rules.yml").read_text("utf-8")))
    assert tested == defined


@needs_promtool
def test_promtool_check_metrics_is_clean() -> None:
    """Every metric of the agent passes promtool's naming lint."""
    metrics = Metrics()
    metrics.messages_received.labels("r1", "replay").inc()
    metrics.pipeline_latency.labels("detect").observe(0.01)
    metrics.model_info.info({"version": "v"})
    result = run_promtool("check", "metrics", stdin=generate_latest(metrics.registry))
    assert result.returncode == 0, result.stdout + result.stderr
    assert b"_created" not in generate_latest(metrics.registry)


# -- live stack ---------------------------------------------------------------------------


@dataclass
class Stack:
    prom: str
    desk: str


def relay(lines: list[str]) -> Any:
    """A json_ws relay on loopback that sends the room's recorded lines, then holds open."""

    def handler(conn: ServerConnection) -> None:
        for line in lines:
            conn.send(line)
            time.sleep(0.02)
        conn.recv()  # until the agent goes away

    return serve(handler, "127.0.0.1", 0)


def http_json(url: str, data: bytes | None = None) -> Any:
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    request = urllib.request.Request(url, data=data, headers=headers)
    with urllib.request.urlopen(request, timeout=10) as resp:
        return json.loads(resp.read())


def wait_for(check: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = check()
        except OSError:
            value = None
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The agent replaying the demo broadcast (plus a json_ws room), scraped every second."""
    if PROMETHEUS is None:
        pytest.skip("prometheus not installed (Debian prometheus)")
    tmp = tmp_path_factory.mktemp("prom")
    stream = (ROOT / "configs" / "demo" / "stream.jsonl").read_text("utf-8").splitlines()
    ws_lines = [x for x in stream if '"demo-room-1"' in x][:300]
    server = relay(ws_lines)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    ws_port = server.socket.getsockname()[1]
    web_port = free_port()
    config = {
        "instance": "prom-test",
        "sources": [
            {"type": "replay", "path": str(ROOT / "configs/demo/stream.jsonl"), "speed": 6.0},
            {"type": "json_ws", "room": "demo-room-1", "url": f"ws://127.0.0.1:{ws_port}/"},
        ],
        "catalog": str(ROOT / "configs/demo/catalog.yaml"),
        "lineup": str(ROOT / "configs/demo/lineup.yaml"),
        "sinks": [{"type": "jsonl", "path": str(tmp / "alerts.jsonl")}],
        "outbox": {"path": str(tmp / "outbox.db")},
        "store": {"url": f"sqlite:///{tmp / 'records.db'}"},
        "web": {"listen": f"127.0.0.1:{web_port}", "token_env": "PROM_TEST_DESK_TOKEN"},
        "aggregate": {"quiet_seconds": 60, "update_interval": 1},
    }
    (tmp / "agent.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), "utf-8")
    env = dict(os.environ, PROM_TEST_DESK_TOKEN=TOKEN,
               DANMAKU_HASH_KEY="test-hash-key-0123456789abcdef")  # fmt: skip
    log = (tmp / "agent.log").open("wb")
    agent = subprocess.Popen(
        [sys.executable, "-m", "agent", "run", "--config", str(tmp / "agent.yaml")],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    prom_port = free_port()
    prom_config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(RULES / "rules.yml")],
        "scrape_configs": [{"job_name": "danmaku-agent",
                            "static_configs": [{"targets": [f"127.0.0.1:{web_port}"]}]}],
    }  # fmt: skip
    (tmp / "prometheus.yml").write_text(yaml.safe_dump(prom_config), "utf-8")
    prom = subprocess.Popen(
        [PROMETHEUS, f"--config.file={tmp / 'prometheus.yml'}",
         f"--storage.tsdb.path={tmp / 'tsdb'}", f"--web.listen-address=127.0.0.1:{prom_port}"],
        stdout=subprocess.DEVNULL, stderr=(tmp / "prometheus.log").open("wb"),
    )  # fmt: skip
    desk = f"http://127.0.0.1:{web_port}"
    prom_url = f"http://127.0.0.1:{prom_port}"
    try:

        def alerts_up() -> Any:
            if agent.poll() is not None:
                tail = (tmp / "agent.log").read_text("utf-8", "replace")[-2000:]
                raise AssertionError(f"agent exited with {agent.returncode}:\n{tail}")
            return http_json(desk + "/api/v1/alerts")

        wait_for(alerts_up, 40, "alerts from the agent")
        first = http_json(desk + "/api/v1/alerts?state=open")[0]
        http_json(f"{desk}/api/v1/alerts/{first['alert_id']}/ack", b'{"staff": "test"}')
        # A few scrapes after the ack, so rates and the ack histogram have two points.
        wait_for(lambda: query(prom_url, "danmaku_alert_ack_seconds_count"), 20, "ack scraped")
        time.sleep(3)
        yield Stack(prom_url, desk)
    finally:
        prom.terminate()
        agent.terminate()
        prom.wait(10)
        agent.wait(10)
        server.shutdown()
        log.close()


def query(prom: str, expr: str) -> list[Any]:
    """The result vector of an instant query."""
    url = f"{prom}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(url, timeout=10) as resp:
        body = json.loads(resp.read())
    assert body["status"] == "success", body
    result: list[Any] = body["data"]["result"]
    return result


def expand(expr: str, room: str) -> str:
    return (expr.replace("$__rate_interval", RATE_WINDOW).replace("$__range", RANGE)
            .replace('"$room"', f'"{room}"'))  # fmt: skip


def dashboard_exprs() -> list[tuple[str, str]]:
    out = []
    for path in sorted(GRAFANA.glob("*.json")):
        dash = json.loads(path.read_text("utf-8"))
        for panel in dash["panels"]:
            for target in panel["targets"]:
                out.append((f"{path.stem}:{panel['title']}:{target['refId']}", target["expr"]))
    return out


EXPRS = dashboard_exprs()


@needs_prometheus
@pytest.mark.parametrize(("where", "expr"), EXPRS, ids=[w for w, _ in EXPRS])
def test_every_panel_query_returns_data(stack: Stack, where: str, expr: str) -> None:
    """Each panel's PromQL, with the variables filled in, returns a non-empty result."""
    assert query(stack.prom, expand(expr, "demo-room-1")), where


@needs_prometheus
def test_room_variable_lists_the_rooms(stack: Stack) -> None:
    """The $room variable query (label_values) finds the replayed rooms."""
    dash = json.loads((GRAFANA / "room.json").read_text("utf-8"))
    [var] = [v for v in dash["templating"]["list"] if v["name"] == "room"]
    metric = re.fullmatch(r"label_values\((\w+), room\)", var["definition"])
    assert metric
    url = f"{stack.prom}/api/v1/label/room/values?" + urllib.parse.urlencode(
        {"match[]": metric.group(1)}
    )
    with urllib.request.urlopen(url, timeout=10) as resp:
        rooms = json.loads(resp.read())["data"]
    assert {"demo-room-1", "demo-room-2"} <= set(rooms)


@needs_prometheus
def test_rules_load_in_prometheus(stack: Stack) -> None:
    """Prometheus loaded every rule of rules.yml and evaluates it without errors."""
    with urllib.request.urlopen(f"{stack.prom}/api/v1/rules", timeout=10) as resp:
        groups = json.loads(resp.read())["data"]["groups"]
    rules = [r for g in groups for r in g["rules"]]
    assert len(rules) == 7
    assert all(r["health"] in {"ok", "unknown"} for r in rules), rules
