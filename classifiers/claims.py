"""Claim extraction from ASR host speech: which catalog field the host states, and the value.

Every claim needs a field cue (到手价, 包邮, 小时内发, 保修, 送, a unit of measure…), so bare
numbers ("三号链接", "库存还剩两百单", "倒数十个数") never become claims. The extractors run
in a fixed order over one working copy of the utterance, and each blanks out the span it
claimed (``_Scan.take``), so a later extractor cannot read the same words again: the "九" of
"三十九块九五斤装" is price, which leaves "五斤" to the specs.

What a host says that is *not* a claim is as important as what is:

- denials and self-corrections: "不是九十九", "不是保修一年是保修两年";
- questions read out from the screen: "包不包邮", "能不能七天无理由", "包邮吗";
- reference prices and discounts: "原价一百二十九", "日常价", "领券再减十块", "满两百减二十",
  bundles ("两件一百五") and per-jin prices ("一斤算下来不到八块钱");
- heights and weights of viewers: "一米六的姐妹穿M码", "一百二十斤的宝宝穿L码";
- exceptions for remote regions: "新疆西藏不包邮";
- the other meanings of 送: "送人自吃都合适", "送货上门", "抽五个人送免单".

Values are normalised so the checker compares like with like: prices in yuan, shipping in
hours, warranty in months, specs in a base unit per quantity kind (``SPEC_KINDS``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from classifiers.numbers import NUM, RANGE, parse_number, parse_percent, parse_price, parse_range

__all__ = ["NAMED_KINDS", "SPEC_KINDS", "Claim", "extract", "prepare", "spec_value"]


@dataclass(frozen=True, slots=True)
class Claim:
    """One stated fact: field, value (low, high for ranges) and the evidence span.

    ``unit`` qualifies the value: for ``gifts`` the item named after 送, for ``specs`` the
    quantity kind, for ``ship_within_hours`` "presale" when the host said 预售, for ``price``
    "per_jin" for a price per 500 g, for ``presale_days`` "status" when the host only said 预售
    or 现货 (value 1 or 0). ``context`` holds, for specs, the words after and before the number
    ("after|before") that say which spec is meant; for gifts "before:…", the words before 送
    (the item of "小样送三个"), "buy" for "买一送一" (no item named) or "none" for "没有赠品".
    """

    field: str
    low: float
    high: float
    evidence: str
    unit: str = ""
    context: str = ""


_HOLE = "□"  # what a claimed span is blanked with; matches no pattern
_CN = "零一二两三四五六七八九十百千万"
_STOP = rf"\s{_HOLE}，。！？、,.!?；;：:"

# -- shared checks ----------------------------------------------------------------------------

_DENIED = re.compile(
    r"(?:不是|并非|而不是|并不是|可不是|不能保证|不保证|没法保证|无法保证|不一定|也不是)(?:说)?$"
)
_QUESTION_AFTER = re.compile(r"^(?:的)?(?:吗|嘛|么)")


def _denied(text: str, start: int) -> bool:
    return bool(_DENIED.search(text[max(0, start - 6) : start]))


def _asked(text: str, end: int) -> bool:
    return bool(_QUESTION_AFTER.match(text[end : end + 3]))


def _a_not_a(text: str, neg: int) -> bool:
    """True when the 不/没 at ``neg`` is the middle of an A-not-A question (包不包邮, 有没有)."""
    return 0 < neg < len(text) - 1 and text[neg - 1] == text[neg + 1]


class _Scan:
    """The utterance being read, with the spans already claimed blanked out."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.open = text  # ``text`` with claimed spans replaced by _HOLE, same length

    def take(self, start: int, end: int) -> None:
        """Blank out ``text[start:end]`` so no later extractor reads it."""
        self.open = self.open[:start] + _HOLE * (end - start) + self.open[end:]

    def before(self, start: int, size: int) -> str:
        """Up to ``size`` unclaimed characters before ``start``."""
        return self.open[max(0, start - size) : start]

    def after(self, end: int, size: int) -> str:
        """Up to ``size`` unclaimed characters from ``end``."""
        return self.open[end : end + size]


# -- free shipping ------------------------------------------------------------------------------

_FEE = r"(?:运费|邮费)(?!险)"
_FREE = re.compile(
    # denials and fees first: at a position the first alternative that matches wins
    rf"(?P<neg>不包邮|不是包邮|没有包邮|不能包邮|包邮不了|不给包邮"
    rf"|(?:要|需要|得|加|另付|另加|补|收|有|付|还要|自己出|自己付|自付)(?:一点|点)?{_FEE}"
    rf"|{_FEE}[^{_STOP}]{{0,5}}?(?:自理|自付|自己出|自己付|自己承担|买家承担|买家出|到付|另算|另付|另外付|需要自己)"
    rf"|{NUM}(?:块钱|元钱|块|元)(?:的)?{_FEE}"
    rf"|{_FEE}(?:是|要|收|得)?{NUM}(?:块钱|元钱|块|元))"
    rf"|(?P<pos>包邮|免邮|免运费|免邮费|免费包邮|运费全免"
    rf"|(?:不用|不要|不|无需|不需要|没有|免)(?:另外?|额外|再)?(?:收|加|要|出|付|掏|补)?(?:你们|大家|您)?(?:一分钱?)?{_FEE}"
    rf"|{_FEE}(?:是)?(?:我们|商家|店铺|主播|这边|咱们)(?:来)?(?:出|承担|包|付))"
)
_REMOTE = re.compile(r"偏远|新疆|西藏|港澳台|海外|青海|内蒙|宁夏|甘肃|海南|部分地区|个别地区|乡镇")
_CONDITIONAL_FREE = re.compile(rf"(?:满[^{_STOP}]{{1,6}}|[两二三四五2-5](?:件|单|箱|瓶|个|盒))$")


def _free_shipping(scan: _Scan, out: list[Claim]) -> None:
    text = scan.text
    for m in _FREE.finditer(scan.open):
        if _asked(text, m.end()) or (m["neg"] and _a_not_a(text, m.start())):
            continue
        if m["neg"]:
            if _REMOTE.search(scan.before(m.start(), 10)):
                continue  # "新疆西藏不包邮" is an exception, not the rule
            out.append(Claim("free_shipping", 0, 0, m[0]))
        else:
            if _CONDITIONAL_FREE.search(scan.before(m.start(), 8)) or _denied(text, m.start()):
                continue  # "满两件包邮" promises nothing about one
            out.append(Claim("free_shipping", 1, 1, m[0]))
        scan.take(m.start(), m.end())


