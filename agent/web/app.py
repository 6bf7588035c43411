"""The control desk web app: desk pages, REST API under /api/v1, live feed, /metrics.

create_app(book=…, metrics=…, lineup=…, catalog=…, token=…, status=…) -> Application
runner, port = await serve(app, "127.0.0.1:8080")
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Protocol

import orjson
from aiohttp import web
from prometheus_client.aiohttp import make_aiohttp_handler

from agent.alertbook import AlertBook
from agent.events import Alert
from agent.logs import get_logger
from agent.metrics import Metrics
from agent.web.openapi import OPENAPI
from agent.web.security import auth_middleware, headers_middleware
from agent.web.status import StatusFn, metrics_status
from agent.web.tally import Tally

_log = get_logger("agent.web")

STATIC = Path(__file__).parent / "static"
# How long "mute this rule for this broadcast" lasts: longer than any broadcast.
BROADCAST_SECONDS = 8 * 3600.0
STATE_FILTERS = frozenset({"open", "acked", "escalated", "resolved"})
# Room status and counts go out this often on the live feed (also the heartbeat).
PUSH_SECONDS = 2.0


class LineupLike(Protocol):
    """What the desk needs of the lineup: the current SKU of a room and a live override."""

    def current(self, room: str, ts: float) -> str | None:
        """The SKU presented in ``room`` at ``ts``."""

    def set(self, room: str, sku: str | None) -> None:
        """Override the current SKU of ``room``."""


class CatalogLike(Protocol):
    """What the desk needs of the catalog: products by SKU with a name."""

    products: dict[str, Any]


BOOK = web.AppKey("book", AlertBook)
METRICS = web.AppKey("metrics", Metrics)
LINEUP = web.AppKey("lineup", object)
CATALOG = web.AppKey("catalog", object)
STATUS = web.AppKey("status", object)
TALLY = web.AppKey("tally", Tally)


def json_response(data: Any, status: int = 200) -> web.Response:
    """orjson-encoded JSON (non-ASCII kept as is)."""
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


def bad_request(message: str) -> web.HTTPBadRequest:
    """A 400 with a JSON error body."""
    text = orjson.dumps({"error": message}).decode()
    return web.HTTPBadRequest(text=text, content_type="application/json")


def not_found(message: str) -> web.HTTPNotFound:
    """A 404 with a JSON error body."""
    text = orjson.dumps({"error": message}).decode()
    return web.HTTPNotFound(text=text, content_type="application/json")


async def read_json(request: web.Request) -> dict[str, Any]:
    """The request's JSON object body; 400 when it is not one."""
    try:
        data = orjson.loads(await request.read())
    except orjson.JSONDecodeError as exc:
        raise bad_request(f"invalid json: {exc}") from exc
    if not isinstance(data, dict):
        raise bad_request("json object expected")
    return data


def text_field(data: dict[str, Any], name: str, default: str | None = None) -> str:
    """A required (or defaulted) non-empty short string field."""
    value = data.get(name, default)
    if not isinstance(value, str) or not value.strip() or len(value) > 100:
        raise bad_request(f"{name}: non-empty string of at most 100 characters expected")
    return value.strip()


def alert_view(book: AlertBook, alert: Alert) -> dict[str, Any]:
    """The alert JSON plus the SLA deadline the desk counts down to."""
    data = alert.to_dict()
    data["sla_deadline"] = book.next_deadline(alert.alert_id)
    return data


# -- alerts -----------------------------------------------------------------------------


async def list_alerts(request: web.Request) -> web.Response:
    """GET /api/v1/alerts?room=&state=open,acked"""
    book = request.app[BOOK]
    states: set[str] | None = None
    if "state" in request.query:
        states = {s for s in request.query["state"].split(",") if s}
        if not states <= STATE_FILTERS:
            raise bad_request(f"state: one of {sorted(STATE_FILTERS)} expected")
    alerts = book.list(request.query.get("room"), states)
    return json_response([alert_view(book, a) for a in alerts])


async def get_alert(request: web.Request) -> web.Response:
    """GET /api/v1/alerts/{alert_id}"""
    book = request.app[BOOK]
    alert = book.get(request.match_info["alert_id"])
    if alert is None:
        raise not_found("unknown alert")
    return json_response(alert_view(book, alert))


