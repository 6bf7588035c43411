"""企业微信 group robot: markdown messages, or text with ``mentioned_mobile_list`` to @ someone.

企业微信 markdown cannot @ by mobile, so a message that must reach the on-duty person goes
out as text (2048 bytes) with the mobiles listed; otherwise markdown (4096 bytes). 45009 is
the rate limit (20 messages/min per robot); 93000 means the webhook key is wrong.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from agent.config import StaffConfig, WecomSinkConfig
from agent.events import Alert
from agent.sinks.webhook import AckLinker, Renderer, RobotSink, fit

TEXT_LIMIT = 2048
MARKDOWN_LIMIT = 4096


class WecomSink(RobotSink):
    """Posts digests to a 企业微信 group robot webhook."""

    platform: ClassVar[str] = "wecom"
    rate_limit_codes: ClassVar[dict[int, float]] = {45009: 60.0}
    auth_codes: ClassVar[frozenset[int]] = frozenset({93000, 40008})

    def __init__(
        self,
        config: WecomSinkConfig,
        *,
        staff: Mapping[str, StaffConfig] | None = None,
        ack_link: AckLinker | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(config, staff=staff, ack_link=ack_link, **kw)
        self.text_render = Renderer(staff, ack_link, markdown=False)

    def request(self, alerts: Sequence[Alert]) -> tuple[str, dict[str, Any]]:
        """Text with mentions when someone on duty must be reached, else markdown."""
        assert self.url is not None  # required by the config model
        digest = self.render(alerts)
        if digest.mobiles:
            text = self.text_render(alerts)
            content = fit([text.title, *text.blocks], TEXT_LIMIT, sep="\n")
            mention = {"content": content, "mentioned_mobile_list": digest.mobiles}
            return self.url, {"msgtype": "text", "text": mention}
        content = fit([f"### {digest.title}", *digest.blocks], MARKDOWN_LIMIT)
        return self.url, {"msgtype": "markdown", "markdown": {"content": content}}