# -- gifts --------------------------------------------------------------------------------------

_CLASSIFIER = "个支瓶片盒件只包套张本把双条袋罐根对副份块台顶枚颗粒贴管桶箱串束斤"
_GIFT_VERB = (
    r"(?:加赠|附赠|另赠|再赠|赠送|随单赠|随单送|加送|再送|还送|另送|额外送|额外赠送|多送|免费送"
    r"|送的(?:是|就是)|送|赠(?!品)|赠品(?:是|有|为|就是|包括))"
)
_RECIPIENT = r"(?:给)?(?:大家|你们|家人们|宝宝们|姐妹们|您|你|每位|每个人|每一位)?"
_GIFT = re.compile(
    rf"(?<![欢护运发传递输配寄接押葬断目])(?P<verb>{_GIFT_VERB}){_RECIPIENT}"
    rf"(?:价值[^的{_STOP}]{{1,8}}的)?"
    rf"(?:(?P<n>{NUM})(?P<cls>[{_CLASSIFIER}]))?"
    # the item is only looked at, so the next 送 in "送五十张烘焙纸还送一本食谱" is found too
    rf"(?=(?P<item>[^{_STOP}]{{0,10}}))"
)
_GIFT_MORE = re.compile(
    rf"(?:再加|外加|加上|加|和|跟|以及|还有|另外)?(?P<n>{NUM})(?P<cls>[{_CLASSIFIER}])(?P<item>[^{_STOP}]{{1,8}})"
)
# "买一送一": the same item again, said without classifiers. "拍一发三" counts everything in the
# parcel, which the host then lists ("正装加两个小样"), so it is read as no claim.
_BUY_N_GET = re.compile(
    rf"(?:买|拍)(?P<a>[一二两三四五1-5])(?P<v>送|发|赠)(?P<b>[一二两三四五1-5])(?![{_CLASSIFIER}])"
)
_NO_GIFT = re.compile(r"(?:没有|没|不送|无)赠品|赠品(?:是)?没有")
_GIFT_DENIED = re.compile(r"(?:不|没|没有|不会)(?:再|额外)?$")
_PER_BUY = re.compile(rf"(?:拍|买|下单|下)(?P<n>{NUM})(?:[{_CLASSIFIER}]|单)[^{_STOP}]{{0,3}}$")
# After a bare 送: someone it is given to, or another verb ("送人", "送到家", "送完了").
_NOT_A_GIFT = re.compile(
    r"^(?:人|礼(?![盒包品袋卡])|给|到|货|达|出|上门|回|走|妈|爸|老公|老婆|老人|老师|男|女|闺|朋友|长辈"
    r"|同事|孩子|小孩|自己|领导|客户|爱人|对象|家人|亲戚|上车|完|光|什么|啥|随机|有限|数量|的是|都|也|会)"
)
# Never a gift with the purchase, counted or not ("送大家一个福利", "送运费险").
_NOT_AN_ITEM = re.compile(
    r"^(?:运费险|关注|小心心|赞|灯牌|粉丝灯牌|福袋|免单|钱|福利|惊喜|优惠|红包|券|优惠券|折扣|祝福|好运|心意"
    r"|一波|波|月|天|年|周|星期|小时|分钟|次|号|点)"
)
_LOTTERY = re.compile(r"抽|福袋|免单|点赞|转发|中奖")
_LEAD_WORDS = re.compile(
    rf"^(?:精美的?|同款的?|超值的?|漂亮的?|可爱的?|超大的?|大号的?|小号的?|定制的?|专属的?|限量的?"
    rf"|一整套|{NUM}(?:克|g|毫升|ml)的?)"
)
_ITEM_END = re.compile(
    rf"的宝宝|哦|啊|呀|吧|哈|呢|啦|了|和|跟|加|还|以及|再|前|给|等|都|就|喜欢|拍|下单|家人|宝宝|姐妹"
    rf"|倒数|库存|链接|只要|到手|也|一起|随|价值|给你|这个|那个|点个|扣|关注|销量|效果|质量|国家|行业|史上"
    rf"|全网|唯一|独家|最|第一|顶级|绝对|后台|还剩|每|限购|一人|id|ID|[{_CN}0-9×*]|x(?=[0-9])"
)
_ITEM_COUNT_AFTER = re.compile(
    rf"(?P<n>{NUM})(?P<cls>[{_CLASSIFIER}])|(?:[×*]|x(?=[0-9]))(?P<n2>{NUM})"
)


_LONGEST_ITEM = 6


def _item(raw: str) -> tuple[int, str]:
    """(offset, item) of the gift named at the start of ``raw``: adjectives skipped, cut before
    the next phrase."""
    lead = _LEAD_WORDS.match(raw)
    skip = lead.end() if lead else 0
    cut = _ITEM_END.search(raw, skip)
    return skip, raw[skip : cut.start() if cut else len(raw)]


def _per_unit(scan: _Scan, start: int) -> float:
    """2 for "拍两支送六个小样": gifts are compared per unit bought."""
    m = _PER_BUY.search(scan.before(start, 10))
    n = parse_number(m["n"]) if m else None
    return n if n and n > 1 else 1.0


def _gift_claim(scan: _Scan, m: re.Match[str], out: list[Claim]) -> int:
    """Add the gift of one 送 match; returns where its span ends (0 when it is no gift)."""
    skip, item = _item(m["item"])
    item_start = m.start("item") + skip
    end = item_start + len(item)
    count = parse_number(m["n"]) if m["n"] else None
    if _NOT_AN_ITEM.match(item) or (count is None and _NOT_A_GIFT.match(m["item"])):
        return 0
    if len(item) > _LONGEST_ITEM:
        item = item[:_LONGEST_ITEM]  # more words than a gift's name; no count after it either
        end = item_start + len(item)
    elif count is None:
        after = _ITEM_COUNT_AFTER.match(scan.open, end)  # "送同款小样三个"
        if after is not None:
            count, end = parse_number(after["n"] or after["n2"]), after.end()
    if count is None and len(item) < 2:
        return 0
    # "刀头送一个", "小样送三个小黄车一号": the item may have been said before the verb
    before = scan.before(m.start(), 4).strip(_HOLE + " ") if count is not None else ""
    value = (count or 0.0) / _per_unit(scan, m.start())
    end = max(end, m.end())
    out.append(Claim("gifts", value, value, scan.text[m.start() : end], item, f"before:{before}"))
    return end


