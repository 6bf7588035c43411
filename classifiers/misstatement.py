"""Host speech against the catalog: misstatements with a correction line, plus 广告法 terms.

``SpeechChecker`` turns each catalog entry into comparable facts once (spec values parsed into
a quantity kind and a range, the words that name each spec, gifts split into item and count),
so checking an utterance is claim extraction plus a few comparisons.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from classifiers.catalog import Catalog, Product
from classifiers.claims import NAMED_KINDS, Claim, extract, spec_value
from classifiers.compliance import ComplianceChecker, ComplianceHit

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
    if value == 0:
        return "不保修"
    return f"{_num(value / 12)}年" if value % 12 == 0 else f"{_num(value)}个月"


def _hours(value: float) -> str:
    # Hosts say short windows in hours ("48小时") and long ones in days ("15天").
    return f"{_num(value / 24)}天" if value % 24 == 0 and value > 72 else f"{_num(value)}小时"


# -- facts of one product ------------------------------------------------------------------------

# Words a host uses for a spec that its catalog name does not contain.
_SPEC_SYNONYMS: dict[str, tuple[str, ...]] = {
    "续航": ("续航", "充一次", "充满", "一次充电", "充电一次", "满电", "待机", "能用", "可以用"),
    "保质期": ("保质", "有效期", "保存"),
    "净含量": (
        "含量",
        "容量",
        "一支",
        "一瓶",
        "一罐",
        "一盒",
        "一管",
        "一袋",
        "装",
        "大支",
        "一大",
    ),
    "容量": ("容量", "一杯", "能装", "装", "一锅", "锅"),
    "净重": ("重量", "重", "一箱", "装", "称"),
    "重量": ("重", "净重"),
    "充绒量": ("充绒",),
    "含绒量": ("绒",),
    "功率": ("功率",),
    "单果": ("果径", "直径", "个头", "个个", "单果"),
    "果径": ("果径", "直径", "个头", "单果"),
    "保温": ("保温",),
    "温度": ("温度", "档"),
    "转速": ("转速",),
    "尺码": ("尺码", "码"),
}
_NAME_SUFFIX = re.compile(r"含量|量|期|时长|时间|率|大小")
_WEAK_CHARS = frozenset("净含总")
_GIFT_COUNT = re.compile(r"^(?P<item>.+?)\s*[×xX*]\s*(?P<n>\d+)$")
# Characters of fibres and metals: a share followed by one is about that material.
_MATERIAL = re.compile(r"[棉麻丝毛绒纶涤氨羊鸭鹅皮革银金钢铜铝木竹胶塑瓷蚕]|莫代尔|聚酯|尼龙|玻璃")


_CJK_RUN = re.compile(r"[\u4e00-\u9fa5]+")


def _spec_words(name: str, value: str, kind: str) -> frozenset[str]:
    """The words that name the spec ``name`` in speech: 羊毛含量 → 羊毛; 含绒量 → 绒; and for a
    share, the material in its value ("面料: 100%棉" → 棉)."""
    core = _NAME_SUFFIX.sub("", name)
    words = {name, core, "".join(c for c in core if c not in _WEAK_CHARS)}
    if len(name) >= 4:  # "电池容量" is also said "电池" or "容量"
        words.update((name[:2], name[-2:]))
    words.update(_SPEC_SYNONYMS.get(name, ()))
    if kind == "%":
        for run in _CJK_RUN.findall(value):
            words.update((run, run[-2:]))
    return frozenset(w for w in words if w and w not in _WEAK_CHARS)


@dataclass(frozen=True, slots=True)
class _Spec:
    name: str
    value: str
    kind: str
    low: float
    high: float
    words: frozenset[str]

    def agrees(self, claim: Claim) -> bool:
        """Whether the claimed value is what the catalog states (a range claim within it)."""
        if self.kind == "size":
            return claim.low in (0, self.low) and claim.high in (0, self.high)
        if self.kind in ("ip", "fineness", "steel"):
            return claim.low == self.low
        tol = 0.03 if self.kind == "day" else 0.01
        return (
            claim.low >= self.low * (1 - tol) - 1e-9 and claim.high <= self.high * (1 + tol) + 1e-9
        )


@dataclass(frozen=True, slots=True)
class _Gift:
    text: str
    item: str
    count: float


@dataclass(frozen=True, slots=True)
class _Facts:
    specs: tuple[_Spec, ...]
    gifts: tuple[_Gift, ...]


def _facts(product: Product) -> _Facts:
    specs: list[_Spec] = []
    for name, value in product.specs.items():
        parsed = spec_value(str(value))
        if parsed is not None:
            specs.append(_Spec(name, str(value), *parsed, _spec_words(name, str(value), parsed[0])))
    gifts: list[_Gift] = []
    for gift in product.gifts:
        m = _GIFT_COUNT.match(gift)
        item, count = (m["item"], float(m["n"])) if m else (gift, 1.0)
        gifts.append(_Gift(gift, item, count))
    return _Facts(tuple(specs), tuple(gifts))


# -- comparisons ---------------------------------------------------------------------------------


def _same_item(said: str, known: str) -> bool:
    """ "同款小样" is "小样"; "替换刷头" is "刷头"; two items sharing a two-character word match."""
    if said in known or known in said:
        return True
    return any(said[i : i + 2] in known for i in range(len(said) - 1))


def _known_gift(said: str, facts: _Facts) -> _Gift | None:
    if not said:
        return None
    return next((g for g in facts.gifts if _same_item(said, g.item)), None)


def _check_gift(claim: Claim, facts: _Facts, ev: str) -> Misstatement | None:
    known = "、".join(g.text for g in facts.gifts)
    if claim.context == "none":  # "没有赠品"
        if not facts.gifts:
            return None
        return Misstatement("gifts", "无赠品", known, ev, f"更正一下：这款有赠品，送{known}")
    if claim.context == "buy":  # "买一送一", "拍一送三": some gift of that count per unit
        if any(g.count == claim.low for g in facts.gifts):
            return None
        expected = known or "无赠品"
        return Misstatement(
            "gifts",
            claim.evidence,
            expected,
            ev,
            f"更正一下：这款没有{claim.evidence}，赠品以商品页为准",
        )
    before = claim.context.removeprefix("before:")
    gift = _known_gift(claim.unit, facts) or _known_gift(before, facts)
    if gift is not None:
        if claim.low and claim.low != gift.count:
            said = f"{gift.item}×{_num(claim.low)}"
            line = f"更正一下：这款赠品是{gift.text}，不是{said}"
            return Misstatement("gifts", said, gift.text, ev, line)
        return None
    if not claim.unit:
        return None  # "送一个" with no item we know before or after it
    said = f"{claim.unit}×{_num(claim.low)}" if claim.low else claim.unit
    if not facts.gifts:
        return Misstatement(
            "gifts", said, "无赠品", ev, f"更正一下：这款没有赠品，不送{claim.unit}，以商品页为准"
        )
    return Misstatement("gifts", said, known, ev, f"更正一下：这款赠品是{known}，没有{claim.unit}")


# Words between a spec's name and its number: "保质期是三年", "保温能达到二十个小时".
_LINK = re.compile(
    r"(?:是|为|有|在|能|可以|能够|达到|高达|长达|足足|大概|差不多|约|大约|的|都|也|就|含量|量|时长|时间"
    r"|期|的话|足|整整|只有|才|一般|电|用)*$"
)


def _said_before(word: str, before: str) -> bool:
    """``word`` ends ``before`` but for linking words (the name right before the number)."""
    at = before.rfind(word)
    return at >= 0 and bool(_LINK.fullmatch(before[at + len(word) :]))


def _named(claim: Claim, candidates: list[_Spec]) -> list[_Spec]:
    """The candidates whose name the host said next to the number (after it first)."""
    after, _, before = claim.context.partition("|")
    after_named = [s for s in candidates if any(w in after for w in s.words)]
    if after_named or (claim.unit == "%" and _MATERIAL.search(after[:4])):
        return after_named  # "百分之三十锦纶" is about 锦纶 even if 羊毛 was said before
    return [s for s in candidates if any(_said_before(w, before) for w in s.words)]


def _spec_target(claim: Claim, facts: _Facts, vocabulary: frozenset[str]) -> list[_Spec]:
    candidates = [s for s in facts.specs if s.kind == claim.unit]
    if not candidates:
        return []
    named = _named(claim, candidates)
    if named:
        return named
    if claim.unit in NAMED_KINDS or len(candidates) != 1:
        return []
    only = candidates[0]
    context = claim.context.replace("|", "")
    if any(w in context and w not in only.words for w in vocabulary):
        return []  # "五百克重" on a down coat is its weight, not its 充绒量
    return candidates


def _check_spec(claim: Claim, facts: _Facts, vocabulary: frozenset[str]) -> Misstatement | None:
    targets = _spec_target(claim, facts, vocabulary)
    if not targets or any(s.agrees(claim) for s in targets):
        return None
    spec = targets[0]
    said = claim.evidence
    return Misstatement(
        "specs", said, f"{spec.name}{spec.value}", claim.evidence,
        f"更正一下：这款{spec.name}是{spec.value}，不是{said}",
    )  # fmt: skip


def _check_price(claim: Claim, p: Product, facts: _Facts) -> Misstatement | None:
    if p.price is None or claim.low - 0.01 <= p.price <= claim.high + 0.01:
        return None
    if claim.unit == "per_jin" and not any(s.kind == "g" and s.high == 500 for s in facts.specs):
        return None  # a price per jin says nothing about a pack of another weight
    price = _num(p.price)
    if claim.low == 0:  # "不到五十块钱"
        said = f"不到{_num(claim.high)}"
        line = f"更正一下：这款直播间到手价是{price}元"
    else:
        said = (
            _num(claim.low) if claim.low == claim.high else f"{_num(claim.low)}-{_num(claim.high)}"
        )
        line = f"更正一下：这款直播间到手价是{price}元，不是{said}元"
    return Misstatement("price", said, price, claim.evidence, line)


def _check_free_shipping(claim: Claim, p: Product) -> Misstatement | None:
    if p.free_shipping is None or bool(claim.low) == p.free_shipping:
        return None
    line = (
        "更正一下：这款是包邮的" if p.free_shipping else "更正一下：这款不包邮，运费以下单页面为准"
    )
    said = "包邮" if claim.low else "不包邮"
    return Misstatement(
        "free_shipping", said, "包邮" if p.free_shipping else "不包邮", claim.evidence, line
    )


def _check_shipping(claim: Claim, p: Product) -> Misstatement | None:
    said = _hours(claim.high)
    ev = claim.evidence
    presale = p.presale_days
    if presale is not None:
        if claim.low <= presale * 24 <= claim.high:
            return None
        # "预售七天发" misstates the presale window; a bare "48小时发" the shipping time.
        field = "presale_days" if claim.unit == "presale" else "ship_within_hours"
        line = f"更正一下：这款是预售，付款后{presale}天内发货，不是{said}"
        return Misstatement(field, said, f"预售{presale}天", ev, line)
    w = p.ship_within_hours
    if claim.unit == "presale":
        expected = f"现货，{_hours(w)}内发货" if w is not None else "现货"
        line = (
            f"更正一下：这款不是预售，是现货，付款后{_hours(w)}内发货"
            if w
            else "更正一下：这款不是预售"
        )
        return Misstatement("presale_days", f"预售{said}", expected, ev, line)
    if w is None or claim.low <= w <= claim.high:
        return None
    return Misstatement(
        "ship_within_hours",
        said,
        _hours(w),
        ev,
        f"更正一下：这款付款后{_hours(w)}内发货，不是{said}",
    )


def _check_presale_status(claim: Claim, p: Product) -> Misstatement | None:
    presale = p.presale_days
    if claim.low == 0 and presale is not None:
        line = f"更正一下：这款是预售，付款后{presale}天内发货，不是现货"
        return Misstatement("presale_days", "现货", f"预售{presale}天", claim.evidence, line)
    if claim.low == 1 and presale is None:
        w = p.ship_within_hours
        tail = f"，付款后{_hours(w)}内发货" if w is not None else ""
        return Misstatement(
            "presale_days", "预售", "现货", claim.evidence, f"更正一下：这款不是预售，是现货{tail}"
        )
    return None


def _check_return(claim: Claim, p: Product) -> Misstatement | None:
    if p.seven_day_return is None or bool(claim.low) == p.seven_day_return:
        return None
    line = (
        "更正一下：这款支持七天无理由退货"
        if p.seven_day_return
        else "更正一下：这款不支持七天无理由退货，请家人们按需下单"
    )
    return Misstatement(
        "seven_day_return",
        "支持" if claim.low else "不支持",
        "支持" if p.seven_day_return else "不支持",
        claim.evidence,
        line,
    )


def _check_warranty(claim: Claim, p: Product) -> Misstatement | None:
    w = p.warranty_months
    if w is None and claim.high == 0:
        return None  # "不保修" of an item without a warranty
    if w is not None and claim.low <= w <= claim.high:
        return None
    said = _months(claim.high)
    if w is None:
        line = f"更正一下：这款没有{said}保修的承诺，以商品页为准"
        return Misstatement("warranty_months", said, "无保修承诺", claim.evidence, line)
    line = f"更正一下：这款保修{_months(w)}，不是{said}"
    return Misstatement("warranty_months", said, _months(w), claim.evidence, line)


class SpeechChecker:
    """Checks utterances against one catalog; build once per catalog (re)load."""

    def __init__(self, catalog: Catalog, compliance: ComplianceChecker | None = None) -> None:
        self.catalog = catalog
        self.compliance = compliance or ComplianceChecker()
        self._facts = {p.sku: _facts(p) for p in catalog}
        words: set[str] = set()
        for facts in self._facts.values():
            for spec in facts.specs:
                words |= spec.words
        for synonyms in _SPEC_SYNONYMS.values():
            words.update(synonyms)
        self._vocabulary = frozenset(words)

    def _check(self, claim: Claim, p: Product) -> Misstatement | None:
        f = claim.field
        facts = self._facts.get(p.sku) or _facts(p)
        if f == "price":
            return _check_price(claim, p, facts)
        if f == "free_shipping":
            return _check_free_shipping(claim, p)
        if f == "ship_within_hours":
            return _check_shipping(claim, p)
        if f == "presale_days":
            return _check_presale_status(claim, p)
        if f == "seven_day_return":
            return _check_return(claim, p)
        if f == "warranty_months":
            return _check_warranty(claim, p)
        if f == "gifts":
            return _check_gift(claim, facts, claim.evidence)
        return _check_spec(claim, facts, self._vocabulary)

    def check(self, text: str, sku: str | None) -> SpeechReport:
        """Misstatements against ``sku``'s entry (none without a known SKU) and banned terms."""
        text = text.strip()
        product = self.catalog.get(sku)
        found: list[Misstatement] = []
        if product is not None:
            fields: set[str] = set()
            for claim in extract(text):
                m = self._check(claim, product)
                if m is not None and m.field not in fields:
                    fields.add(m.field)  # one finding per field per utterance
                    found.append(m)
        return SpeechReport(found, self.compliance.check(text))
