"""What the three group robots (企业微信, 钉钉, 飞书) share: signing, escaping, digests, limits.

The robots are one-way webhooks that answer HTTP 200 with the error in the body. This
module keeps the parts that are pure (signatures, escaping, rendering, truncation, the
rate limiter) apart from the HTTP shell (``RobotSink``), which each platform module
specialises with its request shape and its error codes.

Rate limits: each robot allows a few messages a minute, so a robot sink is a *batch* sink
of the outbox: at its turn it takes everything queued, keeps the latest version of each
alert, and sends one digest. A platform rate-limit answer blocks the robot for the time
the platform asks (钉钉: 10 minutes) and the batch is retried; auth errors are permanent:
logged, counted, the batch is dropped and the robot rests before trying anything else.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, ClassVar, Self

import aiohttp
import orjson

from agent.config import StaffConfig, secret_from_env
from agent.errors import DeliveryError
from agent.events import SEVERITIES, Alert
from agent.logs import get_logger

_log = get_logger("agent.sinks.webhook")

AckLinker = Callable[[str, str], str]

SEVERITY_ZH = {"low": "低", "medium": "中", "high": "高", "critical": "紧急"}
STATE_ZH = {"open": "待处理", "acked": "已确认", "escalated": "已升级", "resolved": "已解决"}
# Resting time after an auth error: the config is wrong until someone fixes it.
AUTH_REST_SECONDS = 300.0


# -- signing ------------------------------------------------------------------------------


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """钉钉: base64(HMAC-SHA256(key=secret, msg="{ts}\\n{secret}")), before URL-encoding."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256)
    return base64.b64encode(digest.digest()).decode()


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """飞书: base64(HMAC-SHA256(key="{ts}\\n{secret}", msg=b"")), sent as is."""
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256)
    return base64.b64encode(digest.digest()).decode()


# -- escaping -----------------------------------------------------------------------------

_ZWSP = "\u200b"
_MD_SPECIAL = frozenset("\\`*_[]()#>!|~<{}+-=.")


def _plain(text: str) -> str:
    # One line, printable: a newline would let a viewer start a heading or a quote block.
    return "".join(ch if ch.isprintable() else " " for ch in text).strip()


def _defuse(text: str) -> str:
    # Break @mentions (@all, @所有人, @138…) and auto-linked URLs with a zero-width space.
    text = text.replace("@", "@" + _ZWSP)
    return text.replace("://", ":" + _ZWSP + "//").replace("www.", "www" + _ZWSP + ".")


def escape_text(text: str) -> str:
    """Danmaku for a plain-text message: one line, no mentions, no live links."""
    return _defuse(_plain(text))


def escape_markdown(text: str) -> str:
    """Danmaku for markdown: specials backslash-escaped, ``<``/``&`` as entities, defused."""
    out = []
    for ch in _defuse(_plain(text)):
        if ch == "<":
            out.append("&lt;")
        elif ch == "&":
            out.append("&amp;")
        elif ch in _MD_SPECIAL:
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


# -- rendering ----------------------------------------------------------------------------


@dataclass(slots=True)
class Digest:
    """Platform-neutral content: a title, one block per alert, people to mention."""

    title: str
    blocks: list[str]
    mobiles: list[str] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)
    severity: str = "low"


def latest_versions(alerts: Sequence[Alert]) -> list[Alert]:
    """One entry per alert id (its newest version), in order of first appearance."""
    newest: dict[str, Alert] = {}
    for alert in alerts:
        kept = newest.get(alert.alert_id)
        if kept is None or alert.version >= kept.version:
            newest[alert.alert_id] = alert
    return list(newest.values())


