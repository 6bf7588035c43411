"""Readable alert lines for a terminal: coloured by severity, Chinese category names."""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Self, TextIO

from agent.config import ConsoleSinkConfig, StaffConfig
from agent.events import Alert
from classifiers.labels import FIELD_ZH, LABEL_ZH

_COLORS = {"low": "\x1b[37m", "medium": "\x1b[33m", "high": "\x1b[31m", "critical": "\x1b[1;41;97m"}
_RESET = "\x1b[0m"
_KIND_ZH = {
    "inquiry": "咨询",
    "misstatement": "口播不符",
    "spike": "激增",
    "compliance": "违规用语",
}
_STATE_ZH = {"open": "新", "acked": "已确认", "escalated": "已升级", "resolved": "已解决"}
_SEVERITY_ZH = {"low": "低", "medium": "中", "high": "高", "critical": "紧急"}


def _printable(text: str) -> str:
    # Danmaku may carry terminal escape sequences; never let a viewer repaint our screen.
    return "".join(ch if ch.isprintable() else "�" for ch in text)


# Categories of compliance findings (广告法) are not intent labels or catalog fields.
_OTHER_ZH = {"ad_law": "广告法绝对化用语"}


def category_name(alert: Alert) -> str:
    """The Chinese name of the alert's category."""
    return (LABEL_ZH.get(alert.category) or FIELD_ZH.get(alert.category)
            or _OTHER_ZH.get(alert.category) or alert.category)  # fmt: skip


def format_alert(
    alert: Alert, *, color: bool, names: Mapping[str, StaffConfig] | None = None
) -> str:
    """One or two lines describing an alert version; ``names`` turns staff ids into names."""
    when = time.strftime("%H:%M:%S", time.localtime(alert.last_seen))
    head = (
        f"[{when}] {_SEVERITY_ZH[alert.severity]} {_KIND_ZH.get(alert.kind, alert.kind)}"
        f"·{category_name(alert)} 房间{alert.room} ×{alert.count} "
        f"({_STATE_ZH.get(alert.state, alert.state)} v{alert.version})"
    )
    if alert.assignee:
        person = (names or {}).get(alert.assignee)
        level = f" 第{alert.escalation_level}级" if alert.escalation_level else ""
        head += f" → {person.name if person and person.name else alert.assignee}{level}"
    if color:
        head = f"{_COLORS[alert.severity]}{head}{_RESET}"
    lines = [_printable(head)]
    if alert.examples:
        lines.append("    弹幕: " + _printable(alert.examples[-1][:80]))
    if alert.correction:
        lines.append("    更正话术: " + _printable(alert.correction))
    elif alert.suggested_reply:
        lines.append("    建议回复: " + _printable(alert.suggested_reply[:120]))
    return "\n".join(lines)


class ConsoleSink:
    """Prints each alert version to stdout."""

    def __init__(
        self,
        config: ConsoleSinkConfig,
        *,
        stream: TextIO | None = None,
        staff: Mapping[str, StaffConfig] | None = None,
        **_: Any,
    ) -> None:
        self.name = "console"
        self.staff = staff or {}
        self.stream = stream or sys.stdout
        self.color = config.color if config.color is not None else self.stream.isatty()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stream.flush()

    async def deliver(self, alert: Alert) -> None:
        """Print one alert version."""
        print(format_alert(alert, color=self.color, names=self.staff), file=self.stream, flush=True)
