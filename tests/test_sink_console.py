"""The console sink: one readable Chinese line per alert version, safe for the terminal."""

from __future__ import annotations

import io

from agent.config import ConsoleSinkConfig, StaffConfig
from agent.events import Alert
from agent.sinks.console import ConsoleSink, format_alert


def _alert(**changes: object) -> Alert:
    alert = Alert("inq-1", "r1", "inquiry", "logistics", "medium", 1.0, 2.0, 1.0, count=3)
    alert.examples = ["什么时候发货"]
    alert.suggested_reply = "付款后48小时内发货。"
    for name, value in changes.items():
        setattr(alert, name, value)
    return alert


def test_names_category_count_reply_and_the_person_paged() -> None:
    text = format_alert(_alert(assignee="li", escalation_level=1, state="escalated"),
                        color=False, names={"li": StaffConfig(name="李雷")})  # fmt: skip
    head, example, reply = text.splitlines()
    assert "中 咨询·物流发货 房间r1 ×3 (已升级 v1) → 李雷 第1级" in head
    assert example == "    弹幕: 什么时候发货"
    assert reply == "    建议回复: 付款后48小时内发货。"
    assert format_alert(_alert(assignee="zz"), color=False).splitlines()[0].endswith("→ zz")


def test_terminal_escapes_in_danmaku_are_neutralised() -> None:
    text = format_alert(_alert(examples=["\x1b[2J\x1b]0;pwned\x07退款"]), color=False)
    assert "\x1b" not in text
    assert "\x07" not in text
    assert text.splitlines()[1].endswith("退款")


async def test_sink_prints_each_version_with_staff_names() -> None:
    out = io.StringIO()
    async with ConsoleSink(ConsoleSinkConfig(type="console", color=False), stream=out,
                           staff={"li": StaffConfig(name="李雷")}) as sink:  # fmt: skip
        await sink.deliver(_alert(assignee="li"))
    assert "→ 李雷" in out.getvalue()
