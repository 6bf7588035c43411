"""Claim extraction from ASR host speech: which catalog field the host states, and the value.

Patterns are precompiled once; a claim needs a field cue (到手价, 包邮, 小时内发, 保修…) so bare
numbers ("三号链接", "库存还剩两百单", "倒数十个数") never become claims. A cue preceded by
"不是/并非" is a denial and yields no numeric claim.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from classifiers.numbers import NUM, parse_number, parse_price


@dataclass(frozen=True, slots=True)
class Claim:
    """One stated fact: field, value (low, high for ranges) and the evidence span."""

    field: str
    low: float
    high: float
    evidence: str
    unit: str = ""


_DENIAL = re.compile(r"(?:不是|并非|而不是)$")
_RANGE = rf"(?P<a>{NUM})(?:(?:到|至|-|~)(?P<b>{NUM}))?"
_PRICE = re.compile(
    rf"(?:(?:到手价|直播间价|直播价|活动价|价格|只要|仅需|才|直播间)(?:是|只要|就)?(?P<w1>{NUM})(?:块|元|米)?(?P<f1>[0-9一二三四五六七八九])?(?![0-9零一二两三四五六七八九十百千万点个号单天小年月分秒毫克斤瓦转次])"
    rf"|(?P<w2>{NUM})(?:块|元|米)(?P<f2>[0-9一二三四五六七八九])?)"
)
_NOT_PRICE_BEFORE = re.compile(
    r"(?:减|省|券|优惠|便宜|差价|原价|日常价|定金|红包|立减|满|运费是|运费)$"
)
_FREE = re.compile(r"(?P<neg>不)?包邮|(?P<fee>要运费|运费自理|运费自付)")
_REMOTE = re.compile(r"(?:偏远|新疆|西藏|港澳台|海外)[^，。 ]{0,4}$")
_SHIP = re.compile(
    rf"{_RANGE}(?:个)?(?P<u>小时|天|日)(?:之内|以内|内)?(?:就)?(?:给大家|给你们)?(?:就)?(?:发货|发出|发)"
)
_SAME_DAY = re.compile(r"当天发|今天下单今天发")
_PRESALE = re.compile(r"预售")
_RETURN = re.compile(r"(?P<neg>不支持|不能|没有|不)?(?:七天|7天)无理由")
_WARRANTY = re.compile(
    rf"(?:保修|质保)(?:期)?(?:是)?{_RANGE}(?:个)?(?P<u>年|月)|{_RANGE.replace('a>', 'c>').replace('b>', 'd>')}(?:个)?(?P<u2>年|月)(?:的)?(?:保修|质保)|(?P<life>终身)(?:保修|质保)"
)
_GIFT = re.compile(
    rf"(?:送|赠送|赠)(?P<n>{NUM})?(?:个|支|瓶|片|盒|件|只|包|套)?(?P<item>[\u4e00-\u9fa5A-Za-z0-9]{{1,6}}?)(?=[啊呀哦的加和还跟，。 ]|$)"
)
_SPEC = re.compile(rf"(?P<n>{NUM})(?P<u>毫升|ml|g|克|千克|kg|公斤|斤|瓦|w|W|厘米|cm|mAh|毫安)")
_UNIT_SCALE = {
    "毫升": ("ml", 1.0), "ml": ("ml", 1.0), "g": ("g", 1.0), "克": ("g", 1.0), "千克": ("g", 1000.0),
    "kg": ("g", 1000.0), "公斤": ("g", 1000.0), "斤": ("g", 500.0), "瓦": ("w", 1.0), "w": ("w", 1.0),
    "W": ("w", 1.0), "厘米": ("cm", 1.0), "cm": ("cm", 1.0), "mAh": ("mah", 1.0), "毫安": ("mah", 1.0),
}  # fmt: skip


def unit_value(text: str) -> tuple[str, float] | None:
    """("ml", 30.0) for "30ml"/"三十毫升"; None when ``text`` has no known unit."""
    m = _SPEC.search(text)
    if m is None:
        return None
    n = parse_number(m["n"])
    if n is None:
        return None
    unit, scale = _UNIT_SCALE[m["u"]]
    return unit, n * scale


def _denied(text: str, start: int) -> bool:
    return bool(_DENIAL.search(text[max(0, start - 4) : start]))


def _range(a: str | None, b: str | None) -> tuple[float, float] | None:
    lo = parse_number(a) if a else None
    if lo is None:
        return None
    hi = parse_number(b) if b else lo
    return (lo, hi if hi is not None else lo)


def extract(text: str) -> list[Claim]:
    """Every claim in one utterance, in text order per field."""
    claims: list[Claim] = []
    for m in _PRICE.finditer(text):
        if _denied(text, m.start()) or _NOT_PRICE_BEFORE.search(
            text[max(0, m.start() - 3) : m.start()]
        ):
            continue
        value = parse_price(m["w1"] or m["w2"], m["f1"] or m["f2"])
        if value is not None and value > 0:
            claims.append(Claim("price", value, value, m[0]))
    for m in _FREE.finditer(text):
        if m["neg"] or m["fee"]:
            if _REMOTE.search(text[max(0, m.start() - 8) : m.start()]):
                continue
            claims.append(Claim("free_shipping", 0, 0, m[0]))
        else:
            claims.append(Claim("free_shipping", 1, 1, m[0]))
    presale = bool(_PRESALE.search(text))
    for m in _SHIP.finditer(text):
        span = _range(m["a"], m["b"])
        if span is None or _denied(text, m.start()):
            continue
        hours = 1.0 if m["u"] == "小时" else 24.0
        claims.append(
            Claim(
                "ship_within_hours",
                span[0] * hours,
                span[1] * hours,
                m[0],
                "presale" if presale else "",
            )
        )
    for m in _SAME_DAY.finditer(text):
        claims.append(Claim("ship_within_hours", 24, 24, m[0]))
    for m in _RETURN.finditer(text):
        claims.append(Claim("seven_day_return", 0 if m["neg"] else 1, 0 if m["neg"] else 1, m[0]))
    for m in _WARRANTY.finditer(text):
        if m["life"]:
            claims.append(Claim("warranty_months", 1200, 1200, m[0]))
            continue
        span = _range(m["a"] or m["c"], m["b"] or m["d"])
        if span is None or _denied(text, m.start()):
            continue
        months = 12.0 if (m["u"] or m["u2"]) == "年" else 1.0
        claims.append(Claim("warranty_months", span[0] * months, span[1] * months, m[0]))
    for m in _GIFT.finditer(text):
        if "运费险" in text[m.start() : m.end() + 2]:
            continue  # shipping insurance is a service, not a gift
        count = parse_number(m["n"]) if m["n"] else 1.0
        claims.append(Claim("gifts", count or 1.0, count or 1.0, m[0], m["item"]))
    for m in _SPEC.finditer(text):
        n = parse_number(m["n"])
        if (
            n is None
            or _denied(text, m.start())
            or re.search(r"[送赠]", text[max(0, m.start() - 4) : m.start()])
        ):
            continue  # "送两个五克的旅行装" sizes the gift, not the product
        unit, scale = _UNIT_SCALE[m["u"]]
        claims.append(Claim("specs", n * scale, n * scale, m[0], unit))
    return claims
