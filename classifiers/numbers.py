"""Numbers as a host says them: digits, Chinese numerals (cn2an) and "九块九"-style prices."""

from __future__ import annotations

import re

import cn2an

NUM = r"(?:[0-9]+(?:\.[0-9]+)?|[零一二两三四五六七八九十百千万点]+)"
_DIGITS = re.compile(r"^[0-9]+(?:\.[0-9]+)?$")


def parse_number(text: str) -> float | None:
    """The value of ``text`` or None when it is not a number."""
    if _DIGITS.match(text):
        return float(text)
    try:
        return float(cn2an.cn2an(text.replace("两", "二"), "smart"))
    except (ValueError, KeyError, IndexError, TypeError):
        return None


def parse_price(whole: str, fraction: str | None) -> float | None:
    """ "九块九" = 9.9, "一百二十九" = 129; ``fraction`` is the digit after 块/元."""
    base = parse_number(whole)
    if base is None:
        return None
    if fraction:
        tail = parse_number(fraction)
        if tail is not None and tail < 10:
            return base + tail / 10
    return base