def _gifts(scan: _Scan, out: list[Claim]) -> None:
    for m in _BUY_N_GET.finditer(scan.open):
        a, b = parse_number(m["a"]), parse_number(m["b"])
        denied = _denied(scan.text, m.start()) or _GIFT_DENIED.search(scan.before(m.start(), 3))
        if a and b and m["v"] != "发" and not denied:
            out.append(Claim("gifts", b / a, b / a, m[0], "", "buy"))
        scan.take(m.start(), m.end())
    for m in _NO_GIFT.finditer(scan.open):
        out.append(Claim("gifts", 0, 0, m[0], "", "none"))
        scan.take(m.start(), m.end())
    for m in _GIFT.finditer(scan.open):
        if _LOTTERY.search(scan.before(m.start(), 10)) or _GIFT_DENIED.search(
            scan.before(m.start(), 3)
        ):
            continue  # giveaways in a draw are not gifts with the purchase
        end = _gift_claim(scan, m, out)
        if not end:
            continue
        scan.take(m.start(), end)
        while more := _GIFT_MORE.match(scan.open, end):  # "送三个小样加一个洁面"
            skip, item = _item(more["item"])
            n = parse_number(more["n"])
            if len(item) < 2 or n is None or _NOT_AN_ITEM.match(item):
                break  # "送一个刀头一个月就换" goes on about something else
            value = n / _per_unit(scan, m.start())
            stop = more.start("item") + skip + len(item)
            out.append(Claim("gifts", value, value, scan.text[more.start() : stop], item))
            scan.take(end, stop)
            end = stop


# -- shipping time and presale -------------------------------------------------------------------

_T_UNIT = r"(?P<u>小时|钟头|个?工作日|天|日|周|星期|礼拜|月)"
_T_HOURS = {"小时": 1.0, "钟头": 1.0, "天": 24.0, "日": 24.0, "周": 168.0, "星期": 168.0,
            "礼拜": 168.0, "月": 720.0}  # fmt: skip
# 发 of 发福利, 发红包, 发现… is not shipping
_NOT_SHIPPING = "(?!福利|红包|券|奖|布|财|现|言|型|票|表|起|放|声|光|热|烧|育|展|明)"
_SHIP_GAP = r"[就会都必给大家你们您安排陆续全部尽快肯定一定可以能马上统一为帮咱我的就]{0,8}"
_SHIP = re.compile(
    rf"(?:预售(?:期|款|的)?(?:是|只有|大概|需要|要)?)?(?:付款|下单|拍下)?(?:后|之后)?"
    rf"(?P<r>{RANGE}|半)(?:个)?(?P<half>半)?{_T_UNIT}(?:之内|以内|内|左右|之间)?(?:就)?"
    rf"{_SHIP_GAP}(?:发货|发出|发走|寄出|出库|发{_NOT_SHIPPING})"
    rf"|发货(?:时间|时效)?(?:是|在|的话是|会在|一般是|一般在|大概是|大概在|都是|都在)?"
    rf"(?:下单|付款|拍下)?(?:后|之后)?(?P<r2>{RANGE}|半)(?:个)?(?P<half2>半)?(?P<u2>小时|钟头|个?工作日|天|日|周|星期|礼拜)"
)
# "用三个月发顺丰" names the courier; only "三天内发顺丰" (with 内) is a shipping time.
_COURIER = re.compile(r"顺丰|中通|圆通|韵达|申通|京东|邮政|ems|快递|极兔", re.IGNORECASE)
_PRESALE_DAYS = re.compile(
    rf"预售(?:期|款|的)?(?:是|只有|大概|需要|要|为|等|要等|需要等|得等|大概等)?(?P<r>{RANGE}|半)(?:个)?(?P<half>半)?{_T_UNIT}"
)
_SAME_DAY = re.compile(
    r"(?:今天|当天)(?:下单|拍|拍下|买)?(?:的)?(?:今天|当天)(?:就)?(?:能|会|可以)?(?:给大家|给你们)?(?:发|寄)"
    r"|今天就(?:能|会|可以)?(?:给大家|给你们)?(?:发|寄)出?"
    rf"|当天(?:就)?(?:给大家|给你们)?发{_NOT_SHIPPING}|当日(?:就)?发"
    r"|(?:现货)?(?<![0-9零一二两三四五六七八九十])秒发"
)
_NEXT_DAY = re.compile(
    rf"(?:次日|隔天|明天|第二天)(?:就)?(?:能|会|可以)?(?:给大家|给你们)?(?:发|寄){_NOT_SHIPPING}"
)
_PRESALE_WORD = re.compile(r"(?P<neg>不是|并非|没有|不用|不需要|无需|不|非)?预售")
_IN_STOCK = re.compile(r"(?P<neg>不是|并非|没有|非|不)?现货")


def _hours(m: re.Match[str], r: str, half: str, unit: str) -> tuple[float, float] | None:
    span = (0.5, 0.5) if m[r] == "半" else parse_range(m[r])
    if span is None:
        return None
    extra = 0.5 if m[half] else 0.0
    scale = _T_HOURS[unit.removeprefix("个").replace("工作日", "天")]
    return ((span[0] + extra) * scale, (span[1] + extra) * scale)


def _presale_said(text: str) -> bool:
    return any(not m["neg"] and not _a_not_a(text, m.start()) for m in _PRESALE_WORD.finditer(text))