class Renderer:
    """Alerts → digest blocks in markdown (or plain text), with ack links and mentions."""

    def __init__(
        self,
        staff: Mapping[str, StaffConfig] | None = None,
        ack_link: AckLinker | None = None,
        *,
        markdown: bool = True,
    ) -> None:
        self.staff = staff or {}
        self.ack_link = ack_link
        self.markdown = markdown

    def esc(self, text: str) -> str:
        """Escape danmaku-derived text for this format."""
        return escape_markdown(text) if self.markdown else escape_text(text)

    def block(self, alert: Alert) -> str:
        """One alert as a few lines."""
        esc, md = self.esc, self.markdown
        head = (f"[{SEVERITY_ZH.get(alert.severity, alert.severity)}] "
                f"{esc(alert.title or alert.category)}")  # fmt: skip
        head = f"**{head}**" if md else head
        lines = [f"{head} 房间{esc(alert.room)} ×{alert.count} "
                 f"{STATE_ZH.get(alert.state, alert.state)}"]  # fmt: skip
        if alert.examples:
            lines.append(f"弹幕: {esc(alert.examples[-1][:120])}")
        if alert.correction:
            lines.append(f"更正话术: {esc(alert.correction[:200])}")
        elif alert.suggested_reply:
            lines.append(f"建议回复: {esc(alert.suggested_reply[:200])}")
        if alert.assignee:
            person = self.staff.get(alert.assignee)
            name = person.name if person is not None and person.name else alert.assignee
            mention = f"@{person.mobile}" if person is not None and person.mobile else ""
            lines.append(f"负责人: {esc(name)} {mention}".rstrip())
            if self.ack_link is not None and alert.state in ("open", "escalated"):
                url = self.ack_link(alert.alert_id, alert.assignee)
                lines.append(f"[确认处理]({url})" if md else f"确认处理: {url}")
        return "\n".join(lines)

    def __call__(self, alerts: Sequence[Alert]) -> Digest:
        items = latest_versions(alerts)
        worst = max((a.severity for a in items), key=SEVERITIES.index, default="low")
        if len(items) == 1:
            title = f"售后告警·{items[0].title or items[0].category}"
        else:
            title = f"售后告警汇总·{len(items)}条"
        digest = Digest(title, [self.block(a) for a in items], severity=worst)
        for alert in items:
            person = self.staff.get(alert.assignee or "")
            if person is None or alert.state not in ("open", "escalated"):
                continue
            if person.mobile and person.mobile not in digest.mobiles:
                digest.mobiles.append(person.mobile)
            if person.feishu_user_id:
                digest.names[person.feishu_user_id] = person.name or alert.assignee or ""
        return digest


def fit(blocks: Sequence[str], limit_bytes: int, *, sep: str = "\n\n") -> str:
    """Join as many blocks as fit in ``limit_bytes`` (UTF-8), then "…另有 N 条" for the rest."""

    def more(n: int) -> str:
        return f"{sep}…另有 {n} 条" if n else ""

    out: list[str] = []
    for i, block in enumerate(blocks):
        rest = len(blocks) - i - 1
        if len((sep.join([*out, block]) + more(rest)).encode()) <= limit_bytes:
            out.append(block)
            continue
        if not out:  # even the first block is too long: cut it at a character boundary
            room = limit_bytes - len(more(rest).encode()) - len("…".encode())
            return block.encode()[: max(0, room)].decode(errors="ignore") + "…" + more(rest)
        return sep.join(out) + more(len(blocks) - len(out))
    return sep.join(out)


# -- rate limiting ------------------------------------------------------------------------


class RateLimiter:
    """At most ``per_minute`` sends in any 60 s and ``per_second`` in any 1 s, plus blocks."""

    def __init__(self, per_minute: int, per_second: int | None = None) -> None:
        self.per_minute = per_minute
        self.per_second = per_second
        self.sent: deque[float] = deque()
        self.blocked_until = 0.0

    def delay(self, now: float) -> float:
        """Seconds to wait before the next send is allowed."""
        while self.sent and now - self.sent[0] >= 60.0:
            self.sent.popleft()
        wait = max(0.0, self.blocked_until - now)
        if len(self.sent) >= self.per_minute:
            wait = max(wait, self.sent[-self.per_minute] + 60.0 - now)
        if self.per_second is not None and len(self.sent) >= self.per_second:
            wait = max(wait, self.sent[-self.per_second] + 1.0 - now)
        return wait

    def record(self, now: float) -> None:
        """Count one send."""
        self.sent.append(now)

    def block(self, now: float, seconds: float) -> None:
        """Refuse sends for ``seconds`` (a platform rate-limit answer or an auth error)."""
        self.blocked_until = max(self.blocked_until, now + seconds)


# -- errors from the body -----------------------------------------------------------------


class RobotError(DeliveryError):
    """The platform answered with an error code; ``rest`` is how long to leave it alone."""

    def __init__(self, sink: str, code: int, message: str, *, retryable: bool, rest: float) -> None:
        self.code = code
        self.rest = rest
        super().__init__(sink, f"error {code}: {message}", retryable=retryable)


# -- the HTTP shell -----------------------------------------------------------------------


