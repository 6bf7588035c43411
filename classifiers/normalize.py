"""Text normalisation applied to every danmaku line before tokenising.

Steps, in order (each one is why a later one can stay simple):

1. full-width → half-width and ASCII lower-case (``ｔｈ`` and ``TH`` are the same word);
2. traditional → simplified (OpenCC ``t2s``), so ``退貨`` meets ``退货``;
3. emojis and ``[表情]`` codes → a few words of their tone (``😡`` → ``生气``), others dropped;
4. spaced-out characters joined (``快 递 到 了`` → ``快递到了``), runs of one character folded
   to two (``退退退退`` → ``退退``, ``？？？`` → ``??``);
5. pinyin spellings and abbreviations of key words → Chinese (``tui货`` → ``退货``, ``kd`` →
   ``快递``);
6. folded again (a mapping can create a new run) and whitespace collapsed.

``normalize`` is pure, never raises, is idempotent, and its output is at most three times as
long as its input: a pinyin word maps to at most two characters per letter, an emoji to a
two-character word plus a separating space.
"""

from __future__ import annotations

import re
from functools import lru_cache

import opencc

# U+FF01..U+FF5E are the full-width forms of ASCII 0x21..0x7E; U+3000 is the ideographic space.
# Both tables are merged into one so a single ``str.translate`` does the work; a full-width
# capital maps straight to the lower-case ASCII letter.
_WIDTH = {cp: ord(chr(cp - 0xFEE0).lower()) for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
_WIDTH.update({ord(c): ord(c.lower()) for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"})
# "。" and "，" stay: they are not ASCII forms. Question/exclamation marks are already mapped above.

# Bracket emoticon codes of Douyin/Kuaishou/Bilibili keyboards, by tone.
_CODE_WORDS: dict[str, str] = {}
for _word, _names in {
    "哈哈": "捂脸 笑哭 大笑 偷笑 坏笑 憨笑 呲牙 奸笑 笑 哈哈 doge 狗头 滑稽 机智 嘿哈 鼓掌 得意",
    "生气": "发怒 怒 生气 愤怒 抓狂 白眼 鄙视 吐 敲打 骂人 黑脸 裂开 无语 翻白眼",
    "难过": "流泪 大哭 哭 委屈 可怜 快哭了 难过 伤心 衰 泪奔 心碎",
    "疑问": "疑问 问号 思考 what 黑人问号 纳尼 疑惑",
    "赞": "赞 点赞 强 棒 牛 厉害 比心 爱心 心 玫瑰 送心 加油 抱拳 耶 ok 礼物 红包 微笑 可爱 色",
}.items():
    for _name in _names.split():
        _CODE_WORDS[_name] = _word

_EMOJI_WORDS: dict[str, str] = {}
for _word, _chars in {
    "哈哈": "😂🤣😄😆😁😀😃😹🤪😜😝😛🙃😏🐶",
    "生气": "😡😠🤬💢👎🙄😤🖕😒",
    "难过": "😭😢😞😔😟🥺💔😩😫😿",
    "疑问": "❓❔🤔😳😨😱😰",
    "赞": "👍👏🙏❤💕💖💗💓💯🌹🎉✨🔥🥰😍😘😊🤗💪🌸🎁💰",
}.items():
    for _char in _chars:
        _EMOJI_WORDS[_char] = _word

_CODE = re.compile(r"\[([\u4e00-\u9fffa-z]{1,6})\]")
# Pictographs, symbols, dingbats, variation selectors and joiners that emojis are built from.
_EMOJI = re.compile(
    "[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\u2300-\u23ff\ufe0e\ufe0f\u200d\u20e3]"
)
_RUN = re.compile(r"(.)\1{2,}", re.DOTALL)
_SPACE = re.compile(r"\s+")
_LETTER = re.compile("[a-z]")
# A single Chinese character standing between spaces, twice: a spaced-out line.
_SPACED = re.compile(r"(?:^|\s)[\u4e00-\u9fff]\s+[\u4e00-\u9fff](?:\s|$)")

# Pinyin spellings and initials of the words that carry after-sales meaning. Only matched as a
# whole run of ASCII letters and digits, so "th" in "that" or "6th" stays as it is. At most two
# output characters per input letter keeps the length bound.
PINYIN: dict[str, str] = {
    "tui": "退",
    "tuihuo": "退货",
    "th": "退货",
    "tuikuan": "退款",
    "tk": "退款",
    "huo": "货",
    "huan": "换",
    "huanhuo": "换货",
    "kd": "快递",
    "kuaidi": "快递",
    "wl": "物流",
    "wuliu": "物流",
    "fh": "发货",
    "fahuo": "发货",
    "sh": "售后",
    "shouhou": "售后",
    "kf": "客服",
    "kefu": "客服",
    "zl": "质量",
    "zhiliang": "质量",
    "yfx": "运费险",
    "baojia": "保价",
    "zp": "赠品",
    "zengpin": "赠品",
    "yhq": "优惠券",
    "quan": "券",
    "jubao": "举报",
    "tousu": "投诉",
    "ts": "投诉",
    "pianzi": "骗子",
    "pz": "骗子",
    "baoxiu": "保修",
    "weixiu": "维修",
    "lj": "垃圾",
    "laji": "垃圾",
    "xswl": "笑死我了",
    "yyds": "永远的神",
    "zbjs": "主播姐姐",
    "zb": "主播",
    "jms": "姐妹们",
    "nb": "牛",
}
_PINYIN = re.compile(
    r"(?<![a-z0-9])(" + "|".join(sorted(PINYIN, key=len, reverse=True)) + r")(?![a-z0-9])"
)

_T2S = opencc.OpenCC("t2s")


def _code(match: re.Match[str]) -> str:
    word = _CODE_WORDS.get(match.group(1))
    # Spaces around the replacement keep a dropped code from fusing its neighbours into a new
    # code on a second pass (idempotence).
    return f" {word} " if word is not None else " "


def _emoji(match: re.Match[str]) -> str:
    word = _EMOJI_WORDS.get(match.group(0))
    return f" {word} " if word is not None else " "


def _pinyin(match: re.Match[str]) -> str:
    return PINYIN[match.group(1)]


def _fold(text: str) -> str:
    return _RUN.sub(r"\1\1", text)


def _is_cjk(token: str) -> bool:
    return len(token) == 1 and "\u4e00" <= token <= "\u9fff"


def _join_spaced(text: str) -> str:
    """Join runs of three or more spaced-out Chinese characters ("快 递 到 了" → "快递到了").

    Whitespace is collapsed on the way. Only single CJK characters are joined, so ASCII
    tokens keep their boundaries for the pinyin step.
    """
    tokens = text.split()
    out: list[str] = []
    run: list[str] = []
    for token in [*tokens, ""]:
        if _is_cjk(token):
            run.append(token)
            continue
        if len(run) >= 3:
            out.append("".join(run))
        else:
            out.extend(run)
        run = []
        if token:
            out.append(token)
    return " ".join(out)


def normalize(text: str) -> str:
    """Return the normalised form of one danmaku line (pure, idempotent, never raises)."""
    out = _T2S.convert(text.translate(_WIDTH))
    if "[" in out:
        out = _CODE.sub(_code, out)
    out = _EMOJI.sub(_emoji, out)
    if _SPACED.search(out):
        out = _join_spaced(out)
    out = _fold(out)
    if _LETTER.search(out):
        out = _PINYIN.sub(_pinyin, out)
        # A mapped word can complete a spaced-out run ("快 递 kd" → "快 递 快递").
        if _SPACED.search(out):
            out = _join_spaced(out)
    out = _fold(out)
    return _SPACE.sub(" ", out).strip()


@lru_cache(maxsize=65536)
def normalize_cached(text: str) -> str:
    """``normalize`` with a cache: live rooms repeat short lines (``666``, ``扣1``) constantly."""
    return normalize(text)
