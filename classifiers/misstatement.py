"""Host speech against the catalog: misstatements with a correction line, plus 广告法 terms."""

from __future__ import annotations

import re
from dataclasses import dataclass

from classifiers.catalog import Catalog, Product
from classifiers.claims import Claim, extract, unit_value
from classifiers.compliance import ComplianceChecker, ComplianceHit
from classifiers.numbers import parse_number

__all__ = ["ComplianceHit", "Misstatement", "SpeechChecker", "SpeechReport"]


@dataclass(slots=True)
class Misstatement:
    """A claim contradicting the catalog and the line the host can read out to correct it."""

    field: str
    claimed: str
    expected: str
    evidence: str
    correction: str


@dataclass(slots=True)
class SpeechReport:
    """Everything wrong with one utterance."""

    misstatements: list[Misstatement]
    compliance: list[ComplianceHit]


def _num(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:g}"


def _months(value: float) -> str:
    if value >= 1200:
        return "终身"
    return f"{_num(value / 12)}年" if value % 12 == 0 else f"{_num(value)}个月"


def _hours(value: float) -> str:
    # Hosts say short windows in hours ("48小时") and long ones in days ("15天").
    return f"{_num(value / 24)}天" if value % 24 == 0 and value > 72 else f"{_num(value)}小时"


_GIFT_COUNT = re.compile(r"^(?P<item>.+?)\s*[×xX*]\s*(?P<n>\d+)$")


def _check(claim: Claim, p: Product) -> Misstatement | None:
    f = claim.field
    ev = claim.evidence
    if f == "price" and p.price is not None and abs(claim.low - p.price) > 0.01:
        return Misstatement(
            f,
            _num(claim.low),
            _num(p.price),
            ev,
            f"更正一下：这款直播间到手价是{_num(p.price)}元，不是{_num(claim.low)}元",
        )
    if f == "free_shipping" and p.free_shipping is not None and bool(claim.low) != p.free_shipping:
        line = (
            "更正一下：这款是包邮的"
            if p.free_shipping
            else "更正一下：这款不包邮，运费以下单页面为准"
        )
        return Misstatement(
            f, "包邮" if claim.low else "不包邮", "包邮" if p.free_shipping else "不包邮", ev, line
        )
    if f == "ship_within_hours":
        said = _hours(claim.high)
        if p.presale_days is not None and (
            claim.unit != "presale" or claim.high != p.presale_days * 24
        ):
            # "预售七天发" misstates the presale window; a bare "48小时发" the shipping time.
            return Misstatement(
                "presale_days" if claim.unit == "presale" else "ship_within_hours",
                said,
                f"预售{p.presale_days}天",
                ev,
                f"更正一下：这款是预售，付款后{p.presale_days}天内发货，不是{said}",
            )
        w = p.ship_within_hours
        if w is not None and not claim.low <= w <= claim.high and claim.high != w:
            return Misstatement(
                f, said, _hours(w), ev, f"更正一下：这款付款后{_hours(w)}内发货，不是{said}"
            )
    if (
        f == "seven_day_return"
        and p.seven_day_return is not None
        and bool(claim.low) != p.seven_day_return
    ):
        line = (
            "更正一下：这款支持七天无理由退货"
            if p.seven_day_return
            else "更正一下：这款不支持七天无理由退货，请家人们按需下单"
        )
        return Misstatement(
            f,
            "支持" if claim.low else "不支持",
            "支持" if p.seven_day_return else "不支持",
            ev,
            line,
        )
    if f == "warranty_months":
        w = p.warranty_months
        if w is None or not claim.low <= w <= claim.high:
            expected = _months(w) if w is not None else "无保修承诺"
            line = (
                f"更正一下：这款保修{_months(w)}，不是{_months(claim.high)}"
                if w is not None
                else f"更正一下：这款没有{_months(claim.high)}保修的承诺，以商品页为准"
            )
            return Misstatement(f, _months(claim.high), expected, ev, line)
    if f == "gifts" and claim.unit:
        for gift in p.gifts:
            m = _GIFT_COUNT.match(gift)
            item, count = (m["item"], float(m["n"])) if m else (gift, 1.0)
            if (claim.unit in item or item in claim.unit) and claim.low != count:
                said = f"{claim.unit}×{_num(claim.low)}"
                return Misstatement(f, said, gift, ev, f"更正一下：这款赠品是{gift}，不是{said}")
    if f == "specs":
        for name, value in p.specs.items():
            known = unit_value(value) or _plain(value, claim.unit)
            if known is not None and known[0] == claim.unit and abs(known[1] - claim.low) > 1e-6:
                said = claim.evidence
                return Misstatement(
                    f, said, f"{name}{value}", ev, f"更正一下：这款{name}是{value}，不是{said}"
                )
    return None


def _plain(value: str, unit: str) -> tuple[str, float] | None:
    n = parse_number(value)
    return (unit, n) if n is not None and unit == "" else None


class SpeechChecker:
    """Checks utterances against one catalog; build once per catalog (re)load."""

    def __init__(self, catalog: Catalog, compliance: ComplianceChecker | None = None) -> None:
        self.catalog = catalog
        self.compliance = compliance or ComplianceChecker()

    def check(self, text: str, sku: str | None) -> SpeechReport:
        """Misstatements against ``sku``'s entry (none without a known SKU) and banned terms."""
        text = text.strip()
        product = self.catalog.get(sku)
        found: list[Misstatement] = []
        if product is not None:
            fields: set[str] = set()
            for claim in extract(text):
                m = _check(claim, product)
                if m is not None and m.field not in fields:
                    fields.add(m.field)  # one finding per field per utterance
                    found.append(m)
        return SpeechReport(found, self.compliance.check(text))