async def act(request: web.Request) -> web.Response:
    """POST /api/v1/alerts/{alert_id}/{ack|resolve|assign}"""
    book = request.app[BOOK]
    alert_id, action = request.match_info["alert_id"], request.match_info["action"]
    data = await read_json(request)
    staff = text_field(data, "staff", "中控")
    try:
        if action == "ack":
            alert = await book.ack(alert_id, staff)
        elif action == "resolve":
            alert = await book.resolve(
                alert_id, staff, false_positive=bool(data.get("false_positive", False))
            )
        else:
            alert = await book.assign(alert_id, text_field(data, "assignee"), staff)
    except KeyError as exc:
        raise not_found("unknown alert") from exc
    _log.info("desk action", action=action, alert=alert_id, staff=staff)
    return json_response(alert_view(book, alert))


# -- silences ---------------------------------------------------------------------------


async def list_silences(request: web.Request) -> web.Response:
    """GET /api/v1/silences"""
    return json_response([s.to_dict() for s in request.app[BOOK].list_silences()])


async def add_silence(request: web.Request) -> web.Response:
    """POST /api/v1/silences {matchers, until | duration_seconds | for_broadcast, by, comment}"""
    data = await read_json(request)
    matchers = data.get("matchers")
    if not isinstance(matchers, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in matchers.items()
    ):
        raise bad_request("matchers: object of strings expected")
    now = time.time()
    if data.get("for_broadcast"):
        until = now + BROADCAST_SECONDS
    elif isinstance(data.get("duration_seconds"), int | float):
        until = now + float(data["duration_seconds"])
    elif isinstance(data.get("until"), int | float):
        until = float(data["until"])
    else:
        raise bad_request("one of until, duration_seconds or for_broadcast expected")
    comment = data.get("comment", "")
    if not isinstance(comment, str):
        raise bad_request("comment: string expected")
    try:
        silence = request.app[BOOK].add_silence(
            matchers, until, text_field(data, "by", "中控"), comment[:500]
        )
    except ValueError as exc:
        raise bad_request(str(exc)) from exc
    return json_response(silence.to_dict(), status=201)


async def delete_silence(request: web.Request) -> web.Response:
    """DELETE /api/v1/silences/{silence_id}"""
    if not request.app[BOOK].delete_silence(request.match_info["silence_id"]):
        raise not_found("unknown silence")
    return web.Response(status=204)


# -- rooms, lineup, products ------------------------------------------------------------


def rooms_view(app: web.Application, now: float) -> list[dict[str, Any]]:
    """Every known room: connection status, current SKU, category counts."""
    status: StatusFn = app[STATUS]  # type: ignore[assignment]
    lineup: LineupLike | None = app[LINEUP]  # type: ignore[assignment]
    counts = app[TALLY].snapshot(now)
    by_room = {s.room: s.to_dict() for s in status(now)}
    names = sorted(set(by_room) | set(counts) | {a.room for a in app[BOOK].list()})
    out = []
    for name in names:
        entry = by_room.get(name) or {
            "room": name,
            "connected": None,
            "last_message": None,
            "stale": False,
        }
        entry["sku"] = lineup.current(name, now) if lineup is not None else None
        entry["counts"] = counts.get(name, {"recent": {}, "total": {}, "spiking": []})
        out.append(entry)
    return out


async def list_rooms(request: web.Request) -> web.Response:
    """GET /api/v1/rooms"""
    return json_response(rooms_view(request.app, time.time()))


async def get_lineup(request: web.Request) -> web.Response:
    """GET /api/v1/lineup: the current SKU of every known room."""
    return json_response({r["room"]: r["sku"] for r in rooms_view(request.app, time.time())})


async def set_lineup(request: web.Request) -> web.Response:
    """PUT /api/v1/lineup/{room} {"sku": "A1" | null}"""
    lineup: LineupLike | None = request.app[LINEUP]  # type: ignore[assignment]
    if lineup is None:
        raise not_found("no lineup configured")
    data = await read_json(request)
    sku = data.get("sku")
    catalog: CatalogLike | None = request.app[CATALOG]  # type: ignore[assignment]
    if sku is not None and (
        not isinstance(sku, str) or (catalog is not None and sku not in catalog.products)
    ):
        raise bad_request("sku: a catalog sku or null expected")
    room = request.match_info["room"]
    lineup.set(room, sku)
    _log.info("desk lineup override", room=room, sku=sku)
    return json_response({"room": room, "sku": sku})


async def list_products(request: web.Request) -> web.Response:
    """GET /api/v1/products: SKU and name, for the switcher."""
    catalog: CatalogLike | None = request.app[CATALOG]  # type: ignore[assignment]
    if catalog is None:
        return json_response([])
    return json_response(
        [{"sku": sku, "name": getattr(p, "name", sku)} for sku, p in catalog.products.items()]
    )


