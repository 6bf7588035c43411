"""飞书 group robot: signed interactive cards with ``lark_md`` and ``<at>`` mentions.

Signing: ``timestamp`` (seconds) and ``sign`` = base64 HMAC-SHA256 with key
``"{timestamp}\\n{secret}"`` over an empty message, in the JSON body. Limits: 100/min and
5/s per robot, about 20 KB per message. 11232 is the rate limit; 19021 (signature),
19022 (IP) and 19024 (keyword) are permanent. Answers use ``code``/``msg`` (older
deployments ``StatusCode``/``StatusMessage``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, ClassVar

from agent.events import Alert
from agent.sinks.webhook import RobotSink, feishu_sign, fit

MESSAGE_LIMIT = 20_000
_TEMPLATE = {"low": "blue", "medium": "yellow", "high": "orange", "critical": "red"}


class FeishuSink(RobotSink):
    """Posts digests to a 飞书 group robot webhook."""

    platform: ClassVar[str] = "feishu"
    rate_limit_codes: ClassVar[dict[int, float]] = {11232: 10.0}
    auth_codes: ClassVar[frozenset[int]] = frozenset({19021, 19022, 19024})

    def error_code(self, answer: dict[str, Any]) -> tuple[int, str]:
        """``code``/``msg``, or the older ``StatusCode``/``StatusMessage``."""
        code = answer.get("code", answer.get("StatusCode", 0))
        message = answer.get("msg", answer.get("StatusMessage", ""))
        return (int(code) if isinstance(code, int) else -1), str(message)

    def request(self, alerts: Sequence[Alert]) -> tuple[str, dict[str, Any]]:
        """An interactive card; the on-duty people are @-ed by open_id."""
        assert self.url is not None  # required by the config model
        digest = self.render(alerts)
        mentions = " ".join(f"<at id={uid}></at>" for uid in digest.names)
        content = fit(digest.blocks, MESSAGE_LIMIT - len(mentions.encode()) - 2048)
        if mentions:
            content = f"{content}\n{mentions}"
        card = {
            "header": {"title": {"tag": "plain_text", "content": digest.title},
                       "template": _TEMPLATE.get(digest.severity, "blue")},
            "elements": [{"tag": "div", "text": {"tag": "lark_md", "content": content}}],
        }  # fmt: skip
        body: dict[str, Any] = {"msg_type": "interactive", "card": card}
        if self.secret:
            ts = int(time.time())
            body = {"timestamp": str(ts), "sign": feishu_sign(self.secret, ts), **body}
        return self.url, body