class RobotSink(ABC):
    """A group robot: the outbox's batch protocol over one aiohttp session."""

    notifies = True
    platform: ClassVar[str] = "robot"
    #: error codes meaning "too many messages" → (seconds to back off).
    rate_limit_codes: ClassVar[dict[int, float]] = {}
    #: error codes meaning "this robot's key, signature or IP allow-list is wrong".
    auth_codes: ClassVar[frozenset[int]] = frozenset()
    markdown: ClassVar[bool] = True

    def __init__(
        self,
        config: Any,
        *,
        staff: Mapping[str, StaffConfig] | None = None,
        ack_link: AckLinker | None = None,
        clock: Callable[[], float] = time.monotonic,
        **_: Any,
    ) -> None:
        self.config = config
        self.name = config.name or self.platform
        self.max_batch = config.max_batch
        where = f"sinks.{self.platform}"
        self.url = config.url or secret_from_env(config.url_env, where=f"{where}.url_env")
        self.secret = secret_from_env(config.secret_env, where=f"{where}.secret_env")
        self.limiter = RateLimiter(config.per_minute, config.per_second)
        self.render = Renderer(staff, ack_link, markdown=self.markdown)
        self.clock = clock
        self._session: aiohttp.ClientSession | None = None
        self._min = SEVERITIES.index(config.min_severity)
        self._teams = frozenset(config.teams)

    async def __aenter__(self) -> Self:
        if self._session is not None:
            raise RuntimeError(f"{self.name} sink is not reentrant")
        timeout = aiohttp.ClientTimeout(total=self.config.timeout)
        self._session = aiohttp.ClientSession(timeout=timeout)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def wants(self, alert: Alert) -> bool:
        """This robot's slice: its teams (all when none are listed) and minimum severity."""
        if self._teams and (alert.team or "") not in self._teams:
            return False
        return SEVERITIES.index(alert.severity) >= self._min

    async def wait_turn(self) -> None:
        """Sleep until the rate limiter (and any platform block) allows a send."""
        # Re-check after each sleep: a platform answer may have extended the block meanwhile.
        while (delay := self.limiter.delay(self.clock())) > 0:  # noqa: ASYNC110
            await asyncio.sleep(delay)

    async def deliver(self, alert: Alert) -> None:
        """One version on its own (the outbox normally batches)."""
        await self.wait_turn()
        await self.deliver_many([alert])

    async def deliver_many(self, alerts: Sequence[Alert]) -> None:
        """Send the batch as one digest message."""
        wanted = [a for a in alerts if self.wants(a)]
        if not wanted:
            return
        url, body = self.request(wanted)
        self.limiter.record(self.clock())
        answer = await self._post(url, body)
        try:
            self.check(answer)
        except RobotError as exc:
            self.limiter.block(self.clock(), exc.rest)
            level = _log.error if exc.code in self.auth_codes else _log.warning
            level("robot refused the message", sink=self.name, code=exc.code,
                  error=exc.problem, rest=exc.rest)  # fmt: skip
            raise

    async def _post(self, url: str, body: dict[str, Any]) -> dict[str, Any]:
        if self._session is None:
            raise DeliveryError(self.name, "sink is not open")
        try:
            async with self._session.post(
                url, data=orjson.dumps(body), headers={"Content-Type": "application/json"}
            ) as response:
                if response.status == 429 or response.status >= 500:
                    raise DeliveryError(self.name, f"HTTP {response.status}")
                if response.status >= 400:
                    raise DeliveryError(self.name, f"HTTP {response.status}", retryable=False)
                raw = await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise DeliveryError(self.name, f"request failed: {exc!r}") from exc
        try:
            answer = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise DeliveryError(self.name, "answer is not JSON") from exc
        if not isinstance(answer, dict):
            raise DeliveryError(self.name, "answer is not a JSON object")
        return answer

    def error_code(self, answer: dict[str, Any]) -> tuple[int, str]:
        """(code, message) of an answer; code 0 is success."""
        code = answer.get("errcode", 0)
        return (int(code) if isinstance(code, int) else -1), str(answer.get("errmsg", ""))

    def check(self, answer: dict[str, Any]) -> None:
        """Raise ``RobotError`` for an error answer, classified by the platform's codes."""
        code, message = self.error_code(answer)
        if code == 0:
            return
        if code in self.rate_limit_codes:
            raise RobotError(self.name, code, message, retryable=True,
                             rest=self.rate_limit_codes[code])  # fmt: skip
        if code in self.auth_codes:
            raise RobotError(self.name, code, message, retryable=False, rest=AUTH_REST_SECONDS)
        raise RobotError(self.name, code, message, retryable=False, rest=0.0)

    @abstractmethod
    def request(self, alerts: Sequence[Alert]) -> tuple[str, dict[str, Any]]:
        """The URL and JSON body of one digest message of ``alerts`` (per platform)."""