async def openapi(_request: web.Request) -> web.Response:
    """GET /api/v1/openapi.json"""
    return json_response(OPENAPI)


# -- live feed (server-sent events) -----------------------------------------------------


def sse(event: str, data: Any) -> bytes:
    """One SSE message; orjson output has no raw newlines, so one data line suffices."""
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


async def stream(request: web.Request) -> web.StreamResponse:
    """GET /api/v1/stream: snapshot, then every alert version and periodic room status."""
    app = request.app
    book = app[BOOK]
    headers = {"Content-Type": "text/event-stream", "Cache-Control": "no-store"}
    response = web.StreamResponse(headers=headers)
    await response.prepare(request)
    subscription = book.subscribe()
    queue: asyncio.Queue[Alert] = asyncio.Queue()

    async def pump() -> None:
        async for alert in subscription:
            queue.put_nowait(alert)

    pumping = asyncio.create_task(pump(), name="web.stream.pump")
    try:
        await response.write(sse("snapshot", {
            "alerts": [alert_view(book, a) for a in book.list()],
            "rooms": rooms_view(app, time.time()), "now": time.time(),
        }))  # fmt: skip
        while True:
            try:
                alert = await asyncio.wait_for(queue.get(), PUSH_SECONDS)
            except TimeoutError:
                await response.write(sse("rooms", {"rooms": rooms_view(app, time.time()),
                                                   "now": time.time()}))  # fmt: skip
                continue
            await response.write(sse("alert", alert_view(book, alert)))
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        pumping.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pumping
        await subscription.aclose()
    return response


# -- pages ------------------------------------------------------------------------------


async def desk_page(_request: web.Request) -> web.FileResponse:
    """The desk (one room at a time, or the wall grid with ?view=wall)."""
    return web.FileResponse(STATIC / "desk.html")


async def healthz(_request: web.Request) -> web.Response:
    """Liveness for load balancers and the tests."""
    return web.Response(text="ok")


async def _tally_loop(app: web.Application) -> AsyncIterator[None]:
    """Feed the category counts from the book for the app's lifetime."""
    book, tally = app[BOOK], app[TALLY]
    for alert in reversed(book.list()):
        tally.add(alert)
    subscription = book.subscribe()

    async def run() -> None:
        async for alert in subscription:
            tally.add(alert)

    task = asyncio.create_task(run(), name="web.tally")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await subscription.aclose()


def create_app(
    *,
    book: AlertBook,
    metrics: Metrics,
    lineup: LineupLike | None,
    catalog: CatalogLike | None,
    token: str,
    status: StatusFn | None = None,
) -> web.Application:
    """The desk app; everything but /metrics and /healthz requires ``token``."""
    if not token:
        raise ValueError("desk token must not be empty")
    app = web.Application(middlewares=[headers_middleware, auth_middleware(token)])
    app[BOOK] = book
    app[METRICS] = metrics
    app[LINEUP] = lineup
    app[CATALOG] = catalog
    app[STATUS] = status if status is not None else metrics_status(metrics)
    app[TALLY] = Tally()
    app.cleanup_ctx.append(_tally_loop)
    routes: list[web.AbstractRouteDef] = [
        web.get("/", desk_page),
        web.get("/healthz", healthz),
        web.get("/metrics", make_aiohttp_handler(metrics.registry)),
        web.get("/api/v1/openapi.json", openapi),
        web.get("/api/v1/alerts", list_alerts),
        web.get("/api/v1/alerts/{alert_id}", get_alert),
        web.post("/api/v1/alerts/{alert_id}/{action:ack|resolve|assign}", act),
        web.get("/api/v1/silences", list_silences),
        web.post("/api/v1/silences", add_silence),
        web.delete("/api/v1/silences/{silence_id}", delete_silence),
        web.get("/api/v1/rooms", list_rooms),
        web.get("/api/v1/lineup", get_lineup),
        web.put("/api/v1/lineup/{room}", set_lineup),
        web.get("/api/v1/products", list_products),
        web.get("/api/v1/stream", stream),
        web.static("/static", STATIC, append_version=False),
    ]
    app.add_routes(routes)
    return app


async def serve(app: web.Application, listen: str) -> tuple[web.AppRunner, int]:
    """Start ``app`` on ``host:port`` (port 0 picks one); returns the runner and bound port."""
    host, _, port = listen.rpartition(":")
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, host, int(port))
    await site.start()
    sockets = runner.addresses
    bound = int(sockets[0][1]) if sockets else int(port)
    return runner, bound


__all__ = ["CatalogLike", "LineupLike", "create_app", "serve"]