def _shipping(scan: _Scan, out: list[Claim]) -> None:
    text = scan.text
    presale = "presale" if _presale_said(text) else ""
    found = False
    for m in _SHIP.finditer(scan.open):
        unit = m["u"] or m["u2"]
        span = _hours(m, "r", "half", unit) if m["r"] else _hours(m, "r2", "half2", unit)
        if span is None or _denied(text, m.start()) or _asked(text, m.end()):
            continue
        if m[0].endswith("发") and "内" not in m[0] and _COURIER.match(scan.after(m.end(), 3)):
            continue
        said_presale = "presale" if m[0].startswith("预售") else presale
        out.append(Claim("ship_within_hours", span[0], span[1], m[0], said_presale))
        scan.take(m.start(), m.end())
        found = True
    for m in _PRESALE_DAYS.finditer(scan.open):
        span = _hours(m, "r", "half", m["u"])
        if span is None or _denied(text, m.start()):
            continue
        out.append(Claim("ship_within_hours", span[0], span[1], m[0], "presale"))
        scan.take(m.start(), m.end())
        found = True
    for pattern, high in ((_SAME_DAY, 24.0), (_NEXT_DAY, 48.0)):  # 次日发: within 24 to 48 h
        for m in pattern.finditer(scan.open):
            if _denied(text, m.start()) or _asked(text, m.end()):
                continue
            out.append(Claim("ship_within_hours", 24.0, high, m[0], presale))
            scan.take(m.start(), m.end())
            found = True
    if not found:
        _presale_status(scan, out)


def _presale_status(scan: _Scan, out: list[Claim]) -> None:
    """预售 / 现货 said without a time: the item is (not) a presale."""
    text = scan.text
    for pattern, value in ((_PRESALE_WORD, 1.0), (_IN_STOCK, 0.0)):
        for m in pattern.finditer(scan.open):
            if _a_not_a(text, m.start()) or _asked(text, m.end()) or _denied(text, m.start()):
                continue
            said = 1.0 - value if m["neg"] else value
            out.append(Claim("presale_days", said, said, m[0], "status"))
            return


# -- seven-day return ---------------------------------------------------------------------------

_RETURN = re.compile(
    rf"(?P<n>{NUM})天(?:内)?(?:的)?(?:无理由|无忧|包退|包换|可退|可以退|能退|随便退|退换)"
    rf"(?:退换货|退货|退换|退款|退)?(?:服务)?|无理由退(?:换货|换|货|款)?"
    r"|不满意(?:的话)?(?:就|直接|随时|可以|都可以|也可以)*(?:包退|退货|退换|退)"
)
_RETURN_NEG_BEFORE = re.compile(
    r"(?:不支持|不能|没有|不享受|不参与|不参加|不提供|不可以|不适用|无法|没法|没办法|不给|不做|不是|不走|不)"
    r"(?:享受|参与|参加|支持|申请|做|走|用)?$"
)
_RETURN_ASKED_BEFORE = re.compile(
    r"(?:能不能|支不支持|有没有|是不是|可不可以|可以不可以|支持不支持|享不享受)(?:享受|参与|参加|支持|申请|做|走|用)?$"
)
_RETURN_NEG_AFTER = re.compile(
    r"^(?:退换货|退货|退换|退款)?(?:的话|这个|服务|呢|哈|啊|呀|哦|这款|我们|这边|咱们|的|就|也|都|是|这一块|方面){0,3}"
    r"(?:不支持|不能|没有(?!问题)|不行|不可以|不享受|不参与|不提供|用不了|不适用|不包括|不可|不接受|不给|做不了|退不了"
    r"|没办法|没法)"
)
_NO_RETURN = re.compile(
    r"不退不换|概不退换|不支持退换|不支持退货|不接受退换|不予退换|不退换的|不可退换"
)
_CONDITION = re.compile(r"拆|用过|打开|剪|使用|人为|洗过|穿过|影响二次|刻字以后|定制以后")


def _seven_day_return(scan: _Scan, out: list[Claim]) -> None:
    text = scan.text
    for m in _RETURN.finditer(scan.open):
        before = scan.before(m.start(), 8)
        if _RETURN_ASKED_BEFORE.search(before) or _asked(text, m.end()):
            scan.take(m.start(), m.end())
            continue
        negative = bool(_RETURN_NEG_BEFORE.search(before)) or bool(
            _RETURN_NEG_AFTER.match(scan.after(m.end(), 12))
        )
        if negative and _CONDITION.search(before):
            scan.take(m.start(), m.end())
            continue  # "拆封了不支持七天无理由" is the usual rule of a returnable item
        out.append(Claim("seven_day_return", 0 if negative else 1, 0 if negative else 1, m[0]))
        scan.take(m.start(), m.end())
    for m in _NO_RETURN.finditer(scan.open):
        if _CONDITION.search(scan.before(m.start(), 8)):
            continue  # "拆封了就不退不换" is the usual rule of a returnable item
        out.append(Claim("seven_day_return", 0, 0, m[0]))
        scan.take(m.start(), m.end())


# -- warranty -----------------------------------------------------------------------------------

_DURATION = rf"(?P<n>{RANGE}|半)(?:个)?(?P<half>半)?(?:个)?(?P<u>年|月)(?P<half2>半)?"
_WARRANTY = re.compile(
    rf"(?:整机|主机|电机|官方|全国|免费)?(?:保修|质保|包修|联保|保固)(?:期|时间)?"
    rf"(?:的话|都|就|也)?(?:是|有|长达|足足|高达|就是|给到|给|整整|为|达|可以到|到|大家|你们){{0,2}}{_DURATION}"
    rf"|{_DURATION.replace('?P<', '?P<b_')}(?:的)?(?:免费)?(?:保修|质保|包修|联保|只换不修|保固)"
    rf"|(?<![确担环])保(?P<c_n>{RANGE})(?:个)?(?P<c_u>年|月)"
    rf"|(?P<life>终身)(?:免费)?(?:保修|质保|维修|包修)"
    rf"|(?P<none>不保修|没有保修|不提供保修|不支持保修|无保修|不质保|不包修)"
)


def _months(m: re.Match[str], p: str) -> tuple[float, float] | None:
    n = m[f"{p}n"]
    span = (0.5, 0.5) if n == "半" else parse_range(n)
    if span is None:
        return None
    half = 0.5 if (m.groupdict().get(f"{p}half") or m.groupdict().get(f"{p}half2")) else 0.0
    scale = 12.0 if m[f"{p}u"] == "年" else 1.0
    return ((span[0] + half) * scale, (span[1] + half) * scale)


