"""FAQ retrieval: the product FAQ entry closest to a viewer's question, as an on-screen reply.

Questions are compared as TF-IDF vectors of character uni- and bigrams of the normalised text
(cosine similarity), after dropping fillers ("主播", "请问", "吗") and folding a few synonyms
("几天"/"什么时候" → "多久"). Bigrams survive typos and need no tokenizer; IDF computed over
the catalog's own questions discounts words every entry shares. A question that names a
product (by name or alias) is matched against that product's entries only; otherwise the SKU
on air is searched first, then the whole catalog. ``None`` when nothing reaches the threshold
(tuned on ``data/faq_pairs.jsonl``, see ``tune_threshold``).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

from classifiers.normalize import normalize_cached

# Chosen with ``tune_threshold`` on data/faq_pairs.jsonl (see MODEL_CARD.md).
DEFAULT_THRESHOLD = 0.23


class _Entry(Protocol):
    @property
    def q(self) -> str: ...
    @property
    def a(self) -> str: ...


class _Product(Protocol):
    @property
    def sku(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def aliases(self) -> Sequence[str]: ...
    @property
    def faq(self) -> Sequence[_Entry]: ...


class FaqCatalog(Protocol):
    """What retrieval needs of ``classifiers.catalog.Catalog``."""

    @property
    def products(self) -> Mapping[str, _Product]: ...


@dataclass(slots=True)
class FaqMatch:
    """The best FAQ entry for a question, with its cosine similarity."""

    sku: str
    question: str
    reply: str
    score: float


# Longest first so "什么时候" is folded before "时候" could be dropped.
SYNONYMS: tuple[tuple[str, str], ...] = (
    ("穿什么码", "尺码"),
    ("什么码", "尺码"),
    ("多大码", "尺码"),
    ("多长时间", "多久"),
    ("什么时候", "多久"),
    ("几天", "多久"),
    ("啥时候", "多久"),
    ("怎么样", "如何"),
    ("可不可以", "能"),
    ("能不能", "能"),
    ("可以", "能"),
    ("支不支持", "支持"),
    ("有没有", "有"),
    ("是不是", "是"),
    ("寄", "发"),
    ("送的", "赠品"),
    ("小样", "赠品"),
    ("退换", "退货"),
    ("退掉", "退货"),
    ("质保", "保修"),
    ("维修", "修"),
)
_SYNONYM = re.compile("|".join(re.escape(a) for a, _ in SYNONYMS))
_SYNONYM_MAP = dict(SYNONYMS)
FILLERS = re.compile(
    r"主播|宝宝|家人们|姐妹们|请问|问一下|问下|想问|那个|这个|一下|我们|我的|我|你们|"
    r"吗|呢|呀|啊|吧|哦|嘛|了|的|什么|怎么|哪个|哪里|"
    # tone words the normaliser makes of emojis
    r"哈哈|生气|难过|疑问|赞|[\s?!,.，。？！~、:：;；\"'“”…]"
)


# Single characters match too easily across unrelated questions ("不发货" vs "不发热"); they
# count half as much as bigrams.
UNIGRAM_WEIGHT = 0.5


def _terms(text: str, strip: str = "") -> list[str]:
    """Unigrams and bigrams of the normalised question, without fillers and ``strip``."""
    text = normalize_cached(text)
    if strip:
        # The product's name says which FAQ to search, not which entry matches.
        text = text.replace(strip, " ")
    text = _SYNONYM.sub(lambda m: _SYNONYM_MAP[m.group(0)], text)
    text = FILLERS.sub("", text)
    return list(text) + [text[i : i + 2] for i in range(len(text) - 1)]


@dataclass(frozen=True, slots=True)
class _Doc:
    sku: str
    question: str
    reply: str
    vector: dict[str, float]


class FaqIndex:
    """Nearest-FAQ search over a catalog; build once per catalog (re)load."""

    def __init__(self, catalog: FaqCatalog, threshold: float = DEFAULT_THRESHOLD) -> None:
        self.threshold = threshold
        # A room asks the same question many times within minutes; a bounded per-index cache
        # (rebuilt with the index on catalog reload) answers repeats without rescoring.
        self._cached = lru_cache(maxsize=4096)(self._match)
        raw = [
            (sku, entry.q, entry.a, Counter(_terms(entry.q)))
            for sku, product in catalog.products.items()
            for entry in product.faq
            if entry.q.strip() and entry.a.strip()
        ]
        df: Counter[str] = Counter()
        for *_, counts in raw:
            df.update(counts.keys())
        n = len(raw)
        self._idf = {term: math.log((1 + n) / (1 + d)) + 1.0 for term, d in df.items()}
        self._default_idf = math.log(1 + n) + 1.0
        # Names a viewer may use for a product ("耳机" → B2): a question naming another product
        # than the one on air is answered from that product's FAQ first. Longest first.
        names = [
            (normalize_cached(alias), sku)
            for sku, product in catalog.products.items()
            for alias in (product.name, *product.aliases)
            if normalize_cached(alias)
        ]
        self._names = sorted(names, key=lambda pair: -len(pair[0]))
        self._by_sku: dict[str, list[_Doc]] = {}
        self._all: list[_Doc] = []
        for sku, q, a, counts in raw:
            doc = _Doc(sku, q, a, self._vector(counts))
            self._by_sku.setdefault(sku, []).append(doc)
            self._all.append(doc)

    def __len__(self) -> int:
        return len(self._all)

    def _vector(self, counts: Mapping[str, int]) -> dict[str, float]:
        vec = {
            t: (1.0 + math.log(c))
            * self._idf.get(t, self._default_idf)
            * (UNIGRAM_WEIGHT if len(t) == 1 else 1.0)
            for t, c in counts.items()
        }
        norm = math.sqrt(sum(v * v for v in vec.values()))
        return {t: v / norm for t, v in vec.items()} if norm else {}

    def _best(self, query: dict[str, float], docs: Iterable[_Doc]) -> tuple[float, _Doc | None]:
        best, found = 0.0, None
        for doc in docs:
            sim = sum(v * doc.vector.get(t, 0.0) for t, v in query.items())
            if sim > best:
                best, found = sim, doc
        return best, found

    def _named(self, text: str) -> tuple[str, str] | None:
        norm = normalize_cached(text)
        for name, sku in self._names:
            if name in norm:
                return name, sku
        return None

    def named_sku(self, text: str) -> str | None:
        """The SKU whose name or alias ``text`` mentions, if any."""
        named = self._named(text)
        return named[1] if named is not None else None

    def scores(self, text: str, sku: str | None) -> tuple[float, FaqMatch | None]:
        """The best match before thresholding.

        A question naming a product searches only that product's entries (another product's
        answer would be wrong on screen); otherwise the SKU on air first, then every product.
        """
        named = self._named(text)
        query = self._vector(Counter(_terms(text, named[0] if named else "")))
        if not query:
            return 0.0, None
        if named is not None:
            best, doc = self._best(query, self._by_sku.get(named[1], ()))
        else:
            best, doc = self._best(query, self._by_sku.get(sku or "", ()))
            if doc is None or best < self.threshold:
                best, doc = self._best(query, self._all)
        if doc is None:
            return 0.0, None
        return best, FaqMatch(doc.sku, doc.question, doc.reply, round(best, 4))

    def match(self, text: str, sku: str | None) -> FaqMatch | None:
        """The closest FAQ entry of ``sku`` (else of any product), or ``None`` if none is close."""
        return self._cached(text, sku)

    def _match(self, text: str, sku: str | None) -> FaqMatch | None:
        best, found = self.scores(text, sku)
        return found if best >= self.threshold else None


@dataclass(frozen=True, slots=True)
class FaqPair:
    """A labelled retrieval case: the FAQ question that answers ``text`` (``None``: no entry)."""

    text: str
    sku: str | None
    expected: str | None


def tune_threshold(index: FaqIndex, pairs: Sequence[FaqPair]) -> tuple[float, float]:
    """The threshold maximising accuracy on labelled pairs, and that accuracy.

    A case is right when the returned entry is the expected one, or when nothing is returned
    and none was expected. Ties go to the higher threshold (fewer wrong replies on screen).
    """
    scored = [(index.scores(p.text, p.sku), p.expected) for p in pairs]
    best_t, best_acc = 0.0, -1.0
    for step in range(5, 96):
        t = step / 100
        right = 0
        for (sim, found), expected in scored:
            got = found.question if found is not None and sim >= t else None
            right += got == expected
        acc = right / len(pairs) if pairs else 0.0
        if acc >= best_acc:
            best_t, best_acc = t, acc
    return best_t, best_acc
