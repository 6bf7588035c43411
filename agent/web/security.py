"""Token auth and security headers for the desk and the API.

The desk is opened once as ``/?token=…``: the token becomes an HttpOnly SameSite=Strict
cookie and the browser is redirected to a URL without it, so the token does not linger in
history or logs. Scripts use the cookie (EventSource cannot send headers); tools send
``Authorization: Bearer …``. State-changing requests must be JSON, which a cross-site form
cannot send without a CORS preflight that we never grant.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

COOKIE = "danmaku_desk"
# Danmaku is hostile: no inline script or style, nothing from elsewhere, no framing.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
OPEN_PATHS = frozenset({"/metrics", "/healthz"})
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def presented_token(request: web.Request) -> str | None:
    """The token a request carries: bearer header, cookie, or ``token`` query parameter."""
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return header.removeprefix("Bearer ").strip()
    cookie = request.cookies.get(COOKIE)
    if cookie:
        return cookie
    return request.query.get("token")


def auth_middleware(token: str) -> Middleware:
    """Reject requests without the desk token (constant-time compare)."""
    expected = token.encode()

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in OPEN_PATHS:
            return await handler(request)
        got = presented_token(request)
        if got is None or not hmac.compare_digest(got.encode(), expected):
            if request.path.startswith("/api/"):
                raise web.HTTPUnauthorized(
                    text='{"error": "unauthorized"}', content_type="application/json"
                )
            raise web.HTTPUnauthorized(text="需要令牌：请使用日志中的中控台链接打开。")
        if request.method in {"POST", "PUT", "PATCH"} and request.content_type != (
            "application/json"
        ):
            raise web.HTTPUnsupportedMediaType(
                text='{"error": "json body required"}', content_type="application/json"
            )
        if (
            "token" in request.query
            and request.method == "GET"
            and not request.path.startswith("/api/")
        ):
            response = web.HTTPSeeOther(request.rel_url.with_query(None))
            response.set_cookie(COOKIE, got, httponly=True, samesite="Strict", path="/")
            raise response
        return await handler(request)

    return middleware


@web.middleware
async def headers_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Strict CSP and friends on every response, errors included."""
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        _secure(exc)
        raise
    _secure(response)
    return response


def _secure(response: web.StreamResponse) -> None:
    if response.prepared:
        return
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers.setdefault("Cache-Control", "no-store")