def _warranty(scan: _Scan, out: list[Claim]) -> None:
    text = scan.text
    for m in _WARRANTY.finditer(scan.open):
        if _denied(text, m.start()) or _asked(text, m.end()) or text[: m.start()].endswith("没有"):
            scan.take(m.start(), m.end())
            continue  # "不是保修一年", "没有三年保修"
        if m["life"]:
            span: tuple[float, float] | None = (1200.0, 1200.0)
        elif m["none"]:
            span = (0.0, 0.0)
        else:
            prefix = "" if m["n"] else ("b_" if m["b_n"] else "c_")
            span = _months(m, prefix)
        if span is None:
            continue
        out.append(Claim("warranty_months", span[0], span[1], m[0]))
        scan.take(m.start(), m.end())


# -- price --------------------------------------------------------------------------------------

_CUR = r"(?:块钱|元钱|块|元|米|rmb)"
_FRACTION = (
    r"(?:(?<=[块米])(?P<f>[0-9一二三四五六七八九])"
    r"(?![个件支瓶箱盒台套只斤克张袋片份双条块元百十千万0-9天号年月周分秒日位名人]|包(?!邮)|小时"
    r"|点(?:整|半|钟|准时|开|下播|前|后|左右|多|以|之|到|见|上)))?"
)
_NOT_BARE = (
    rf"(?![{_CN}0-9.个号单天年月分秒毫克斤瓦转次件支瓶箱盒台套只张位度名升码岁%米寸份袋片颗粒条双倍折周期"
    rf"档层组罐枚人多块元a-z]|包(?!邮)|左右|小时)"
)
_CUE = (
    r"(?:(?:到手|直播间|直播|活动|秒杀|福利|专享|特惠|优惠|限时|宠粉|粉丝|团购|折后|券后|一口|首发|新人|会员)*"
    r"价格?|价钱|到手|券后|折后|给到(?:大家|你们)?|(?:破价|直降|降|打|做|低|砍|杀)(?:到|至)"
    r"|只要|只需要?|仅需|仅要|仅售|只卖|就卖|才卖|卖|统统|通通|一律|拍下|拍到手|入手|实付|秒杀)"
)
_FILL = r"(?:是|就是|就|只要|只需要?|也就|才|仅|都|也|直接|统一|一律|给到|给大家|给你们|都是|只)?(?:只要|才|仅需)?"
_PRICE = re.compile(
    # cue + number (currency optional): "到手价六十九", "直播间专享价八十九", "拍下只需要三百二十九"
    rf"(?P<cue>{_CUE}){_FILL}(?P<w1>{NUM})(?:(?P<c1>{_CUR}){_FRACTION.replace('<f>', '<f1>')}|{_NOT_BARE})"
    # number + currency: "六十九块钱", "三十九块九", "九十九米"
    rf"|(?P<w2>{NUM})(?P<c2>{_CUR}){_FRACTION.replace('<f>', '<f2>')}"
    # number + "to your hands" words: "六十九包邮", "一百八十九带回家", "两百五十九一件"
    rf"|(?P<w3>{NUM})(?=\s?(?:包邮|到手|带回家|带走|拿走|拿下|秒杀|入手|一(?:件|支|瓶|箱|台|只|盒|套|袋)(?:$|[^{_CN}0-9])))"
    # weak cues and "一件…": only a number that ends the phrase
    rf"|(?P<weak>今天|现在|直播间|这里|这边|直接|一(?:件|支|瓶|箱|台|只|盒|套|个|袋|份|罐|单))"
    rf"(?:也就|只要|才|就|是|都是){{0,2}}(?P<w4>{NUM}){_NOT_BARE}(?!号|的|点(?![个点赞关]))"
    # a self-correction: "不是七十九是六十九"
    rf"|不是{NUM}(?:{_CUR})?(?:而)?是(?P<w5>{NUM})(?P<c5>{_CUR})?{_NOT_BARE}",
    re.IGNORECASE,
)
_UPPER_BOUND = re.compile(
    rf"(?:不到|不超过|不用|还不到|都不到|没到|没有)(?P<w>{NUM})(?P<c>{_CUR})(?:钱)?"
    rf"|(?P<w2>{NUM})(?P<c2>{_CUR})(?:钱)?(?:都不到|不到|以内|以下)"
)
_REFERENCE = re.compile(
    r"(?:原价|原来|日常|平时|平常|专柜|市场|吊牌|零售|建议零售|官方|官网|门店|线下|正常|旗舰店|超市|别家"
    r"|别人家|外面|之前|以前|上次|昨天|去年|划线|标价|价值|定金|订金|尾款|运费|邮费|第二件|第二份|第二单|第二个"
    r"|平台|店铺|店里|专卖店|商场|品牌|不要|单买|单独买|一两|平均|算下来|相当于|合下来|折合|一天|每天|某宝|某东|天猫|京东|淘宝)"
    r"(?:的)?(?:价格?|价钱|卖价|售价)?(?:是|要|都要|就要|卖|得|都|也|卖到|卖的|都是|也要|也就|就|才|只要|只有"
    r"|大概|差不多)?(?:卖|要)?$"
)
# "一斤只要四十九": a price per 500 g, which only a one-jin product can be held to.
_PER_JIN = re.compile(r"(?:一斤|每斤|1斤)(?!装)")
_DISCOUNT = re.compile(
    r"(?:减|省|券|优惠|便宜|差价|红包|立减|直降|降|满|返|补贴|加|贵|多花|少|抵|抵扣|退|补|送|赠|领|再减|立省"
    r"|打|扣|涨|贵了|多了|少了)(?:了|掉|你|大家|您)?$"
)
_BUNDLE = re.compile(
    r"(?:[两二三四五六七八九十2-9]|[1-9][0-9])(?:件|瓶|支|箱|盒|套|个|只|单|份|台|袋|罐|斤|包)"
    r"(?:一起|加起来|总共|一共)?(?:拍)?(?:的话)?(?:只要|才|就|一共|总共|到手)?$"
)
_COUPON_AFTER = re.compile(
    r"^(?:的)?(?:券|优惠券|红包|无门槛|差价|定金|订金|运费(?!险)|邮费|优惠|补贴|津贴|左右|上下|价位|档|起步|起"
    r"|都买不到|买不到|都拿不下|拿不下)"
)
# 块 is also a classifier ("一块香皂"): a small number of 块 must be followed by price words.
_AFTER_SMALL_KUAI = re.compile(
    rf"^(?:$|[^\u4e00-\u9fa5]|[钱的包到一啊呀哦吧了哈呢嘛啦就还买拍带抢入秒起左多而都也真{_HOLE}])"
)
# 米 is slang for 元 but also metres: "一米六的姐妹", "两米的床".
_HEIGHT_BEFORE = re.compile(r"(?:身高|高|长|宽|个子|个头|腰围|胸围)$")
_HEIGHT_AFTER = re.compile(
    rf"^(?:[{_CN}0-9]|高|长|宽|的(?:床|个子|身高|姐妹|宝宝|男生|女生|妹子|小姐姐)|以上|以下|左右|多)"
)


