"""FAQ retrieval: SKU preference, fallback, threshold on the labelled pairs."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from classifiers.faq import DEFAULT_THRESHOLD, FaqIndex, FaqPair, tune_threshold

DATA = Path(__file__).resolve().parents[1] / "classifiers" / "data"


@dataclass
class Entry:
    """A FAQ entry shaped like ``classifiers.catalog.FaqEntry``."""

    q: str
    a: str


@dataclass
class Product:
    """The part of ``classifiers.catalog.Product`` retrieval reads."""

    sku: str
    faq: list[Entry] = field(default_factory=list)
    name: str = ""
    aliases: list[str] = field(default_factory=list)


@dataclass
class Catalog:
    """The part of ``classifiers.catalog.Catalog`` retrieval reads."""

    products: dict[str, Product]


def _catalog(path: Path) -> Catalog:
    data = json.loads(path.read_text("utf-8"))
    return Catalog(
        {
            p["sku"]: Product(
                p["sku"],
                [Entry(e["q"], e["a"]) for e in p["faq"]],
                name=p["name"],
                aliases=p.get("aliases", []),
            )
            for p in data["products"]
        }
    )


@pytest.fixture(scope="module")
def index() -> FaqIndex:
    """An index over the labelled-pairs catalog."""
    return FaqIndex(_catalog(DATA / "faq_catalog.json"))


def _pairs() -> list[FaqPair]:
    lines = (DATA / "faq_pairs.jsonl").read_text("utf-8").splitlines()
    return [FaqPair(**json.loads(line)) for line in lines if line.strip()]


def test_default_threshold_is_the_tuned_one(index: FaqIndex) -> None:
    """DEFAULT_THRESHOLD is what tuning picks on the pairs, and it is right on ≥ 90%."""
    threshold, accuracy = tune_threshold(index, _pairs())
    assert threshold == pytest.approx(DEFAULT_THRESHOLD)
    assert accuracy >= 0.9


def test_current_sku_first() -> None:
    """With the same question in two products, the SKU on air wins."""
    catalog = Catalog(
        {
            "A": Product("A", [Entry("多久发货？", "A款48小时内发货")]),
            "B": Product("B", [Entry("多久发货？", "B款预售7天发货")]),
        }
    )
    index = FaqIndex(catalog)
    for sku in ("A", "B"):
        match = index.match("什么时候发货", sku)
        assert match is not None
        assert match.sku == sku


def test_falls_back_to_other_products(index: FaqIndex) -> None:
    """A question about another product finds that product's entry."""
    match = index.match("耳机保修多久", "A1")
    assert match is not None
    assert (match.sku, match.question) == ("B2", "保修多久？")
    assert match.reply.startswith("整机保修12个月")


def test_named_product_first() -> None:
    """A question naming another product is answered from that product's FAQ."""
    catalog = Catalog(
        {
            "A": Product(
                "A", [Entry("多久发货？", "精华48小时内发货")], name="补水精华", aliases=["精华"]
            ),
            "B": Product("B", [Entry("多久发货？", "面霜预售7天发货")], name="面霜"),
        }
    )
    index = FaqIndex(catalog)
    assert index.named_sku("面霜什么时候发") == "B"
    assert index.named_sku("主播好美") is None
    match = index.match("面霜什么时候发货", "A")
    assert match is not None
    assert match.sku == "B"
    other = index.match("什么时候发货", "A")
    assert other is not None
    assert other.sku == "A"


def test_chatter_gets_nothing(index: FaqIndex) -> None:
    """Greetings and emojis match no entry."""
    for text in ("主播好美", "666", "😂😂", "", "   "):
        assert index.match(text, "A1") is None


def test_empty_catalog() -> None:
    """An empty catalog answers None without errors."""
    index = FaqIndex(Catalog({"X": Product("X")}))
    assert len(index) == 0
    assert index.match("多久发货", "X") is None
