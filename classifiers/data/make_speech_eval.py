"""Write the labelled host-speech set (speech_dev.jsonl, speech_test.jsonl) from hand-written lines.

Run from the repository root::

    .venv/bin/python -m classifiers.data.make_speech_eval

Every base line below was written by hand against ``speech_catalog.yaml`` and labelled by hand:
the list after a line names each field it misstates and the value claimed, in the canonical
form the checker reports (price "99", shipping "48小时" / "7天", presale "10天", warranty
"1年" / "18个月" / "终身", "包邮" / "不包邮", "支持" / "不支持"; gifts and specs carry no
claimed value). An empty list means every claim in the line agrees with the catalog, or the
line makes no claim at all. The script only wraps base lines the way ASR hands them over —
fillers before, urging or chatter after (each carrying its own hand-checked label), no
punctuation, an occasional space — from a fixed seed.

Dev and test are written separately: different phrasings, different fillers and different
distractors, so the test measures lines the extractor was never tuned on.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
Gold = list[tuple[str, str | None]]
Line = tuple[str, Gold]


def m(field: str, claimed: str | None = None) -> tuple[str, str | None]:
    """One expected misstatement."""
    return (field, claimed)


OK: Gold = []

# fmt: off
DEV: dict[str, list[Line]] = {
    "MZ-01": [  # cosmetics: 69, free shipping, 48 h, 7-day return, 小样×3, 120g, 保质期3年
        ("到手价六十九", OK),
        ("直播间价格69元", OK),
        ("今天只要六十九块", OK),
        ("活动价七十九", [m("price", "79")]),
        ("到手价五十九", [m("price", "59")]),
        ("今天只要49元", [m("price", "49")]),
        ("日常价一百二十九今天直播间六十九", OK),
        ("原价九十九今天到手价六十九", OK),
        ("更正一下刚才说错了到手价是六十九不是五十九", OK),
        ("全国包邮的", OK),
        ("包邮到家偏远地区除外", OK),
        ("这个不包邮哈运费自理", [m("free_shipping", "不包邮")]),
        ("付款后四十八小时内发货", OK),
        ("两天内给大家发出", OK),
        ("二十四小时内发货", [m("ship_within_hours", "24小时")]),
        ("拍下七十二小时之内发货", [m("ship_within_hours", "72小时")]),
        ("支持七天无理由", OK),
        ("不支持七天无理由哦", [m("seven_day_return", "不支持")]),
        ("拍一支送三个小样", OK),
        ("送五个小样", [m("gifts")]),
        ("拍一单送两个小样", [m("gifts")]),
        ("一支一百二十克", OK),
        ("一支两百克的超大支", [m("specs")]),
        ("保质期三年", OK),
        ("保质期五年放心囤", [m("specs")]),
        ("三号链接洁面乳库存还剩两百单", OK),
        ("倒数十个数三二一上链接", OK),
        ("第一次用的宝宝先拿一支试试", OK),
        ("一百二十克的洁面到手价五十九还包邮", [m("price", "59")]),
        ("到手价六十九送三个小样四十八小时内发货", OK),
    ],
    "SX-02": [  # fresh food: 39.9, free shipping, 72 h, no 7-day return, no gifts, 5斤
        ("到手价三十九块九", OK),
        ("一箱只要39.9", OK),
        ("三十九点九元一箱", OK),
        ("到手价二十九块九", [m("price", "29.9")]),
        ("今天只要四十九块九", [m("price", "49.9")]),
        ("包邮的家人们", OK),
        ("全国包邮新疆西藏不包邮", OK),
        ("不包邮的哈", [m("free_shipping", "不包邮")]),
        ("三天内发货现摘现发", OK),
        ("七十二小时内发出", OK),
        ("当天摘二十四小时内发货", [m("ship_within_hours", "24小时")]),
        ("生鲜不支持七天无理由坏果包赔", OK),
        ("支持七天无理由退货", [m("seven_day_return", "支持")]),
        ("七天无理由放心拍", [m("seven_day_return", "支持")]),
        ("一箱五斤", OK),
        ("五斤装的大果", OK),
        ("十斤装的一大箱", [m("specs")]),
        ("果径七十五到八十毫米", OK),
        ("送一个开橙器", [m("gifts")]),
        ("送人自吃都合适", OK),
        ("库存还剩三百单倒数五个数", OK),
        ("二号链接脐橙还有最后五十单", OK),
        ("三十九块九五斤装包邮", OK),
    ],
    "KZ-03": [  # small appliance: 299, free shipping, 24 h, return, 24 months, 烘焙纸×50 食谱×1, 5L 1500W
        ("到手价二百九十九", OK),
        ("直播间价格两百九十九", OK),
        ("今天只要299", OK),
        ("活动价一百九十九", [m("price", "199")]),
        ("到手价三百九十九", [m("price", "399")]),
        ("日常价四百九十九今天两百九十九", OK),
        ("包邮到家", OK),
        ("不包邮的运费自付", [m("free_shipping", "不包邮")]),
        ("二十四小时内发货", OK),
        ("四十八小时内发出", [m("ship_within_hours", "48小时")]),
        ("支持七天无理由", OK),
        ("保修两年", OK),
        ("质保二十四个月", OK),
        ("保修一年", [m("warranty_months", "1年")]),
        ("三年质保", [m("warranty_months", "3年")]),
        ("终身保修的", [m("warranty_months", "终身")]),
        ("送五十张烘焙纸还送一本食谱", OK),
        ("送一百张烘焙纸", [m("gifts")]),
        ("五升大容量", OK),
        ("一千五百瓦的大功率", OK),
        ("两千瓦的大功率", [m("specs")]),
        ("六升的大容量一家五口够用", [m("specs")]),
        ("第二个颜色是奶白色", OK),
        ("五号链接空气炸锅库存还有一百台", OK),
        ("不是保修一年是保修两年", OK),
        ("保修两年二十四小时内发货", OK),
        ("保修三年四十八小时内发货", [m("warranty_months", "3年"), m("ship_within_hours", "48小时")]),
    ],
    "FZ-04": [  # clothing: 259, free shipping, 48 h, return, no gifts, 70% wool
        ("到手价两百五十九", OK),
        ("今天只要259元", OK),
        ("到手价一百五十九", [m("price", "159")]),
        ("活动价一百九十九", [m("price", "199")]),
        ("包邮还送运费险", OK),
        ("四十八小时内发货", OK),
        ("一周内发货", [m("ship_within_hours", "7天")]),
        ("支持七天无理由吊牌别剪", OK),
        ("七天无理由不支持的", [m("seven_day_return", "不支持")]),
        ("百分之七十的羊毛", OK),
        ("70%羊毛穿着不扎", OK),
        ("百分之九十的羊毛", [m("specs")]),
        ("这件是纯羊毛的", [m("specs")]),
        ("身高一米六的姐妹穿M码", OK),
        ("一百二十斤的宝宝穿L码", OK),
        ("送一双袜子", [m("gifts")]),
        ("第二个颜色是燕麦色", OK),
        ("倒数十个数开抢", OK),
        ("送妈妈送闺蜜都合适", OK),
    ],
    "DZ-05": [  # custom-made: 399, not free shipping, 168 h, no 7-day return, 礼盒×1, 20g
        ("到手价三百九十九", OK),
        ("定制款今天只要399", OK),
        ("到手价两百九十九", [m("price", "299")]),
        ("定制款不包邮运费十五块", OK),
        ("不包邮的哈", OK),
        ("全国包邮", [m("free_shipping", "包邮")]),
        ("包邮到家的", [m("free_shipping", "包邮")]),
        ("刻字之后七天内发货", OK),
        ("定制款一周内发货", OK),
        ("四十八小时内发货", [m("ship_within_hours", "48小时")]),
        ("三天内发货", [m("ship_within_hours", "72小时")]),
        ("定制的不支持七天无理由", OK),
        ("支持七天无理由", [m("seven_day_return", "支持")]),
        ("七天无理由退换放心拍", [m("seven_day_return", "支持")]),
        ("送精美礼盒", OK),
        ("送两个礼盒", [m("gifts")]),
        ("二十克足银", OK),
        ("三十克的足银手镯", [m("specs")]),
        ("终身保修", [m("warranty_months", "终身")]),
        ("刻字最多八个字", OK),
    ],
    "YR-06": [  # presale: 599, free shipping, presale 20 days, return, 200g down, 90%
        ("到手价五百九十九", OK),
        ("今天只要599", OK),
        ("到手价四百九十九", [m("price", "499")]),
        ("包邮的", OK),
        ("这款是预售的二十天内发货", OK),
        ("预售二十天发货", OK),
        ("付款后二十天内发货", OK),
        ("预售十天就发货", [m("presale_days", "10天")]),
        ("四十八小时内发货", [m("ship_within_hours", "48小时")]),
        ("三天内发货", [m("ship_within_hours", "72小时")]),
        ("支持七天无理由", OK),
        ("充绒量两百克", OK),
        ("充绒三百克", [m("specs")]),
        ("百分之九十白鸭绒", OK),
        ("含绒量百分之九十五", [m("specs")]),
        ("一百二十斤的宝宝穿L码", OK),
        ("更正一下这款是预售付款后二十天内发货不是四十八小时", OK),
        ("预售二十天发货到手价四百九十九", [m("price", "499")]),
    ],
    "TX-07": [  # small appliance: 189, free shipping, 24 h, return, 12 months, 刀头×1, 续航60天
        ("到手价一百八十九", OK),
        ("今天只要189元", OK),
        ("到手价一百二十九", [m("price", "129")]),
        ("包邮", OK),
        ("二十四小时内发货", OK),
        ("七十二小时内发货", [m("ship_within_hours", "72小时")]),
        ("保修一年", OK),
        ("十二个月质保", OK),
        ("保修两年", [m("warranty_months", "2年")]),
        ("质保十八个月", [m("warranty_months", "18个月")]),
        ("送一个刀头", OK),
        ("送三个刀头", [m("gifts")]),
        ("充一次电用六十天", OK),
        ("续航两个月", OK),
        ("续航三个月", [m("specs")]),
        ("充一次电能用一百天", [m("specs")]),
        ("支持七天无理由", OK),
        ("不支持七天无理由", [m("seven_day_return", "不支持")]),
    ],
}

TEST: dict[str, list[Line]] = {
    "MZ-01": [
        ("直播间专享价六十九", OK),
        ("拍下只需要69", OK),
        ("一支六十九块钱", OK),
        ("直播间专享价八十九", [m("price", "89")]),
        ("一支五十九块钱", [m("price", "59")]),
        ("拍下只需要三十九元", [m("price", "39")]),
        ("专柜价一百五今天六十九", OK),
        ("口误口误不是七十九是六十九", OK),
        ("下单就包邮", OK),
        ("这款要运费的", [m("free_shipping", "不包邮")]),
        ("48小时以内就发", OK),
        ("两天之内发货", OK),
        ("十二小时以内就发", [m("ship_within_hours", "12小时")]),
        ("可以七天无理由退货", OK),
        ("这款没有七天无理由的", [m("seven_day_return", "不支持")]),
        ("下单赠送三个小样", OK),
        ("下单赠送四个小样", [m("gifts")]),
        ("一百二十克一大支", OK),
        ("一百五十克一大支", [m("specs")]),
        ("四号链接还剩八十单", OK),
        ("点赞到一万我们抽免单", OK),
        ("这个是洁面乳第三个色号没有的", OK),
        ("直播间专享价六十九下单赠送三个小样", OK),
    ],
    "SX-02": [
        ("直播间专享价三十九块九", OK),
        ("一箱39.9元", OK),
        ("一箱三十五块九", [m("price", "35.9")]),
        ("直播间专享价十九块九", [m("price", "19.9")]),
        ("下单就包邮", OK),
        ("包邮哦新疆西藏除外", OK),
        ("三天之内发货", OK),
        ("四十八小时以内就发", [m("ship_within_hours", "48小时")]),
        ("生鲜水果不能七天无理由的", OK),
        ("坏果包赔但是不支持七天无理由", OK),
        ("可以七天无理由退货", [m("seven_day_return", "支持")]),
        ("一箱净重五斤", OK),
        ("一箱净重八斤", [m("specs")]),
        ("下单赠送一把水果刀", [m("gifts")]),
        ("还剩最后三十单倒数五个数", OK),
        ("拍两箱的宝宝记得备注", OK),
        ("八点半准时开抽", OK),
    ],
    "KZ-03": [
        ("直播间专享价二百九十九", OK),
        ("拍下只需要299元", OK),
        ("直播间专享价两百四十九", [m("price", "249")]),
        ("拍下只需要三百二十九", [m("price", "329")]),
        ("专柜价五百九今天二百九十九", OK),
        ("下单就包邮", OK),
        ("这款要运费的", [m("free_shipping", "不包邮")]),
        ("二十四小时以内就发", OK),
        ("三天之内发货", [m("ship_within_hours", "72小时")]),
        ("可以七天无理由退货", OK),
        ("两年质保", OK),
        ("保修期二十四个月", OK),
        ("保修期十二个月", [m("warranty_months", "1年")]),
        ("五年质保放心用", [m("warranty_months", "5年")]),
        ("下单赠送五十张烘焙纸", OK),
        ("下单赠送二十张烘焙纸", [m("gifts")]),
        ("5L的大容量", OK),
        ("八升的超大容量", [m("specs")]),
        ("功率一千五百瓦", OK),
        ("功率1800W", [m("specs")]),
        ("口误口误不是一年是两年质保", OK),
        ("后台再给我上二十单", OK),
        ("两年质保二十四小时以内就发", OK),
        ("五年质保三天之内发货", [m("warranty_months", "5年"), m("ship_within_hours", "72小时")]),
    ],
    "FZ-04": [
        ("直播间专享价二百五十九", OK),
        ("一件259元", OK),
        ("一件一百九十九元", [m("price", "199")]),
        ("下单就包邮", OK),
        ("两天之内发货", OK),
        ("五天之内发货", [m("ship_within_hours", "5天")]),
        ("可以七天无理由退货", OK),
        ("这款没有七天无理由的", [m("seven_day_return", "不支持")]),
        ("羊毛含量百分之七十", OK),
        ("羊毛含量百分之八十", [m("specs")]),
        ("一米六五的宝宝穿S码", OK),
        ("一百三十斤穿XL", OK),
        ("下单赠送一条围巾", [m("gifts")]),
        ("第三个颜色是雾霾蓝", OK),
        ("五号链接开衫库存还剩六十件", OK),
    ],
    "DZ-05": [
        ("直播间专享价三百九十九", OK),
        ("一只399元", OK),
        ("一只三百五十九元", [m("price", "359")]),
        ("这款要运费的", OK),
        ("运费十五元不包邮", OK),
        ("下单就包邮", [m("free_shipping", "包邮")]),
        ("定制款七天之内发货", OK),
        ("定制款两天之内发货", [m("ship_within_hours", "48小时")]),
        ("定制商品不能七天无理由", OK),
        ("可以七天无理由退货", [m("seven_day_return", "支持")]),
        ("下单赠送一个礼盒", OK),
        ("下单赠送三个礼盒", [m("gifts")]),
        ("足银二十克", OK),
        ("足银二十五克", [m("specs")]),
        ("名字刻两个字也可以", OK),
    ],
    "YR-06": [
        ("直播间专享价五百九十九", OK),
        ("一件599元", OK),
        ("一件六百九十九元", [m("price", "699")]),
        ("下单就包邮", OK),
        ("预售款二十天之内发货", OK),
        ("预售款十五天之内发货", [m("presale_days", "15天")]),
        ("二十四小时以内就发", [m("ship_within_hours", "24小时")]),
        ("可以七天无理由退货", OK),
        ("充绒量足足两百克", OK),
        ("充绒量足足两百五十克", [m("specs")]),
        ("含绒量百分之九十", OK),
        ("含绒量百分之八十", [m("specs")]),
        ("一米七的男生穿XL", OK),
        ("更正一下这款是预售付款后二十天内发货不是二十四小时", OK),
    ],
    "TX-07": [
        ("直播间专享价一百八十九", OK),
        ("一台189元", OK),
        ("一台一百五十九元", [m("price", "159")]),
        ("下单就包邮", OK),
        ("二十四小时以内就发", OK),
        ("三天之内发货", [m("ship_within_hours", "72小时")]),
        ("一年质保", OK),
        ("保修期十二个月", OK),
        ("三年质保", [m("warranty_months", "3年")]),
        ("保修期六个月", [m("warranty_months", "6个月")]),
        ("下单赠送一个刀头", OK),
        ("下单赠送两个刀头", [m("gifts")]),
        ("续航六十天", OK),
        ("续航足足半年", [m("specs")]),
        ("可以七天无理由退货", OK),
        ("这款没有七天无理由的", [m("seven_day_return", "不支持")]),
    ],
}

# Wrappers: (text, 广告法 terms in it). Fillers go before the line, tails after it; neither
# makes a claim, though tails are full of numbers that are not claims.
DEV_FILLERS = ("家人们", "宝宝们", "姐妹们", "来来来", "好", "对", "然后呢", "家人们听我说")
TEST_FILLERS = ("所有的宝宝们", "哎家人们", "我跟你们讲", "新进来的宝宝", "来姐妹们", "听好了", "嗯")
DEV_TAILS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("喜欢的扣个1", ()), ("三号链接", ()), ("库存还剩两百单", ()), ("倒数十个数", ()),
    ("后台再加五十单", ()), ("点个关注", ()), ("这个价格全网最低了", ("全网最低",)),
    ("效果是最好的", ("最好",)), ("销量第一", ("第一",)), ("顶级的配置", ("顶级",)),
    ("第一次买的宝宝放心", ()), ("最好先看一下尺码", ()), ("国家级的工艺", ("国家级",)),
    ("绝对划算", ("绝对",)), ("前一百名下单的", ()),
)
TEST_TAILS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("扣666", ()), ("五号链接", ()), ("还剩最后三十单", ()), ("倒数五个数", ()),
    ("再给大家上二十单", ()), ("点点小红心", ()), ("史上最低了", ("史上最低",)),
    ("行业第一", ("第一",)), ("最佳选择", ("最佳",)), ("唯一一款这个价的", ("唯一",)),
    ("第一批货已经在路上", ()), ("最好还是按平时的尺码拍", ()), ("百分百有效", ("百分百有效",)),
    ("独家配方", ("独家",)), ("前五十名", ()),
)
# fmt: on
_NUMERALS = set("0123456789零一二两三四五六七八九十百千万")


def _wrap(
    rng: random.Random,
    text: str,
    fillers: tuple[str, ...],
    tails: tuple[tuple[str, tuple[str, ...]], ...],
) -> tuple[str, list[str]]:
    """ASR-style copy of ``text``: maybe a filler before, a tail after, maybe one space."""
    parts: list[str] = [text]
    terms: list[str] = []
    if rng.random() < 0.6:
        parts.insert(0, rng.choice(fillers))
    if rng.random() < 0.45:
        tail, tail_terms = rng.choice(tails)
        parts.append(tail)
        terms.extend(tail_terms)
    out = parts[0]
    for part in parts[1:]:
        # A pause between two spoken numbers reaches us as a space ("六十九 五号链接").
        pause = rng.random() < 0.15 or (out[-1] in _NUMERALS and part[0] in _NUMERALS)
        out += (" " if pause else "") + part
    return out, terms


def build(
    lines: dict[str, list[Line]],
    fillers: tuple[str, ...],
    tails: tuple[tuple[str, tuple[str, ...]], ...],
    *,
    prefix: str,
    copies: int,
    seed: int,
) -> list[dict[str, object]]:
    """``copies`` wrapped copies of every base line, labelled, without duplicate texts."""
    rng = random.Random(seed)
    rows: list[dict[str, object]] = []
    seen: set[tuple[str, str]] = set()
    for sku, base in lines.items():
        for text, gold in base:
            for _ in range(copies):
                wrapped, terms = _wrap(rng, text, fillers, tails)
                if (sku, wrapped) in seen:
                    continue
                seen.add((sku, wrapped))
                rows.append(
                    {
                        "id": f"{prefix}-{len(rows) + 1:04d}",
                        "sku": sku,
                        "text": wrapped,
                        "misstatements": [
                            {"field": f} if c is None else {"field": f, "claimed": c}
                            for f, c in gold
                        ],
                        "compliance": terms,
                    }
                )
    return rows


def write(path: Path, rows: list[dict[str, object]]) -> None:
    """One JSON object per line."""
    path.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
    )


def main() -> None:
    """Write both splits."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seed", type=int, default=20261203)
    parser.add_argument("--copies", type=int, default=2)
    args = parser.parse_args()
    dev = build(DEV, DEV_FILLERS, DEV_TAILS, prefix="dev", copies=args.copies, seed=args.seed)
    test = build(
        TEST, TEST_FILLERS, TEST_TAILS, prefix="test", copies=args.copies, seed=args.seed + 1
    )
    write(HERE / "speech_dev.jsonl", dev)
    write(HERE / "speech_test.jsonl", test)
    print(f"speech_dev.jsonl: {len(dev)} lines, speech_test.jsonl: {len(test)} lines")


if __name__ == "__main__":
    main()