def _price_value(m: re.Match[str]) -> tuple[float, float, str, str] | None:
    """(low, high, currency word, number as said) of one _PRICE match."""
    for i in "12345":
        whole = m.groupdict().get(f"w{i}")
        if whole:
            cur = m.groupdict().get(f"c{i}") or ""
            fraction = m.groupdict().get(f"f{i}")
            span = parse_range(whole) if not fraction else None  # "七八块钱" is 7 to 8
            if span is not None and span[0] != span[1]:
                return span[0], span[1], cur, whole
            value = parse_price(whole, fraction)
            return None if value is None else (value, value, cur, whole)
    return None


def _currency_ok(scan: _Scan, m: re.Match[str], value: float, cur: str) -> bool:
    """False when 块 counts things or 米 measures someone."""
    end = m.end()
    if cur == "块" and value <= 20 and not m.groupdict().get("f2") and not m.groupdict().get("f1"):
        return bool(_AFTER_SMALL_KUAI.match(scan.after(end, 1)))
    if cur.lower() == "米":
        start = m.start("w2") if m["w2"] else m.start()
        if value < 5 or _HEIGHT_BEFORE.search(scan.before(start, 4)):
            return False
        return not _HEIGHT_AFTER.match(scan.after(end, 4))
    return True


def _price_excluded(scan: _Scan, m: re.Match[str], number_start: int) -> bool:
    before_number = scan.before(number_start, 8)
    before_match = scan.before(m.start(), 8)
    text = scan.text
    return (
        bool(_REFERENCE.search(before_match) or _REFERENCE.search(before_number))
        or bool(
            _DISCOUNT.search(before_number) or (_DISCOUNT.search(before_match) and not m["cue"])
        )
        or bool(_BUNDLE.search(before_match))
        or bool(_COUPON_AFTER.match(scan.after(m.end(), 3)))
        or _denied(text, m.start())
        or _asked(text, m.end())
    )


def _price(scan: _Scan, out: list[Claim]) -> None:
    text = scan.text
    for m in _UPPER_BOUND.finditer(scan.open):
        value = parse_number(m["w"] or m["w2"])
        before = scan.before(m.start(), 8)
        if (
            value is None
            or _denied(text, m.start())
            or (_REFERENCE.search(before) and not _PER_JIN.search(before))
        ):
            continue
        per_jin = bool(_PER_JIN.search(scan.text[max(0, m.start() - 10) : m.start()]))
        out.append(Claim("price", 0, value, m[0], "per_jin" if per_jin else "upper"))
        scan.take(m.start(), m.end())
    for m in _PRICE.finditer(scan.open):
        found = _price_value(m)
        if found is None:
            continue
        low, high, cur, whole = found
        number_start = m.start() + m[0].find(whole)
        if low <= 0 or not _currency_ok(scan, m, low, cur):
            continue
        if _price_excluded(scan, m, number_start):
            continue
        per_jin = bool(_PER_JIN.search(scan.text[max(0, number_start - 10) : number_start]))
        out.append(Claim("price", low, high, m[0], "per_jin" if per_jin else ""))
        scan.take(m.start(), m.end())


# -- specs --------------------------------------------------------------------------------------

# unit → (quantity kind, factor to the kind's base unit)
SPEC_KINDS: dict[str, tuple[str, float]] = {
    "毫克": ("g", 0.001), "mg": ("g", 0.001), "千克": ("g", 1000.0), "kg": ("g", 1000.0),
    "公斤": ("g", 1000.0), "斤": ("g", 500.0), "克": ("g", 1.0), "g": ("g", 1.0),
    "毫升": ("ml", 1.0), "ml": ("ml", 1.0), "升": ("ml", 1000.0), "l": ("ml", 1000.0),
    "千瓦": ("w", 1000.0), "kw": ("w", 1000.0), "瓦": ("w", 1.0), "w": ("w", 1.0),
    "毫米": ("mm", 1.0), "mm": ("mm", 1.0), "厘米": ("mm", 10.0), "cm": ("mm", 10.0),
    "公分": ("mm", 10.0), "米": ("m", 1.0),
    "毫安时": ("mah", 1.0), "毫安": ("mah", 1.0), "mah": ("mah", 1.0),
    "英寸": ("inch", 1.0), "寸": ("inch", 1.0),
    "万转": ("rpm", 10000.0), "转": ("rpm", 1.0),
    "摄氏度": ("c", 1.0), "℃": ("c", 1.0), "度": ("c", 1.0),
    "小时": ("day", 1 / 24), "天": ("day", 1.0), "日": ("day", 1.0), "周": ("day", 7.0),
    "星期": ("day", 7.0), "个月": ("day", 30.0), "月": ("day", 30.0), "年": ("day", 365.0),
}  # fmt: skip
# Kinds a bare unit is not enough for: durations, temperatures, metres and shares of a material
# are everywhere in speech, so the claim needs the spec's name next to it ("续航", "含绒量").
NAMED_KINDS = frozenset({"day", "c", "%", "m"})
_UNITS = "|".join(sorted((re.escape(u) for u in SPEC_KINDS), key=len, reverse=True))
_SPEC = re.compile(
    rf"(?P<n>{RANGE}|半)(?P<half>半)?(?:个)?(?P<u>{_UNITS})(?![a-z])(?P<half2>半)?"
    rf"|(?P<hundred>百分百|百分之百)|百分之(?P<p>{NUM})|(?P<p2>[0-9]+(?:\.[0-9]+)?)%"
    rf"|(?:含绒量|绒子含量|含量|含绒)(?:是|高达|达到|有|足足|为|在)?(?P<p3>{NUM})(?![{_CN}0-9a-z%分])"
    rf"|(?P<p4>{NUM})(?P<tenths>成)?(?:的)?(?=(?:羊毛|羊绒|山羊绒|棉|桑蚕丝|真丝|白鸭绒|白鹅绒|鸭绒|鹅绒)(?:含量)?)"
    rf"|(?P<pure>纯|全)(?P<mat>[\u4e00-\u9fa5]{{1,3}})"
    rf"|ip(?P<ip>[x0-9零一二三四五六七八九][0-9零一二三四五六七八九])"
    rf"|(?P<fine>(?:s|足银|纯银|银|足金|千足金|黄金|金)(?:9999|999|990|925|九九九九|九九九|九九零|九二五)"
    rf"|(?:9999|999|990|925|九九九九|九九九|九九零|九二五)(?:足银|纯银|银|足金|金))"
    rf"|(?P<steel>304|316|201|三零四|三一六|二零一)(?:医用级|食品级|级)?(?:的)?不锈钢",
    re.IGNORECASE,
)
# Counts per pack ("一盒十片", "十片一盒", "十片装"): the pack word is what makes them a spec,
# since "三个", "两支" alone are everywhere in speech.
_COUNT_UNITS = "片抽枚颗粒包袋支瓶盒罐个只"
_PACKS = "盒箱袋包罐提瓶套"
_COUNT_SPEC = re.compile(
    rf"(?:一|每)(?P<pack>[{_PACKS}])(?:有|是|里面有?|里|装|共|一共)?(?:大概|差不多|足足|整整)?"
    rf"(?P<n>{RANGE})(?P<u>[{_COUNT_UNITS}])"
    rf"|(?P<n2>{RANGE})(?P<u2>[{_COUNT_UNITS}])(?:一|每|/)(?P<pack2>[{_PACKS}])"
    rf"|(?P<n3>{RANGE})(?P<u3>[{_COUNT_UNITS}])装"
)
_SIZE = r"(?:xxxxl|xxxl|xxl|[2-5]xl|xl|xs|s|m|l)"
_SIZE_CLAIM = re.compile(
    rf"(?<![a-z])(?P<a>{_SIZE})码?(?:到|至|-|~)(?P<b>{_SIZE})(?![a-z])"
    rf"|最大(?:码|号|的|码数|尺码)?(?:是|到|有|可以到|能到|能穿)?(?P<max>{_SIZE})(?![a-z])"
    rf"|最小(?:码|号|的|码数|尺码)?(?:是|到|有|从)?(?P<min>{_SIZE})(?![a-z])",
    re.IGNORECASE,
)
SIZES = {"xs": 1, "s": 2, "m": 3, "l": 4, "xl": 5, "xxl": 6, "2xl": 6, "xxxl": 7, "3xl": 7,
         "xxxxl": 8, "4xl": 8, "5xl": 9}  # fmt: skip
