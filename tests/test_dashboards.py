"""Static checks of the Grafana dashboards and provisioning (dashboard-linter rules)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import promql_parser
import pytest
import yaml

GRAFANA = Path(__file__).resolve().parent.parent / "dashboards" / "grafana"
PROVISIONING = GRAFANA.parent / "provisioning"
DASHBOARDS = sorted(GRAFANA.glob("*.json"))
DS_REF = {"type": "prometheus", "uid": "${datasource}"}


def load(path: Path) -> dict[str, Any]:
    """A dashboard's JSON model."""
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def expand(expr: str) -> str:
    """Substitute Grafana's template variables with values PromQL accepts."""
    expr = expr.replace("$__rate_interval", "1m").replace("$__range", "1h")
    return re.sub(r"\$\{?(\w+)\}?", "x", expr)


def test_three_dashboards_with_stable_unique_uids() -> None:
    """Overview, room drill-down and routing/SLA board exist with distinct fixed uids."""
    uids = {load(p)["uid"] for p in DASHBOARDS}
    assert uids == {"danmaku-overview", "danmaku-room", "danmaku-routing-sla"}


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_datasource_variable_and_no_inputs(path: Path) -> None:
    """A `datasource` variable exists; the exported `__inputs` form is not used."""
    dash = load(path)
    assert "__inputs" not in dash
    variables = {v["name"]: v for v in dash["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for var in variables.values():
        if var["type"] == "query":
            assert var["datasource"] == DS_REF
            match = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", var["definition"])
            assert match, var["definition"]
            promql_parser.parse(expand(match.group(1)))


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_every_panel_is_linted(path: Path) -> None:
    """Each panel: datasource variable, unit, description, parsable exprs, $__rate_interval."""
    dash = load(path)
    assert dash["panels"]
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dash["panels"]:
        assert panel["datasource"] == DS_REF, panel["title"]
        assert panel["fieldConfig"]["defaults"]["unit"], panel["title"]
        assert panel["description"].strip(), panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == DS_REF
            expr = target["expr"]
            promql_parser.parse(expand(expr))
            rates = re.findall(r"\b(?:rate|irate)\([^\[]*\[([^\]]+)\]", expr)
            assert all(r == "$__rate_interval" for r in rates), expr


def test_room_dashboard_is_driven_by_room_variable() -> None:
    """Every expression of the drill-down filters on $room."""
    dash = load(GRAFANA / "room.json")
    for panel in dash["panels"]:
        for target in panel["targets"]:
            assert 'room="$room"' in target["expr"]


def test_provisioning_points_at_prometheus_and_files() -> None:
    """Datasource and dashboard provisioning YAML have the fields Grafana needs."""
    ds = yaml.safe_load((PROVISIONING / "datasources" / "prometheus.yaml").read_text("utf-8"))
    assert ds["apiVersion"] == 1
    assert ds["datasources"][0]["type"] == "prometheus"
    dashboards = yaml.safe_load((PROVISIONING / "dashboards" / "danmaku.yaml").read_text("utf-8"))
    provider = dashboards["providers"][0]
    assert provider["type"] == "file"
    assert provider["options"]["path"]
