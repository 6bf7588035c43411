"""Write configs/demo/stream.jsonl: three minutes of a cosmetics + small-appliance broadcast.

Two rooms in one file (events keep their own room): demo-room-1 (精华液 → 预售面霜 → 电动牙刷)
and a smaller demo-room-2 (吹风机 → 卷发棒), following lineup.yaml. Texts are composed from
hand-written fragments with a fixed seed, so the file is byte-for-byte reproducible:

    .venv/bin/python configs/demo/make_stream.py            # rewrites stream.jsonl
    .venv/bin/python configs/demo/make_stream.py --check    # exit 1 if the file is stale

What the demo is meant to show, at fixed offsets from START (seconds):
  * after-sales comments from the first seconds on, so the first alerts appear at once;
  * SPIKE: ~30 quality complaints about the 精华液 in demo-room-1 within 20 s;
  * MISSTATEMENTS: the host contradicting catalog.yaml (price, gifts, shipping, presale,
    warranty, specs, free shipping), each followed by viewers pointing it out;
  * COMPLIANCE: advertising-law absolute terms (全网最低, 第一, 顶级);
  * PII typed by viewers (phones, order/tracking numbers, an address) and hostile markup.

Only the standard library is used, so the script runs anywhere Python 3.11 does.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

SEED: Final = 20261122
START: Final = 1763800000.0
DURATION: Final = 180.0
ROOM1: Final = "demo-room-1"
ROOM2: Final = "demo-room-2"
OUT: Final = Path(__file__).with_name("stream.jsonl")

# (room, start offset, sku) — mirrors lineup.yaml.
LINEUP: Final[tuple[tuple[str, float, str], ...]] = (
    (ROOM1, 0.0, "JH-101"),
    (ROOM1, 62.0, "MS-202"),
    (ROOM1, 118.0, "YS-301"),
    (ROOM2, 0.0, "CF-401"),
    (ROOM2, 95.0, "JF-501"),
)
SPIKE_WINDOW: Final = (96.0, 114.0)
SPIKE_SIZE: Final = 30

Event = dict[str, object]


@dataclass(frozen=True, slots=True)
class Tagged:
    """One stream event with the kind it was written as (kept out of the JSONL)."""

    kind: str
    event: Event


def on_air(room: str, offset: float) -> str:
    """The SKU presented in ``room`` at ``offset`` seconds."""
    current = ""
    for r, at, sku in LINEUP:
        if r == room and at <= offset:
            current = sku
    return current


# -- host speech ---------------------------------------------------------------------------

# The text pools are hand-written and packed for reading; keep the formatter off them.
# fmt: off
FILLERS: Final = (
    "家人们", "宝宝们", "来家人们", "姐妹们", "哎宝宝们", "听我说", "好吧", "那个", "我跟你们讲",
    "所有的宝宝们", "新进来的宝宝们", "来来来", "对", "然后呢", "就是说", "嗯",
)
URGES: Final = (
    "喜欢的扣个1", "没点关注的点个关注", "三二一上链接", "库存不多了抓紧", "拍完的扣个已拍",
    "手慢无啊", "来把小黄车点开", "还没拍的赶紧", "后台再给我加两百单", "想要的打想要",
    "点赞到一万我们抽免单", "拍了记得备注直播间", "",
)
# Claims consistent with catalog.yaml; the misstatements below are the only wrong ones.
SPEECH: Final[dict[str, tuple[str, ...]]] = {
    "JH-101": (
        "今天给大家带来的是我们家的玻尿酸修护精华液一号链接",
        "这个小蓝瓶精华真的是我自己每天都在用的",
        "一瓶是三十毫升的容量够用两个月",
        "直播间到手价一百二十九",
        "拍一瓶送两个小样小样跟正装一起发",
        "付款之后四十八小时内给大家发出",
        "支持七天无理由的而且我们送运费险",
        "没有酒精没有香精敏感肌也可以用",
        "敏感肌的宝宝先在耳后试一下没问题再上脸",
        "洁面爽肤之后两到三滴轻轻拍开就可以",
        "你们看这个质地水润润的一抹就吸收",
        "早晚都可以用白天记得做好防晒",
        "保质期三年开封之后半年内用完",
        "日常价一百五十九今天直播间一百二十九",
        "它是修护型的换季泛红的姐妹可以冲",
        "干皮油皮混油都可以用所有肤质都适合",
        "后台看一下一号链接还有多少单",
        "一号链接精华液拍一发三正装加两个小样",
        "包邮的啊全国包邮偏远地区除外",
        "买回去用完觉得不好随时来找我们客服",
    ),
    "MS-202": (
        "好接下来二号链接胜肽紧致面霜",
        "这个面霜是预售的啊宝宝们先说清楚",
        "预售十五天内发货着急用的宝宝慎拍",
        "面霜一罐五十克乳霜质地不油腻",
        "直播间价格一百九十九",
        "拍面霜送两个五克的旅行装",
        "全国包邮的港澳台除外",
        "精华之后取一个黄豆大小点涂全脸往上提拉",
        "孕妇也可以用的没有视黄醇没有水杨酸",
        "预售期间降价我们给大家保价",
        "发货之前想退随时可以申请退款",
        "和精华一起拍的精华先发面霜到了单独发不另收运费",
        "你们看这个延展性一推就开",
        "晚上用完第二天早上起来脸是嫩嫩的",
        "二号链接面霜预售的宝宝们看清楚再拍",
        "收到之后没拆封七天无理由都支持",
    ),
    "YS-301": (
        "最后一个三号链接声波电动牙刷",
        "这个牙刷三个档位清洁美白敏感",
        "充满电能用三十天左右出差带着很方便",
        "Type-C充电跟手机一根线",
        "IPX7防水冲洗刷头完全没问题",
        "主机保修十二个月刷头是耗材不保",
        "直播间一百五十九还送两个替换刷头",
        "现货的今天拍明天就给大家发二十四小时内发货",
        "牙龈敏感的用敏感档很温和",
        "刷头建议三个月换一次店里有单独卖",
        "支持七天无理由的刷头拆了用过要扣刷头的钱",
        "你们听这个声音很小的不吵",
        "送爸妈送对象都合适包装很高级",
        "三号链接牙刷库存还有三百单",
    ),
    "CF-401": (
        "我们家这个高速吹风机一号链接",
        "十一万转的高速电机吹干头发只要三分钟",
        "机身才三百五十克拿在手上不累",
        "额定功率一千六百瓦噪音很小",
        "负离子护发吹完头发不毛躁",
        "到手价二百九十九送集风嘴送收纳袋",
        "整机保修十二个月二十四小时内发货",
        "支持七天无理由还有运费险",
        "记得定期清理后面的滤网",
        "国内电压二百二十伏出国用的宝宝注意一下",
    ),
    "JF-501": (
        "来二号链接陶瓷卷发棒三十二毫米",
        "三十二毫米卷出来是大波浪很自然",
        "五档控温一百四到两百度",
        "细软发用一百六以下就可以新手先用低档",
        "这个卷发棒八十九块钱",
        "运费是十块钱的下单的时候看一下",
        "这个没有赠品价格已经给到大家很实在了",
        "保修十二个月不发热直接换新",
        "四十八小时内发货支持七天无理由",
        "陶瓷釉面不伤头发夹着很顺",
    ),
}


@dataclass(frozen=True, slots=True)
class Scripted:
    """A host line placed at a fixed offset, with what viewers say about it afterwards."""

    room: str
    offset: float
    kind: str
    text: str
    reactions: tuple[str, ...] = ()


# Deliberate contradictions of catalog.yaml (kind "misstatement:<field>") and absolute terms
# forbidden by the advertising law (kind "compliance").
SCRIPTED: Final[tuple[Scripted, ...]] = (
    Scripted(ROOM1, 18.4, "misstatement:price",
             "家人们精华液今天到手价只要99真的只要99一号链接",
             ("主播说99 页面怎么是129啊", "不是99吗 我拍的怎么129", "99？我这显示一百二十九",
              "说好的99呢 骗人吧")),
    Scripted(ROOM1, 25.2, "compliance",
             "这个价格全网最低了宝宝们你去别家找不到比这更低的"),
    Scripted(ROOM1, 37.6, "misstatement:gifts",
             "拍一瓶精华送三个小样啊三个小样加一个洁面",
             ("主播说送三个小样加洁面 详情页只写了两个小样", "到底送几个小样 页面写的×2",
              "洁面在哪 页面没有写送洁面啊")),
    Scripted(ROOM1, 70.3, "misstatement:ship_within_hours",
             "面霜拍下四十八小时就给大家发出去不用等",
             ("面霜不是预售吗 主播说48小时发", "页面写的预售15天 主播说48小时 到底哪个",
              "48小时发货？详情写的预售啊")),
    Scripted(ROOM1, 84.9, "misstatement:presale_days",
             "宝宝们放心面霜预售七天就发货很快的",
             ("预售7天？页面写的15天内发货", "主播说7天 客服说15天 信谁")),
    Scripted(ROOM1, 126.5, "misstatement:warranty_months",
             "这个牙刷保修两年啊两年之内坏了直接换新",
             ("主播说保修两年 页面写的12个月", "保修到底一年还是两年")),
    Scripted(ROOM1, 133.0, "compliance",
             "我们家电动牙刷全网销量第一几十万家庭都在用"),
    Scripted(ROOM1, 140.8, "misstatement:specs",
             "充一次电用三个月不夸张三个月都不用充",
             ("三个月？详情页写的续航30天", "主播说续航三个月 参数里明明是30天")),
    Scripted(ROOM2, 31.5, "misstatement:specs",
             "这个吹风机两千瓦的大功率风特别大",
             ("2000瓦？参数写的1600W", "主播说两千瓦 页面是1600W啊")),
    Scripted(ROOM2, 56.0, "compliance",
             "顶级的高速电机用的都是大牌同款方案"),
    Scripted(ROOM2, 104.7, "misstatement:free_shipping",
             "卷发棒八十九全国包邮啊宝宝们",
             ("主播说包邮 页面怎么要运费", "包邮？我下单还要10块运费", "说好的包邮呢 结算有运费")),
)

# fmt: on


def speech_event(room: str, ts: float, text: str, sku: str | None) -> Event:
    """A DESIGN speech event; ``sku`` is left out when the relay did not say."""
    event: Event = {"type": "speech", "room": room, "text": text, "ts": ts}
    if sku is not None:
        event["sku"] = sku
    return event


def host_line(rng: random.Random, body: str) -> str:
    """Wrap a claim in ASR-style fillers: no punctuation, words run together."""
    parts = [body]
    if rng.random() < 0.55:
        parts.insert(0, rng.choice(FILLERS))
    if rng.random() < 0.35:
        parts.append(rng.choice(URGES))
    return ("" if rng.random() < 0.7 else " ").join(p for p in parts if p)


def host_speech(rng: random.Random, room: str, gap: tuple[float, float]) -> list[Tagged]:
    """Correct host lines roughly every ``gap`` seconds, leaving room for the scripted ones."""
    fixed = [s.offset for s in SCRIPTED if s.room == room]
    decks: dict[str, list[str]] = {}
    out: list[Tagged] = []
    offset = rng.uniform(0.3, 1.0)
    while offset < DURATION - 0.5:
        if all(abs(offset - f) > 1.5 for f in fixed):
            sku = on_air(room, offset)
            deck = decks.setdefault(sku, [])
            if not deck:  # deal every claim once before repeating any
                deck.extend(rng.sample(SPEECH[sku], len(SPEECH[sku])))
            text = host_line(rng, deck.pop())
            relay_sku = sku if rng.random() < 0.6 else None
            out.append(Tagged("speech", speech_event(room, START + offset, text, relay_sku)))
        offset += rng.uniform(*gap)
    return out


# -- comments ------------------------------------------------------------------------------

# fmt: off
EMOJI: Final = (
    "[比心]", "[鼓掌]", "[玫瑰]", "[笑哭]", "[捂脸]", "[666]", "[爱心]", "[送心]", "[呲牙]",
    "[流泪]", "[发怒]", "[赞]", "[色]", "[偷笑]", "😂", "👍", "❤️", "🌹", "😭", "🔥", "😍",
)
CHATTER: Final = (
    "主播好美", "666", "来了来了", "主播晚上好", "打卡", "第一次来", "好看", "哈哈哈哈",
    "主播皮肤好好", "今天的妆好看", "来啦", "主播声音好好听", "天天来报道", "刚下班 来看看",
    "主播穿的衣服哪里买的", "求主播口红色号", "背景音乐叫什么", "今天几点下播", "主播多高",
    "姐妹们冲", "有人吗", "1", "11111", "想要", "已拍", "已拍已拍", "上车了", "抢到了",
    "没抢到", "手慢了", "好便宜", "我妈也在看", "小助理好可爱",
    "主播辛苦了", "喝口水吧主播", "退下吧主播", "主播今天状态不错", "好家伙", "笑死",
    "这个颜色绝了", "太卷了", "点赞点赞", "关注了", "刚点了关注", "回来了", "蹲一个福袋",
    "福袋什么时候开", "抽我抽我", "中了吗", "又没中", "主播看我", "河南的姐妹扣1",
    "广东的来了", "东北老铁报道", "看了一晚上了", "上次买的还没用完", "回购第三次了",
    "跟着主播买准没错", "家人们冲冲冲", "主播说话好好笑", "我先看看", "纠结中", "在吗",
    "zbhm", "yyds", "awsl", "绝绝子", "蹲", "前排", "沙发", "路过", "hhhh", "好耶",
    "主播加油", "好可爱", "我来啦", "晚上好呀", "嘿嘿", "冲鸭", "抢不到啊", "刷新了好几遍",
    "卡了", "卡了卡了", "声音小了", "画面好清楚", "今天人好多", "主播笑起来好甜",
    "来个福袋吧", "有没有红包", "好羡慕主播的皮肤", "主播用的什么粉底", "直播间好热闹",
    "加入粉丝团了", "灯牌点亮了", "主播唱首歌", "今天有什么好东西", "下一个是什么",
    "等牙刷", "等吹风机", "我是来看主播的", "别念了直接上链接", "链接呢", "快上链接",
    "主播别墨迹了", "这个主播好会讲", "家人们谁懂啊", "说得好有道理", "太真实了",
    "今天怎么这么晚才开播", "主播头发好顺", "助理姐姐也好看", "哇哦", "可以可以", "懂了懂了",
    "我就看看不买", "钱包已经空了", "这个月吃土了", "刚发工资 冲", "老公说不许买", "先收藏了",
    "加购了 等活动", "姐妹们买了的说说效果", "已经种草了", "主播今天好温柔", "主播辛苦啦 早点休息",
    "从抖音刷过来的", "第一次看这个直播间", "主播是哪里人", "口音好可爱", "这个灯光好舒服",
    "主播能不能转一圈", "给主播点个赞", "来晚了 错过什么了", "求回放", "上一个链接还能拍吗",
    "弹幕好多", "手机都卡了", "为啥我进不去购物车", "刷到了刷到了", "今晚必须拿下",
    "主播说得我心动了", "真的假的", "有点贵啊", "不贵不贵", "蹲返场", "主播好有耐心",
    "我去看看详情页", "评论区好热闹", "谁在和我一起看", "上班摸鱼看直播", "孩子睡了终于能看了",
)
SPAM: Final = (
    "关注我 互粉", "兼职日结 加V", "看我主页有惊喜", "点我头像领红包", "代购正品 私聊",
    "刷刷刷刷刷刷刷", "哈哈哈哈哈哈哈哈哈哈哈哈", "666666666666", "11111111111111",
)

PRODUCT_Q: Final[dict[str, tuple[str, ...]]] = {
    "JH-101": (
        "精华液敏感肌能用吗", "油皮可以用吗", "孕妇能用这个精华吗", "精华多少毫升",
        "小样是多大的", "和那个小棕瓶比哪个好", "一瓶能用多久", "有酒精吗", "闭口能用吗",
        "学生党可以用吗", "早上用还是晚上用", "可以和VC一起用吗", "精华是几号链接",
        "保质期多久啊", "是正品吗 有防伪吗", "多少钱一瓶", "能拍两瓶吗 有限购吗",
        "干皮冬天用够不够滋润", "痘痘肌能用吗 会不会闷痘",
    ),
    "MS-202": (
        "面霜是预售吗", "面霜多少克", "面霜油不油", "孕妇可以用面霜吗", "面霜有香味吗",
        "预售要等多久", "面霜和精华一起拍能一起发吗", "面霜适合二十几岁吗", "面霜能白天用吗",
        "面霜多少钱", "旅行装是几克的", "干皮用面霜会不会搓泥", "面霜几号链接",
    ),
    "YS-301": (
        "牙刷有几个档位", "牙刷防水吗", "充一次电能用多久", "牙龈出血能用吗",
        "刷头好买吗", "小孩能用吗", "牙刷什么颜色", "是Type-C充电吗", "牙刷多少钱",
        "送几个刷头", "牙刷声音大不大", "戴牙套能用吗", "牙刷有旅行盒吗", "现货还是预售",
    ),
    "CF-401": (
        "吹风机多少瓦", "吹风机重不重", "吹风机噪音大吗", "能带出国用吗", "有几档风速",
        "吹风机送什么", "头发多吹干要多久", "有冷风吗", "吹风机多少钱", "吹风机有几个颜色",
    ),
    "JF-501": (
        "卷发棒多粗的", "短发能用吗", "卷发棒包邮吗", "新手能学会吗", "会不会烫头发",
        "卷发棒几档温度", "卷发棒多少钱", "32的还是28的好", "卷发棒有赠品吗",
    ),
}

# After-sales comments by intent id; {p} is filled with a product alias.
AFTER_SALES: Final[dict[str, tuple[str, ...]]] = {
    "return_refund": (
        "我要退货 怎么退", "{p}不想要了能退吗", "退款申请了三天了还没处理", "拆了能退吗",
        "tui货怎么弄", "申请退款客服一直不回", "七天无理由怎么申请", "退货地址在哪",
        "退了货钱什么时候到账", "我想换个颜色能换吗", "买错了 能退款吗", "退货运费谁出",
        "{p}用了不喜欢可以退吗", "仅退款可以吗", "退款被拒了 为什么", "刚拍的 能取消订单吗",
        "我要退款！！", "退貨怎麼辦理",
    ),
    "logistics": (
        "什么时候发货 都三天了", "上周拍的{p}还没发货", "kd到哪了 一直不动", "物流三天没更新了",
        "发的什么快递", "能发顺丰吗", "催发货", "我的{p}怎么还没到", "显示签收了但我没收到",
        "快递员放驿站了也不打电话", "物流信息一直停在揽收", "什么时候能到啊 急用",
        "新疆能发吗", "几天能到", "怎么还不发货啊", "发货太慢了吧", "能不能快点发货",
        "甚麼時候發貨", "地址填错了能改吗", "拍了两单能合并发吗",
    ),
    "quality": (
        "收到漏液了", "{p}收到瓶子是碎的", "用了过敏了 脸好红", "收到的{p}是坏的",
        "少发了一个小样", "发错货了 我买的不是这个", "{p}充不进电", "包装破损了",
        "开封就有一股怪味", "用了两天脸上起疹子", "{p}用了一次就不转了", "泵头按不出来",
        "收到是空瓶 什么情况", "漏了一半 盒子全湿了", "{p}有划痕 是不是二手的", "盖子是裂的",
        "用完刺痛 还起红点", "收到漏液了！！！", "收到破損了",
    ),
    "warranty": (
        "{p}坏了能修吗", "保修怎么弄", "保修期多久", "过了七天坏了怎么办", "维修要寄到哪里",
        "{p}用了一个月就坏了 能换吗", "保修要发票吗", "维修运费谁出", "寄修多久能寄回来",
        "保修卡丢了还能保吗",
    ),
    "price_promo": (
        "刚买就降价了 能保价吗", "昨天买的比今天贵二十 能退差价吗", "优惠券怎么用不了",
        "赠品没收到", "说好的小样呢 没收到", "满减怎么没减", "保价怎么申请",
        "我拍的时候没送赠品 能补吗", "券领了下单没抵扣", "前一百名送的东西我没收到",
        "今天买比上周便宜好多 能补差价吗", "赠品什么时候发",
    ),
    "info_mismatch": (
        "主播说包邮 页面怎么要运费", "和主播说的不一样啊", "页面写的跟你说的不一样",
        "主播说的赠品页面没写", "说好的现货 怎么变预售了", "主播说的价格和下单价格不一样",
        "详情页写的容量和主播说的不一样",
    ),
    "complaint": (
        "骗子 我要打12315", "虚假宣传 我要投诉", "等着被举报吧", "黑心商家",
        "再不处理我就去消协投诉", "已经投诉到平台了", "骗人的 大家别买", "客服态度太差了 投诉",
        "我要举报你们直播间", "欺骗消费者 12315见",
    ),
}
AFTER_SALES_WEIGHTS: Final = {
    "return_refund": 20, "logistics": 25, "quality": 9, "warranty": 8, "price_promo": 12,
    "info_mismatch": 8, "complaint": 7,
}
SPIKE_LINES: Final = (
    "精华收到漏液了", "我的也漏了", "+1 也漏液", "漏液了 盒子都湿了", "收到漏液 怎么处理",
    "瓶子裂了 漏了一地", "我这瓶也是漏的", "漏液漏液漏液", "精华液漏了一半",
    "都漏液吗 这批有问题吧", "泵头那里一直渗", "外箱都被泡软了", "收到就是漏的 什么质量",
    "我也是 漏液了", "同款漏液 退款", "这批精华是不是有问题", "拆开全是精华 瓶子裂了",
    "用了过敏 脸又红又痒", "也过敏了 起小红点", "漏液+1", "漏液的扣1", "1 漏了",
    "一样 瓶身裂开了", "快递盒一股精华味 漏光了", "我妈那瓶也漏了", "一拆开就漏",
    "漏成这样还卖", "我的盖子松了 洒了好多", "漏液 求补发", "又一个漏液的", "精华漏液太严重了",
    "收到漏液了！！", "漏液 客服不理人", "瓶子碎了 玻璃渣都出来了",
)

PREFIXES: Final = ("", "", "", "", "主播", "客服", "@客服 ", "请问", "问下", "小助理 ", "在吗 ")
ASK_PREFIXES: Final = ("", "", "", "", "主播", "请问", "问下", "主播主播 ", "小助理 ", "想问一下")
# Where viewers say the purchase came from; joined before the after-sales line.
CONTEXTS: Final = (
    "上周在直播间买的", "昨天拍的", "前天下的单", "我妈帮我拍的", "第二次问了", "怎么没人回",
    "双十一买的", "在你家回购好几次了", "刚收到", "拍了两单", "等了好久了", "问了客服没人理",
)
SUFFIXES: Final = ("", "", "", "", "？", "??", "！", "啊", "呢", "[流泪]", "[发怒]", "😭", "。。。")
ALIASES: Final = {
    "JH-101": ("精华", "精华液", "小蓝瓶"),
    "MS-202": ("面霜", "面霜"),
    "YS-301": ("牙刷", "电动牙刷"),
    "CF-401": ("吹风机", "风筒"),
    "JF-501": ("卷发棒", "卷棒"),
}

# Pinyin, abbreviations and typos as viewers type them, placed so every run has them.
SPELLINGS: Final = (
    ("logistics", "kd到哪了 三天了还不动"), ("return_refund", "tui货地址发我一下"),
    ("return_refund", "怎么tui款啊"), ("return_refund", "退慷什么时候到账"),
    ("logistics", "fa货了没 zb回一下"), ("quality", "收到lou液了 盒子湿透"),
    ("warranty", "保秀怎么弄 牙刷坏了"), ("complaint", "pian子 我要去12315"),
)
# Personal data viewers type on the public screen (all fictitious), masked by the agent.
PII_LINES: Final = (
    "我电话13812345678 快联系我退款", "客服打我电话 138-1234-5678 漏液了",
    "订单号3712889022314456 什么时候发货", "订单 2025112212345678 退款没到账",
    "快递单号SF1234567890123 三天没动了",
    "地址填错了 改成浙江省杭州市西湖区文三路138号3单元502室 电话13900001111",
    "收件人王小明 15012345678 上海市浦东新区世纪大道100号 还没到",
    "运单号YT8812345678901 显示签收了我没收到",
)
# Markup and mass-mention attempts that must stay inert downstream.
HOSTILE: Final = (
    "<img src=x onerror=alert(1)>", "<script>alert(document.cookie)</script>退款",
    "[点我领券](http://x)", "@all 这家骗人 都来退款", "**加粗** `code` 收到漏液了",
    "\u202e退款 反向文字\u202c", "javascript:alert(1)",
)

# fmt: on


@dataclass(frozen=True, slots=True)
class Users:
    """Synthetic viewer ids; a few regulars talk much more than the rest."""

    ids: tuple[str, ...]
    weights: tuple[float, ...]

    @classmethod
    def make(cls, rng: random.Random, n: int) -> Users:
        """``n`` distinct uids with Zipf-like activity."""
        ids = tuple(f"u{x}" for x in rng.sample(range(10_000_000, 99_999_999), n))
        return cls(ids, tuple(1.0 / (rank + 1) ** 0.8 for rank in range(n)))

    def pick(self, rng: random.Random) -> str:
        """One viewer, by activity."""
        return rng.choices(self.ids, self.weights)[0]


def decorate(
    rng: random.Random, core: str, *, fancy: float = 0.6, prefixes: Sequence[str] = PREFIXES
) -> str:
    """Prefix/suffix/emoji variation of a hand-written line, as viewers type it."""
    text = core
    if rng.random() < fancy:
        text = rng.choice(prefixes) + text + rng.choice(SUFFIXES)
    if rng.random() < 0.12:
        text += rng.choice(EMOJI)
    return text


def chatter(rng: random.Random) -> tuple[str, str]:
    """Greetings, reactions, emoji codes and spam (intent ``other``)."""
    roll = rng.random()
    if roll < 0.12:
        return "chatter", "".join(rng.choices(EMOJI, k=rng.randint(1, 4)))
    if roll < 0.15:
        return "chatter", rng.choice(SPAM)
    text = rng.choice(CHATTER)
    if rng.random() < 0.18:
        text += " " + rng.choice(CHATTER)
    if rng.random() < 0.3:
        text += rng.choice(EMOJI)
    return "chatter", text


def room_skus(room: str) -> tuple[str, ...]:
    """Every SKU ``room`` sells in this broadcast."""
    return tuple(sku for r, _, sku in LINEUP if r == room)


def product_question(rng: random.Random, room: str, sku: str) -> tuple[str, str]:
    """A pre-sale question, mostly about the product on air."""
    if rng.random() < 0.15:
        sku = rng.choice(room_skus(room))
    return "product", decorate(rng, rng.choice(PRODUCT_Q[sku]), fancy=0.4, prefixes=ASK_PREFIXES)


def after_sales(rng: random.Random, room: str, sku: str) -> tuple[str, str]:
    """An after-sales line; half are about another purchase than the product on air."""
    label = rng.choices(tuple(AFTER_SALES_WEIGHTS), tuple(AFTER_SALES_WEIGHTS.values()))[0]
    if rng.random() < 0.5:
        sku = rng.choice(room_skus(room))
    core = rng.choice(AFTER_SALES[label]).replace("{p}", rng.choice(ALIASES[sku]))
    if rng.random() < 0.25:
        core = rng.choice(CONTEXTS) + rng.choice(("", " ", "，")) + core
    return f"after_sales:{label}", decorate(rng, core)


def comment_text(rng: random.Random, room: str, sku: str) -> tuple[str, str]:
    """Kind and text of one comment: ~65% chatter, ~15% product, ~20% after-sales."""
    roll = rng.random()
    if roll < 0.65:
        return chatter(rng)
    if roll < 0.80:
        return product_question(rng, room, sku)
    return after_sales(rng, room, sku)


def comment(room: str, user: str, text: str, ts: float) -> Event:
    """A DESIGN comment event."""
    return {"type": "comment", "room": room, "user": user, "text": text, "ts": ts}


# -- timing --------------------------------------------------------------------------------

# Comment arrival rate (events/s) by room and offset: bursts after price talk and during the
# flash-sale countdown, quiet stretches while the host demonstrates.
RATES: Final[dict[str, tuple[tuple[float, float, float], ...]]] = {
    ROOM1: ((0, 5, 14), (18, 28, 20), (48, 56, 3), (96, 114, 13), (150, 158, 3), (162, 172, 16)),
    ROOM2: ((104, 112, 5),),
}
BASE_RATE: Final = {ROOM1: 10.0, ROOM2: 1.9}


def rate(room: str, offset: float) -> float:
    """Arrivals per second in ``room`` at ``offset``."""
    for lo, hi, value in RATES[room]:
        if lo <= offset < hi:
            return value
    return BASE_RATE[room]


def arrivals(rng: random.Random, room: str) -> list[float]:
    """Poisson arrival offsets with a piecewise rate (thinning)."""
    peak = max([BASE_RATE[room], *(v for _, _, v in RATES[room])])
    out: list[float] = []
    offset = 0.0
    while True:
        offset += rng.expovariate(peak)
        if offset >= DURATION:
            return out
        if rng.random() < rate(room, offset) / peak:
            out.append(offset)


def other_event(rng: random.Random, room: str, user: str, ts: float) -> Tagged:
    """A gift, like or enter event (counted and ignored by the agent)."""
    kind = rng.choices(("gift", "like", "enter"), (2, 3, 4))[0]
    event: Event = {"type": kind, "room": room, "user": user, "ts": ts}
    if kind == "gift":
        event["gift"] = rng.choice(("小心心", "玫瑰", "棒棒糖", "墨镜", "火箭"))
        event["count"] = rng.choice((1, 1, 1, 5, 10))
    elif kind == "like":
        event["count"] = rng.randint(1, 30)
    return Tagged(kind, event)


def room_comments(rng: random.Random, room: str, users: Users) -> list[Tagged]:
    """The organic traffic of one room."""
    out = []
    for offset in arrivals(rng, room):
        user, ts = users.pick(rng), START + offset
        if rng.random() < 0.05:
            out.append(other_event(rng, room, user, ts))
            continue
        kind, text = comment_text(rng, room, on_air(room, offset))
        out.append(Tagged(kind, comment(room, user, text, ts)))
    return out


def placed(
    rng: random.Random,
    room: str,
    users: Users,
    *,
    kind: str,
    lines: Sequence[str],
    window: tuple[float, float],
    text: Callable[[str], str] = str,
) -> list[Tagged]:
    """``lines`` at random offsets inside ``window``, each from some viewer."""
    return [
        Tagged(kind, comment(room, users.pick(rng), text(line), START + rng.uniform(*window)))
        for line in lines
    ]


def scripted(rng: random.Random, users: dict[str, Users]) -> list[Tagged]:
    """Misstatements, absolute terms, and viewers pointing out the contradictions."""
    out = []
    for s in SCRIPTED:
        sku = on_air(s.room, s.offset)
        out.append(Tagged(s.kind, speech_event(s.room, START + s.offset, s.text, sku)))
        window = (s.offset + 2.0, s.offset + 14.0)
        out += placed(
            rng, s.room, users[s.room], kind="after_sales:info_mismatch", lines=s.reactions,
            window=window, text=lambda t: decorate(rng, t, fancy=0.3),
        )  # fmt: skip
    return out


def special(rng: random.Random, users: dict[str, Users]) -> list[Tagged]:
    """The opening after-sales lines, the complaint spike, PII and hostile lines."""
    u1 = users[ROOM1]
    opening = (
        (0.8, ROOM1, "after_sales:logistics", "上周买的精华还没发货 什么时候发"),
        (2.1, ROOM1, "after_sales:return_refund", "我要退货 怎么退啊"),
        (3.6, ROOM1, "after_sales:quality", "收到漏液了 找谁处理"),
        (4.4, ROOM2, "after_sales:logistics", "吹风机什么时候发货 都三天了"),
    )
    out = [
        Tagged(kind, comment(room, users[room].pick(rng), text, START + offset))
        for offset, room, kind, text in opening
    ]
    spike = rng.sample(SPIKE_LINES, SPIKE_SIZE)
    out += placed(rng, ROOM1, u1, kind="spike:quality", lines=spike, window=SPIKE_WINDOW)
    out += placed(rng, ROOM1, u1, kind="pii", lines=PII_LINES, window=(8.0, 170.0))
    hostile = [*HOSTILE, "退款" + "啊" * 4998]  # one 5,000-character line
    out += placed(rng, ROOM1, u1, kind="hostile", lines=hostile, window=(10.0, 175.0))
    for label, text in SPELLINGS:
        out += placed(
            rng, ROOM1, u1, kind=f"after_sales:{label}", lines=[text], window=(6.0, 175.0)
        )
    traditional = ("主播好漂亮", "這個精華敏感肌能用嗎", "退款申請了還沒處理", "物流三天沒更新了")
    out += placed(
        rng, ROOM2, users[ROOM2], kind="traditional", lines=traditional, window=(20.0, 170.0)
    )
    return out


def compose(seed: int = SEED) -> list[Tagged]:
    """Every event of the demo broadcast, in time order, with its kind."""
    rng = random.Random(seed)
    users = {ROOM1: Users.make(rng, 700), ROOM2: Users.make(rng, 140)}
    events = [
        *host_speech(rng, ROOM1, (1.2, 2.3)),
        *host_speech(rng, ROOM2, (6.0, 10.0)),
        *scripted(rng, users),
        *special(rng, users),
        *room_comments(rng, ROOM1, users[ROOM1]),
        *room_comments(rng, ROOM2, users[ROOM2]),
    ]
    for tagged in events:
        tagged.event["ts"] = round(float(str(tagged.event["ts"])), 3)
    events.sort(key=lambda t: (t.event["ts"], t.event["room"], t.event["type"]))
    return events


def render(events: Sequence[Tagged]) -> str:
    """The JSONL text: one compact event per line, Chinese kept readable."""
    return "".join(
        json.dumps(t.event, ensure_ascii=False, separators=(",", ":")) + "\n" for t in events
    )


def summary(events: Sequence[Tagged]) -> str:
    """Counts per kind and room, for the commit message and the README."""
    kinds = Counter(t.kind.split(":")[0] for t in events)
    rooms = Counter(str(t.event["room"]) for t in events)
    return f"{len(events)} events; kinds {dict(sorted(kinds.items()))}; rooms {dict(rooms)}"


def main(argv: Sequence[str] | None = None) -> int:
    """Write (or with --check, verify) stream.jsonl."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--check", action="store_true", help="exit 1 if the file differs")
    args = parser.parse_args(argv)
    events = compose()
    text = render(events)
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if current != text:
            print(f"{args.out} is stale; run {Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    args.out.write_text(text, encoding="utf-8")
    print(f"{args.out}: {summary(events)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
