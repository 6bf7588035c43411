"""钉钉 group robot: signed markdown with ``at.atMobiles``.

Signing (加签): ``timestamp`` in ms and ``sign`` = URL-encoded base64 HMAC-SHA256 with the
secret as key over ``"{timestamp}\\n{secret}"``, both in the query. 130101 is the rate
limit (20/min; exceeding it blocks the robot for 10 minutes); 310000 (signature, keyword
or IP refused) and 300001 (bad token) are permanent.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, ClassVar
from urllib.parse import quote

from agent.events import Alert
from agent.sinks.webhook import RobotSink, dingtalk_sign, fit

MESSAGE_LIMIT = 18_000


class DingtalkSink(RobotSink):
    """Posts digests to a 钉钉 group robot webhook."""

    platform: ClassVar[str] = "dingtalk"
    rate_limit_codes: ClassVar[dict[int, float]] = {130101: 600.0}
    auth_codes: ClassVar[frozenset[int]] = frozenset({310000, 300001})

    def signed_url(self, timestamp_ms: int) -> str:
        """The webhook URL with ``timestamp`` and ``sign`` when a secret is configured."""
        assert self.url is not None  # required by the config model
        if not self.secret:
            return self.url
        sign = quote(dingtalk_sign(self.secret, timestamp_ms), safe="")
        joiner = "&" if "?" in self.url else "?"
        return f"{self.url}{joiner}timestamp={timestamp_ms}&sign={sign}"

    def request(self, alerts: Sequence[Alert]) -> tuple[str, dict[str, Any]]:
        """Markdown; mentioned mobiles must also appear as ``@mobile`` in the text."""
        digest = self.render(alerts)
        mentions = " ".join(f"@{m}" for m in digest.mobiles)
        # 钉钉 markdown joins single newlines into one paragraph; force line breaks.
        blocks = [block.replace("\n", "  \n") for block in digest.blocks]
        text = fit([f"#### {digest.title}", *blocks],
                   MESSAGE_LIMIT - len(mentions.encode()) - 2)  # fmt: skip
        if mentions:
            text = f"{text}\n\n{mentions}"
        body = {"msgtype": "markdown",
                "markdown": {"title": digest.title, "text": text},
                "at": {"atMobiles": digest.mobiles, "isAtAll": False}}  # fmt: skip
        return self.signed_url(int(time.time() * 1000)), body