_BODY_AFTER = re.compile(
    r"^(?:的)?(?:宝宝|姐妹|女生|男生|妹子|小姐姐|人|朋友|胖|瘦|体重|左右|以内|以下|以上|上下|也|都|穿|可以穿|能穿|内)"
)
_BODY_BEFORE = re.compile(r"体重|身高|我(?![们家])|个子|胖|瘦|穿")
_GIFT_BEFORE = re.compile(r"[送赠]")
_FINENESS = re.compile(r"9999|999|990|925|九九九九|九九九|九九零|九二五")
_FINE_VALUE = {"九九九九": 9999.0, "九九九": 999.0, "九九零": 990.0, "九二五": 925.0}
_STEEL_VALUE = {"三零四": 304.0, "三一六": 316.0, "二零一": 201.0}
_CONTEXT_CUT = re.compile(rf"[{_STOP}]|加|和|跟|以及|还有")


def _context(scan: _Scan, start: int, end: int) -> str:
    """ "after|before": the words around a number, up to a pause, a claimed span or 和/加, that
    say what is measured."""
    after = scan.after(end, 6).removeprefix("的")
    cut = _CONTEXT_CUT.search(after)
    after = after[: cut.start()] if cut else after
    before = scan.before(start, 8)
    cuts = list(_CONTEXT_CUT.finditer(before))
    before = before[cuts[-1].end() :] if cuts else before
    return f"{after}|{before}"


def _spec_value(m: re.Match[str]) -> tuple[str, float, float] | None:
    """(kind, low, high) of one _SPEC match."""
    if m["u"]:
        kind, factor = SPEC_KINDS[m["u"].lower()]
        span = (0.5, 0.5) if m["n"] == "半" else parse_range(m["n"])
        if span is None:
            return None
        half = 0.5 if m["half"] or m["half2"] else 0.0
        return kind, (span[0] + half) * factor, (span[1] + half) * factor
    share = m["p"] or m["p2"] or m["p3"] or m["p4"]
    if share:
        value = parse_percent(share)
        if value is not None and m["tenths"]:
            value *= 10  # "七成" is 70 %
        return None if value is None else ("%", value, value)
    if m["hundred"] or m["pure"]:
        return "%", 100.0, 100.0
    if m["ip"]:
        code = m["ip"].lower()
        first = 10.0 if code[0] == "x" else parse_number(code[0])
        second = parse_number(code[1])
        return (
            None
            if first is None or second is None
            else ("ip", first * 10 + second, first * 10 + second)
        )
    if m["fine"]:
        grade = _FINENESS.search(m["fine"])
        if grade is None:
            return None
        value = _FINE_VALUE.get(grade[0]) or float(grade[0])
        return "fineness", value, value
    if m["steel"]:
        value = _STEEL_VALUE.get(m["steel"]) or float(m["steel"])
        return "steel", value, value
    return None


_SEVERAL_BOUGHT = re.compile(
    r"[两二三四五六七八九十2-9](?:单|箱|份|件|袋|盒|包)(?:的话)?(?:就是|是|就|共|一共|总共|加起来)?$"
)
_BOUGHT_AFTER = re.compile(
    r"^(?:只要|才|就要|一共|总共|到手|只需|一起|加起来|算下来|下来|也就|合|就)"
)


def _about_a_person(scan: _Scan, m: re.Match[str], grams: float, unit: str) -> bool:
    """ "一百二十斤的宝宝穿L码": a viewer's weight (30 kg and up), not the product's."""
    if unit not in ("斤", "公斤", "kg", "千克") or scan.after(m.end(), 1) == "装" or grams < 30000:
        return False
    return bool(
        _BODY_AFTER.match(scan.after(m.end(), 4)) or _BODY_BEFORE.search(scan.before(m.start(), 6))
    ) or "穿" in scan.after(m.end(), 8)


