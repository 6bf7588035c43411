"""Numbers as a host says them: digits, Chinese numerals (cn2an), "九块九" prices, "三五天" ranges.

ASR hands over numbers both ways ("48小时", "四十八小时") and hosts speak loosely: "一百五" is
150, "四斤半" is 4.5, "两三天" is two to three days, "三到五天" and "3-5天" are ranges. The
patterns here only say where a number is; the parsers say what it is worth.
"""

from __future__ import annotations

import re
from functools import lru_cache

import cn2an

CN_DIGITS = "零一二两三四五六七八九"
# A Chinese numeral; "点" belongs to it only when a digit follows ("三十九点九", not "一百五十九点个关注").
_CN = rf"[{CN_DIGITS}十百千万]+(?:点[{CN_DIGITS}]+)?"
_AR = r"[0-9]+(?:\.[0-9]+)?"
NUM = rf"(?:{_AR}|{_CN})"
# A range as spoken: "三到五", "3-5", "一至两"; "两三" / "三五" (neighbouring digits) is parsed
# as a range by ``parse_range``.
RANGE = rf"(?:{NUM}(?:到|至|-|~|—|–){NUM}|{NUM})"
_DIGITS = re.compile(rf"^{_AR}$")
_RANGE_SPLIT = re.compile(r"到|至|-|~|—|–")
_CN_VALUE = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"两": 2}


@lru_cache(maxsize=4096)
def parse_number(text: str) -> float | None:
    """The value of ``text`` ("39.9", "一百二十九", "一百五", "四斤半"-style "半" excluded) or None."""
    if not text:
        return None
    if _DIGITS.match(text):
        return float(text)
    try:
        return float(cn2an.cn2an(text.replace("两", "二"), "smart"))
    except (ValueError, KeyError, IndexError, TypeError):
        return None


_UNIT_VALUE = {"十": 10, "百": 100, "千": 1000, "万": 10000}


def _neighbours(text: str) -> tuple[float, float] | None:
    """ "两三" → (2, 3), "三五" → (3, 5), "七八十" → (70, 80): two digits a small step apart."""
    scale = 1
    if len(text) == 3 and text[2] in _UNIT_VALUE:
        text, scale = text[:2], _UNIT_VALUE[text[2]]
    if len(text) != 2 or text[0] not in _CN_VALUE or text[1] not in _CN_VALUE:
        return None
    a, b = _CN_VALUE[text[0]], _CN_VALUE[text[1]]
    return (float(a * scale), float(b * scale)) if a > 0 and 0 < b - a <= 2 else None


def parse_range(text: str) -> tuple[float, float] | None:
    """(low, high) of "三到五", "3-5", "两三" or a single number; None when not a number."""
    parts = _RANGE_SPLIT.split(text)
    if len(parts) == 2:
        low, high = parse_number(parts[0]), parse_number(parts[1])
        if low is None or high is None:
            return None
        return (min(low, high), max(low, high))
    pair = _neighbours(text)
    if pair is not None:
        return pair
    value = parse_number(text)
    return None if value is None else (value, value)


def parse_price(whole: str, fraction: str | None = None) -> float | None:
    """ "九块九" = 9.9, "一百二十九" = 129; ``fraction`` is the digit said after 块/元/米."""
    base = parse_number(whole)
    if base is None:
        return None
    if fraction:
        tail = parse_number(fraction)
        if tail is not None and tail < 10 and base == int(base):
            return base + tail / 10
    return base


def parse_percent(text: str) -> float | None:
    """ "百分之九十五" / "95%" / "95" → 95.0."""
    text = text.removeprefix("百分之").removesuffix("%")
    return parse_number(text)
