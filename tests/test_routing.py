"""Routing rules, rosters with Asia/Shanghai shifts and overrides, silences, mute windows."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from agent.config import RoutingConfig, parse_config
from agent.errors import ConfigError
from agent.events import Alert
from agent.routing import Roster, Router, Silencer, matches

SH = ZoneInfo("Asia/Shanghai")


def at(text: str) -> float:
    """Epoch seconds of a Shanghai local time 'YYYY-MM-DD HH:MM'."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=SH).timestamp()


CONFIG = RoutingConfig.model_validate({
    "default_team": "aftersales",
    "rules": [
        {"match": {"kind": "misstatement"}, "team": "ops"},
        {"match": {"category": ["quality", "complaint"], "room": "live-*"}, "team": "quality"},
    ],
    "teams": {
        "aftersales": {"lead": "lead", "fallback": ["night"], "shifts": [
            {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "18:00",
             "staff": ["li", "wang"]},
            {"days": ["fri"], "start": "22:00", "end": "06:00", "staff": ["owl"]},
        ], "overrides": [{"start": "2026-11-23T12:00", "end": "2026-11-23T14:00",
                          "staff": ["zhao"]}]},
        "quality": {"lead": "qlead", "shifts": [{"staff": ["qa"]}]},
        "ops": {},
    },
})  # fmt: skip


def alert(**kw: object) -> Alert:
    base: dict[str, object] = {"alert_id": "a1", "room": "r1", "kind": "inquiry",
                               "category": "logistics", "severity": "low", "first_seen": 1.0,
                               "last_seen": 1.0, "source_ts": 1.0}  # fmt: skip
    base.update(kw)
    return Alert.from_dict(base)


def test_shifts_are_in_shanghai_time() -> None:
    """Monday 10:00 Shanghai is 02:00 UTC: the day shift is on duty, lead last."""
    roster = Roster(CONFIG)
    assert roster.on_duty("aftersales", at("2026-11-23 10:00")) == ["li", "wang"]
    assert roster.ladder("aftersales", at("2026-11-23 10:00")) == ["li", "wang", "lead"]


def test_overnight_shift_override_and_fallback() -> None:
    """A Friday night shift covers Saturday 03:00; overrides win; otherwise the fallback."""
    roster = Roster(CONFIG)
    assert roster.on_duty("aftersales", at("2026-11-28 03:00")) == ["owl"]  # Saturday
    assert roster.on_duty("aftersales", at("2026-11-23 13:00")) == ["zhao"]
    assert roster.on_duty("aftersales", at("2026-11-29 03:00")) == ["night"]  # Sunday
    assert roster.ladder("ops", at("2026-11-23 10:00")) == []
    assert roster.on_duty("nope", 0.0) == []


def test_rules_first_match_wins_with_globs_and_lists() -> None:
    """Rules are tried in order; lists are alternatives; globs match rooms."""
    router = Router(CONFIG)
    now = at("2026-11-23 10:00")
    assert router(alert(kind="misstatement"), now).team == "ops"
    route = router(alert(category="quality", room="live-7"), now)
    assert route == router(alert(category="complaint", room="live-1"), now)
    assert route.team == "quality"
    assert route.ladder == ("qa", "qlead")
    assert router(alert(category="quality", room="r1"), now).team == "aftersales"


def test_matchers() -> None:
    """Empty matchers match all; every key must hold."""
    assert matches({}, {"room": "x"})
    assert not matches({"room": "x", "kind": "spike"}, {"room": "x", "kind": "inquiry"})
    assert matches({"room": "r?"}, {"room": "r1"})


def test_silences_expire_and_reject_bad_matchers() -> None:
    """A live silence matches until it expires; bad matchers and past expiry are refused."""
    silencer = Silencer(CONFIG)
    silence = silencer.add({"room": "r1"}, until=200.0, by="desk", comment="", now=100.0)
    assert silencer.silenced_by(alert(), 150.0) == silence
    assert silencer.silenced_by(alert(room="r2"), 150.0) is None
    assert silencer.silenced_by(alert(), 200.0) is None
    assert silencer.active(250.0) == []
    with pytest.raises(ValueError, match="unknown matcher"):
        silencer.add({"viewer": "x"}, until=300.0, by="d", comment="", now=100.0)
    with pytest.raises(ValueError, match="not in the future"):
        silencer.add({"room": "r1"}, until=50.0, by="d", comment="", now=100.0)


def test_mute_windows_in_local_time() -> None:
    """A 02:00–08:00 mute window for low alerts holds at 03:00 Shanghai only."""
    config = RoutingConfig.model_validate(
        {"mute_windows": [{"matchers": {"severity": "low"}, "start": "02:00", "end": "08:00"}]}
    )
    silencer = Silencer(config)
    assert silencer.muted(alert(), at("2026-11-23 03:00"))
    assert not silencer.muted(alert(), at("2026-11-23 09:00"))
    assert not silencer.muted(alert(severity="high"), at("2026-11-23 03:00"))


def test_config_errors_name_the_problem() -> None:
    """Unknown teams, staff and time zones are one-line config errors."""
    base = {"sources": [{"type": "replay", "path": "x.jsonl"}]}
    with pytest.raises(ConfigError, match="unknown team 'nope'"):
        parse_config({**base, "routing": {"teams": {"a": {}},
                                          "rules": [{"team": "nope"}]}})  # fmt: skip
    with pytest.raises(ConfigError, match="unknown staff 'li'"):
        parse_config({**base, "routing": {"staff": {"wang": {}},
                                          "teams": {"a": {"lead": "li"}}}})  # fmt: skip
    with pytest.raises(ConfigError, match="unknown time zone"):
        parse_config({**base, "routing": {"timezone": "Mars/Base"}})
    with pytest.raises(ConfigError, match="HH:MM"):
        parse_config({**base, "routing": {"mute_windows": [{"start": "25:00", "end": "1"}]}})


def test_documented_config_examples_are_valid(root: Path) -> None:
    """Every YAML example in docs/alerts.md validates against the config models."""
    text = (root / "docs" / "alerts.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 5
    for block in blocks:
        data = yaml.safe_load(block)
        parse_config({"sources": [{"type": "replay", "path": "x.jsonl"}], **data})
