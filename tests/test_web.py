"""The desk web app: auth, security headers, REST API, live feed, /metrics, tally."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson
import pytest

from agent.alertbook import AlertBook
from agent.events import Alert
from agent.metrics import Metrics
from agent.web import create_app, serve
from agent.web.tally import Tally

TOKEN = "t0ken-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def new_alert(alert_id: str, room: str = "r1", **extra: Any) -> Alert:
    data = {"alert_id": alert_id, "room": room, "kind": "inquiry", "category": "logistics",
            "severity": "medium", "first_seen": 100.0, "last_seen": 100.0, "source_ts": 100.0,
            "examples": ["什么时候发货"], "suggested_reply": "48小时内发货"}  # fmt: skip
    data.update(extra)
    return Alert.from_dict(data)


@dataclass
class FakeProduct:
    sku: str
    name: str


class FakeCatalog:
    def __init__(self) -> None:
        self.products = {"A1": FakeProduct("A1", "洗发水"), "B2": FakeProduct("B2", "面霜")}


class FakeLineup:
    def __init__(self) -> None:
        self.skus: dict[str, str | None] = {}

    def current(self, room: str, ts: float) -> str | None:
        return self.skus.get(room)

    def set(self, room: str, sku: str | None) -> None:
        self.skus[room] = sku


@dataclass
class Desk:
    url: str
    book: AlertBook
    metrics: Metrics
    lineup: FakeLineup
    http: aiohttp.ClientSession


@pytest.fixture
async def desk(metrics: Metrics) -> AsyncIterator[Desk]:
    """The app on a loopback port with a real alert book holding one alert."""
    book = AlertBook(metrics=metrics)
    book(new_alert("a1"))
    lineup = FakeLineup()
    app = create_app(book=book, metrics=metrics, lineup=lineup, catalog=FakeCatalog(),
                     token=TOKEN)  # fmt: skip
    runner, port = await serve(app, "127.0.0.1:0")
    async with aiohttp.ClientSession() as http:
        yield Desk(f"http://127.0.0.1:{port}", book, metrics, lineup, http)
    await runner.cleanup()


async def test_api_requires_token(desk: Desk) -> None:
    """Without or with a wrong token the API and page answer 401."""
    async with desk.http.get(desk.url + "/api/v1/alerts") as resp:
        assert resp.status == 401
    async with desk.http.get(desk.url + "/", headers={"Authorization": "Bearer nope"}) as resp:
        assert resp.status == 401
        assert "default-src 'none'" in resp.headers["Content-Security-Policy"]


async def test_metrics_and_health_are_open(desk: Desk) -> None:
    """Prometheus scrapes /metrics without the desk token."""
    async with desk.http.get(desk.url + "/metrics") as resp:
        assert resp.status == 200
        assert "danmaku_alerts_open" in await resp.text()
    async with desk.http.get(desk.url + "/healthz") as resp:
        assert resp.status == 200


async def test_token_link_sets_cookie_and_strips_token(desk: Desk) -> None:
    """Opening /?token= redirects to / with an HttpOnly SameSite cookie that then works."""
    # The browser keeps cookies of 127.0.0.1; aiohttp's default jar refuses IP hosts.
    browser = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with browser:
        async with browser.get(desk.url + f"/?token={TOKEN}", allow_redirects=False) as resp:
            assert resp.status == 303
            assert resp.headers["Location"] == "/"
            cookie = resp.headers["Set-Cookie"]
            assert "HttpOnly" in cookie
            assert "SameSite=Strict" in cookie
        async with browser.get(desk.url + "/") as resp:
            page = await resp.text()
            assert resp.status == 200
    assert "中控台" in page
    assert '<script src="/static/desk.js"' in page
    async with desk.http.get(desk.url + "/", headers=AUTH) as resp:
        assert resp.status == 200
        assert resp.headers["X-Frame-Options"] == "DENY"


async def test_list_and_get_alerts(desk: Desk) -> None:
    """Alerts come back as DESIGN JSON plus the SLA deadline."""
    async with desk.http.get(desk.url + "/api/v1/alerts?state=open", headers=AUTH) as resp:
        alerts = await resp.json()
    assert [a["alert_id"] for a in alerts] == ["a1"]
    assert alerts[0]["sla_deadline"] == desk.book.next_deadline("a1")
    async with desk.http.get(desk.url + "/api/v1/alerts/a1", headers=AUTH) as resp:
        assert (await resp.json())["state"] == "open"
    async with desk.http.get(desk.url + "/api/v1/alerts/zzz", headers=AUTH) as resp:
        assert resp.status == 404
    async with desk.http.get(desk.url + "/api/v1/alerts?state=bogus", headers=AUTH) as resp:
        assert resp.status == 400


async def test_ack_assign_resolve(desk: Desk) -> None:
    """State changes go through the book and come back as the new version."""
    url = desk.url + "/api/v1/alerts/a1/"
    async with desk.http.post(url + "ack", json={"staff": "王五"}, headers=AUTH) as resp:
        acked = await resp.json()
    assert acked["state"] == "acked"
    assert acked["acked_by"] == "王五"
    body = {"staff": "王五", "assignee": "li"}
    async with desk.http.post(url + "assign", json=body, headers=AUTH) as resp:
        assert (await resp.json())["assignee"] == "li"
    async with desk.http.post(url + "resolve", json={"false_positive": True}, headers=AUTH) as resp:
        resolved = await resp.json()
    assert resolved["state"] == "resolved"
    assert resolved["false_positive"] is True
    async with desk.http.post(desk.url + "/api/v1/alerts/nope/ack", json={}, headers=AUTH) as resp:
        assert resp.status == 404


async def test_state_change_needs_json(desk: Desk) -> None:
    """A form post (what a cross-site page could send) is refused."""
    async with desk.http.post(desk.url + "/api/v1/alerts/a1/ack", data={"staff": "x"},
                              headers=AUTH) as resp:  # fmt: skip
        assert resp.status == 415
    assert desk.book.get("a1").state == "open"  # type: ignore[union-attr]


async def test_silences_roundtrip(desk: Desk) -> None:
    """A broadcast-long mute is listed and can be removed."""
    body = {"matchers": {"room": "r1", "category": "logistics"}, "for_broadcast": True}
    async with desk.http.post(desk.url + "/api/v1/silences", json=body, headers=AUTH) as resp:
        assert resp.status == 201
        silence = await resp.json()
    async with desk.http.get(desk.url + "/api/v1/silences", headers=AUTH) as resp:
        assert [s["id"] for s in await resp.json()] == [silence["id"]]
    async with desk.http.delete(desk.url + f"/api/v1/silences/{silence['id']}",
                                headers=AUTH) as resp:  # fmt: skip
        assert resp.status == 204
    async with desk.http.post(desk.url + "/api/v1/silences", json={"matchers": {}},
                              headers=AUTH) as resp:  # fmt: skip
        assert resp.status == 400


async def test_lineup_and_products(desk: Desk) -> None:
    """The SKU switcher sets the lineup; unknown SKUs are refused."""
    async with desk.http.get(desk.url + "/api/v1/products", headers=AUTH) as resp:
        assert [p["sku"] for p in await resp.json()] == ["A1", "B2"]
    async with desk.http.put(desk.url + "/api/v1/lineup/r1", json={"sku": "B2"},
                             headers=AUTH) as resp:  # fmt: skip
        assert resp.status == 200
    assert desk.lineup.skus["r1"] == "B2"
    async with desk.http.put(desk.url + "/api/v1/lineup/r1", json={"sku": "ZZ"},
                             headers=AUTH) as resp:  # fmt: skip
        assert resp.status == 400
    async with desk.http.get(desk.url + "/api/v1/lineup", headers=AUTH) as resp:
        assert await resp.json() == {"r1": "B2"}


async def test_rooms_show_connection_and_stale_feed(desk: Desk) -> None:
    """A connected room whose last message is old is flagged stale."""
    desk.metrics.connection_up.labels("r1", "json_ws").set(1)
    desk.metrics.last_message_timestamp.labels("r1").set(1.0)
    async with desk.http.get(desk.url + "/api/v1/rooms", headers=AUTH) as resp:
        rooms = await resp.json()
    assert rooms[0]["room"] == "r1"
    assert rooms[0]["connected"]
    assert rooms[0]["stale"]
    assert rooms[0]["counts"]["total"] == {"logistics": 1}


async def test_rooms_without_a_live_connection_are_not_reported_down(desk: Desk) -> None:
    """A replayed or pushed room has no connection to lose: connected is null, never stale;
    a live source that never connected is down."""
    desk.metrics.last_message_timestamp.labels("replayed").set(1.0)
    desk.metrics.connection_up.labels("relay", "json_ws").set(0)
    async with desk.http.get(desk.url + "/api/v1/rooms", headers=AUTH) as resp:
        rooms = {r["room"]: r for r in await resp.json()}
    assert (rooms["replayed"]["connected"], rooms["replayed"]["stale"]) == (None, False)
    assert (rooms["relay"]["connected"], rooms["relay"]["last_message"]) == (False, None)


async def test_openapi_lists_every_api_route(desk: Desk) -> None:
    """The OpenAPI document covers the API's paths."""
    async with desk.http.get(desk.url + "/api/v1/openapi.json", headers=AUTH) as resp:
        doc = await resp.json()
    assert doc["openapi"].startswith("3.")
    for path in ("/api/v1/alerts", "/api/v1/alerts/{alert_id}/ack", "/api/v1/silences",
                 "/api/v1/lineup/{room}", "/api/v1/rooms", "/api/v1/stream"):  # fmt: skip
        assert path in doc["paths"]