def _specs(scan: _Scan, out: list[Claim]) -> None:
    text = scan.text
    for m in _SPEC.finditer(scan.open):
        found = _spec_value(m)
        if found is None or _denied(text, m.start()):
            continue
        kind, low, high = found
        if kind == "g" and _about_a_person(scan, m, low, (m["u"] or "").lower()):
            continue
        if kind == "g" and (
            _BOUGHT_AFTER.match(scan.after(m.end(), 3))
            or _SEVERAL_BOUGHT.search(scan.before(m.start(), 6))
        ):
            continue  # "两斤只要一百一十九", "两单就是十斤": how much is bought, not one pack
        if _GIFT_BEFORE.search(scan.before(m.start(), 4)):
            continue  # "送两个五克的旅行装" sizes the gift, not the product
        context = f"{m['mat']}|" if m["pure"] else _context(scan, m.start(), m.end())
        out.append(Claim("specs", low, high, m[0], kind, context))
        scan.take(m.start(), m.end())
    for m in _COUNT_SPEC.finditer(scan.open):
        span = parse_range(m["n"] or m["n2"] or m["n3"])
        if span is None or _denied(text, m.start()):
            continue
        unit = m["u"] or m["u2"] or m["u3"]
        out.append(Claim("specs", span[0], span[1], m[0], f"n:{unit}", "|"))
        scan.take(m.start(), m.end())
    for m in _SIZE_CLAIM.finditer(scan.open):
        if _denied(text, m.start()):
            continue
        a = SIZES.get((m["a"] or m["min"] or "").lower(), 0)
        b = SIZES.get((m["b"] or m["max"] or "").lower(), 0)
        out.append(Claim("specs", a, b, m[0], "size", "尺码|"))
        scan.take(m.start(), m.end())


def spec_value(value: str) -> tuple[str, float, float] | None:
    """(kind, low, high) of a catalog spec value ("120g", "75-80mm", "70%", "IPX7", "S-XL")."""
    value = unicodedata.normalize("NFKC", value).strip()
    size = re.fullmatch(
        rf"(?P<a>{_SIZE})\s*(?:-|~|到|至|—|–)\s*(?P<b>{_SIZE})", value, re.IGNORECASE
    )
    if size:
        return "size", SIZES[size["a"].lower()], SIZES[size["b"].lower()]
    value = value.replace("–", "-").replace("—", "-")
    m = _SPEC.search(value)
    if m is None or m["pure"]:  # "纯棉" in a catalog is a material, not a share
        count = _COUNT_SPEC.search(value)
        span = parse_range(count["n"] or count["n2"] or count["n3"]) if count else None
        if count is None or span is None:
            return None
        return f"n:{count['u'] or count['u2'] or count['u3']}", span[0], span[1]
    return _spec_value(m)


# -- all fields ---------------------------------------------------------------------------------

# Gifts first (their sizes are not specs), price before free shipping ("九十九包邮" needs to see
# 包邮) and before specs (the "九" of "三十九块九五斤装"), warranty before shipping ("质保二十四个月
# 发顺丰").
_EXTRACTORS = (_gifts, _price, _free_shipping, _warranty, _shipping, _seven_day_return, _specs)


_NUMERAL = rf"[0-9{_CN}]"
# A pause inside a phrase ("到手价 六十九", "六十九 块") or a typed colon ("到手价：69元") joins the
# words; between two numbers ("六十九 五号链接") it keeps them apart.
_JOIN = re.compile(rf"(?<!{_NUMERAL})[\s:]+|[\s:]+(?!{_NUMERAL})")
_YUAN_SIGN = re.compile(rf"¥({NUM})")
_HOURS_SIGN = re.compile(r"([0-9])h(?![a-z])", re.IGNORECASE)


_D = "[一二两三四五六七八九]"
_BELOW_WAN = (
    rf"(?:{_D}千(?:零?{_D}百)?(?:零?{_D}?十)?(?:零?{_D})?|{_D}百(?:零?{_D}?十)?(?:零?{_D})?"
    rf"|{_D}?十{_D}?|{_D}|零)"
)
# well-formed: "一百零八", "十一万", colloquial "一千五", and neighbouring-digit ranges "七八十"
_WELL_FORMED = re.compile(
    rf"{_BELOW_WAN}万(?:零?{_BELOW_WAN})?|{_BELOW_WAN}|{_D}[千百万]{_D}|{_D}{_D}[十百千万]"
)
_CN_RUN = re.compile(
    r"[零一二两三四五六七八九十百千万]*[十百千万][零一二两三四五六七八九十百千万]*"
)


# "五四三二一", "三二一", "一二三": a countdown, never part of the number before it
_COUNTDOWN = re.compile(
    r"(?:五四三二一|四三二一|三二一|十九八七六|九八七六|八七六五|七六五四|六五四三|一二三四五|一二三四|一二三)"
)


def _split_countdown(m: re.Match[str]) -> str:
    return f" {m[0]} "


def _split_run(m: re.Match[str]) -> str:
    """ "六十九五四三二一" → "六十九 五四三二一": a number said right before a countdown, a link
    number or a time is cut after its longest well-formed start."""
    run = m[0]
    if _WELL_FORMED.fullmatch(run):
        return run
    for cut in range(len(run) - 1, 0, -1):
        if _WELL_FORMED.fullmatch(run[:cut]):
            rest = run[cut:]
            return f"{run[:cut]} {_CN_RUN.sub(_split_run, rest)}"
    return run


def prepare(text: str) -> str:
    """The utterance as the patterns expect it: half-width, typed signs spelt out ("¥69" → "69元",
    "48h" → "48小时"), pauses inside phrases removed."""
    text = unicodedata.normalize("NFKC", text).strip()
    text = _YUAN_SIGN.sub(r"\1元", _HOURS_SIGN.sub(r"\1小时", text))
    text = _COUNTDOWN.sub(_split_countdown, _JOIN.sub("", text))
    return _CN_RUN.sub(_split_run, text).strip()


def extract(text: str) -> list[Claim]:
    """Every claim in one utterance, grouped by field, in text order within a field."""
    scan = _Scan(prepare(text))
    claims: list[Claim] = []
    for extractor in _EXTRACTORS:
        extractor(scan, claims)
    return claims
