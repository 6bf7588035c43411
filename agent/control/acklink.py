"""Signed, expiring acknowledge links for chat messages (the robots are one-way).

    {base}/ack?a=<alert_id>&s=<staff>&e=<expires>&sig=<HMAC-SHA256(alert_id \\n staff \\n expires)>

Opening the link shows a confirmation page (GET never changes state: chat apps prefetch
links for previews); its button POSTs the same signed fields and acknowledges the alert.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import time
from collections.abc import Awaitable, Callable
from typing import Protocol
from urllib.parse import urlencode

from aiohttp import web

from agent.events import Alert

Handler = Callable[[web.Request], Awaitable[web.Response]]


def sign_ack(secret: bytes, alert_id: str, staff: str, expires: int) -> str:
    """The URL-safe base64 HMAC-SHA256 over the three fields."""
    message = f"{alert_id}\n{staff}\n{expires}".encode()
    digest = hmac.new(secret, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def verify_ack_link(
    secret: bytes, alert_id: str, staff: str, expires: int, sig: str, *, now: float
) -> bool:
    """Whether ``sig`` signs these fields and the link has not expired."""
    if now >= expires or "\n" in alert_id or "\n" in staff:
        return False
    return hmac.compare_digest(sign_ack(secret, alert_id, staff, expires), sig)


def make_ack_link(base_url: str, secret: bytes, alert_id: str, staff: str, expires: int) -> str:
    """The full link."""
    query = urlencode({"a": alert_id, "s": staff, "e": expires,
                       "sig": sign_ack(secret, alert_id, staff, expires)})  # fmt: skip
    return f"{base_url.rstrip('/')}/ack?{query}"


class AckLinker:
    """Callable ``(alert_id, staff) → link`` valid for ``ttl`` seconds (for the robot sinks)."""

    def __init__(
        self, base_url: str, secret: bytes, ttl: float, clock: Callable[[], float] = time.time
    ) -> None:
        self.base_url = base_url
        self.secret = secret
        self.ttl = ttl
        self.clock = clock

    def __call__(self, alert_id: str, staff: str) -> str:
        expires = int(self.clock() + self.ttl)
        return make_ack_link(self.base_url, self.secret, alert_id, staff, expires)


class Acknowledger(Protocol):
    """What the handler needs of the alert book."""

    def get(self, alert_id: str) -> Alert | None:
        """The latest version."""

    async def ack(self, alert_id: str, staff: str) -> Alert:
        """Acknowledge; KeyError when unknown."""


_PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>
<style>body{{font-family:sans-serif;max-width:32em;margin:2em auto;padding:0 1em}}
button{{font-size:1.2em;padding:.5em 2em}}</style></head>
<body><h2>{title}</h2>{body}</body></html>"""


def _page(title: str, body: str, status: int = 200) -> web.Response:
    text = _PAGE.format(title=html.escape(title), body=body)
    return web.Response(text=text, status=status, content_type="text/html", charset="utf-8")


def ack_link_handler(
    book: Acknowledger, secret: bytes, clock: Callable[[], float] = time.time
) -> Handler:
    """An aiohttp handler for ``GET``/``POST /ack`` (mount with ``add_route("*", ...)``)."""

    async def handle(request: web.Request) -> web.Response:
        fields = dict(request.query) if request.method == "GET" else dict(await request.post())
        alert_id, staff = str(fields.get("a", "")), str(fields.get("s", ""))
        sig = str(fields.get("sig", ""))
        try:
            expires = int(str(fields.get("e", "")))
        except ValueError:
            expires = 0
        if not verify_ack_link(secret, alert_id, staff, expires, sig, now=clock()):
            return _page("链接无效或已过期", "<p>请在控制台或消息中重新打开确认链接。</p>", 403)
        alert = book.get(alert_id)
        if alert is None:
            return _page("告警不存在", "<p>该告警已关闭或已过期。</p>", 404)
        summary = (f"<p>{html.escape(alert.title or alert.category)} · 房间 "
                   f"{html.escape(alert.room)} · ×{alert.count}</p>")  # fmt: skip
        if request.method == "GET":
            hidden = "".join(
                f'<input type="hidden" name="{k}" value="{html.escape(v, quote=True)}">'
                for k, v in (("a", alert_id), ("s", staff), ("e", str(expires)), ("sig", sig))
            )
            form = f'<form method="post">{hidden}<button type="submit">确认处理</button></form>'
            return _page("确认处理告警", summary + form)
        if request.method != "POST":
            return _page("不支持的请求", "", 405)
        acked = await book.ack(alert_id, staff)
        who = html.escape(acked.acked_by or staff)
        return _page("已确认", f"{summary}<p>已由 {who} 确认处理。</p>")

    return handle