async def read_events(resp: aiohttp.ClientResponse, wanted: int) -> list[tuple[str, Any]]:
    """The first ``wanted`` SSE messages of a stream."""
    events: list[tuple[str, Any]] = []
    name = ""
    while len(events) < wanted:
        line = (await resp.content.readline()).decode().rstrip("\n")
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: "):
            events.append((name, orjson.loads(line.removeprefix("data: "))))
    return events


async def test_stream_snapshot_then_live_versions(desk: Desk) -> None:
    """The feed starts with a snapshot and then pushes each new alert version."""
    async with desk.http.get(desk.url + "/api/v1/stream", headers=AUTH) as resp:
        assert resp.headers["Content-Type"].startswith("text/event-stream")
        [(name, snapshot)] = await read_events(resp, 1)
        assert name == "snapshot"
        assert [a["alert_id"] for a in snapshot["alerts"]] == ["a1"]
        hostile = "<img src=x onerror=alert(1)>"
        desk.book(new_alert("a2", examples=[hostile]))
        [(name, alert)] = await asyncio.wait_for(read_events(resp, 1), 5)
        assert name == "alert"
        assert alert["alert_id"] == "a2"
        assert alert["examples"] == [hostile]


def test_tally_counts_growth_window_and_spikes() -> None:
    """Counts add count growth once, drop out of the 5-minute window, and mark spikes."""
    tally = Tally(window=300)
    tally.add(new_alert("x", count=2, last_seen=100.0))
    tally.add(new_alert("x", count=2, last_seen=100.0, version=2))
    tally.add(new_alert("x", count=5, last_seen=500.0, version=3))
    tally.add(new_alert("s", kind="spike", category="quality"))
    snap = tally.snapshot(now=550.0)["r1"]
    assert snap == {"recent": {"logistics": 3}, "total": {"logistics": 5}, "spiking": ["quality"]}
    tally.add(new_alert("s", kind="spike", category="quality", state="resolved"))
    assert tally.snapshot(now=900.0)["r1"]["spiking"] == []
    assert tally.snapshot(now=900.0)["r1"]["recent"] == {}


def test_desk_script_never_parses_html() -> None:
    """The desk script writes data with textContent only."""
    from agent.web.app import STATIC  # noqa: PLC0415

    script = (STATIC / "desk.js").read_text(encoding="utf-8")
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in script
    assert "<script>" not in (STATIC / "desk.html").read_text(encoding="utf-8")


def test_empty_token_is_refused(metrics: Metrics) -> None:
    """An app without a token would be open to anyone on the machine."""
    with pytest.raises(ValueError, match="token"):
        create_app(book=AlertBook(metrics=metrics), metrics=metrics, lineup=None, catalog=None,
                   token="")  # fmt: skip
