"""Claims, misstatements, compliance terms and the lineup on the demo catalog."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.lineup import Lineup
from classifiers.catalog import load_catalog
from classifiers.claims import extract
from classifiers.misstatement import SpeechChecker

DEMO = Path(__file__).resolve().parent.parent / "configs" / "demo"
CATALOG = load_catalog(DEMO / "catalog.yaml")
CHECKER = SpeechChecker(CATALOG)


@pytest.mark.parametrize(
    ("text", "sku", "field", "expected"),
    [
        ("家人们精华液今天到手价只要99真的只要99", "JH-101", "price", "129"),
        ("宝宝们这款面霜四十八小时内发货", "MS-202", "ship_within_hours", "预售15天"),
        ("面霜预售七天就发货", "MS-202", "presale_days", "预售15天"),
        ("拍一瓶精华送三个小样啊", "JH-101", "gifts", "小样×2"),
        ("这个牙刷保修两年的", "YS-301", "warranty_months", "1年"),
        ("一瓶是五十毫升的", "JH-101", "specs", "净含量30ml"),
        ("不支持七天无理由哦", "JH-101", "seven_day_return", "支持"),
        ("这个不包邮的家人们", "JH-101", "free_shipping", "包邮"),
    ],
)
def test_misstatement_per_field(text: str, sku: str, field: str, expected: str) -> None:
    """Each field's contradiction is found with the catalog value and a correction line."""
    report = CHECKER.check(text, sku)
    assert [m.field for m in report.misstatements] == [field]
    assert report.misstatements[0].expected == expected
    assert report.misstatements[0].correction.startswith("更正一下：")


@pytest.mark.parametrize(
    "text",
    [
        "直播间到手价一百二十九",
        "日常价一百五十九今天直播间一百二十九",
        "付款之后四十八小时内给大家发出",
        "三号链接库存还剩两百单倒数十个数",
        "家人们包邮的啊偏远地区不包邮",
        "一瓶是三十毫升的容量够用两个月",
        "送两个小样还送运费险",
        "不是九十九哦",
    ],
)
def test_true_or_non_claims_pass(text: str) -> None:
    """Correct claims, denials and numbers that are not claims give no misstatement."""
    assert CHECKER.check(text, "JH-101").misstatements == []


def test_presale_correction_line() -> None:
    """The presale correction says the presale window and what was claimed."""
    (m,) = CHECKER.check("48小时发货", "MS-202").misstatements
    assert m.correction == "更正一下：这款是预售，付款后15天内发货，不是48小时"


def test_price_numerals() -> None:
    """九块九 is 9.9 and 一百二十九 is 129."""
    assert [c.low for c in extract("九块九包邮到手价一百二十九")][:2] == [9.9, 129.0]


def test_compliance_terms_and_exceptions() -> None:
    """Absolute terms are hits; 第一次 and 最好先 are exceptions."""
    hits = CHECKER.check("这个价格全网最低了", None).compliance
    assert [h.term for h in hits] == ["全网最低"]
    assert CHECKER.check("第一次买的宝宝最好先试用", None).compliance == []
    assert CHECKER.check("万能的", "JH-101").compliance[0].term == "万能"


def test_no_sku_no_misstatement() -> None:
    """Without a known SKU nothing is compared."""
    assert CHECKER.check("到手价九十九", None).misstatements == []


def test_lineup_schedule_override_and_detect() -> None:
    """Schedule by offset, live override, and product detection by alias."""
    lineup = Lineup.load(DEMO / "lineup.yaml", catalog=CATALOG)
    assert lineup.current("demo-room-1", lineup.start + 70) == "MS-202"
    assert lineup.current("nowhere", lineup.start) is None
    lineup.set("demo-room-1", "YS-301")
    assert lineup.current("demo-room-1", lineup.start) == "YS-301"
    lineup.set("demo-room-1", None)
    assert lineup.current("demo-room-1", lineup.start) == "JH-101"
    assert lineup.detect("来看这个紧致面霜") == "MS-202"
    assert lineup.detect("三号链接") is None
