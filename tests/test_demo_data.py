"""The bundled demo broadcast (configs/demo/) and the example configs (configs/examples/)."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from agent.config import load_config
from agent.errors import ConfigError
from agent.events import Comment, HostSpeech, parse_event

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "configs" / "demo"
EXAMPLES = ROOT / "configs" / "examples"
START = 1763800000.0
ROOMS = {"demo-room-1", "demo-room-2"}
FIELDS = (
    "price", "free_shipping", "ship_within_hours", "presale_days", "seven_day_return",
    "warranty_months", "gifts", "specs",
)  # fmt: skip
AFTER_SALES = {
    "return_refund", "logistics", "quality", "warranty", "price_promo", "info_mismatch",
    "complaint",
}  # fmt: skip


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("demo_make_stream", DEMO / "make_stream.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


GEN = _generator()
TAGGED = GEN.compose()
LINES = (DEMO / "stream.jsonl").read_text(encoding="utf-8").splitlines()
EVENTS: list[dict[str, Any]] = [json.loads(line) for line in LINES]
CATALOG: dict[str, Any] = yaml.safe_load((DEMO / "catalog.yaml").read_text(encoding="utf-8"))
LINEUP: dict[str, Any] = yaml.safe_load((DEMO / "lineup.yaml").read_text(encoding="utf-8"))
SKUS = {p["sku"] for p in CATALOG["products"]}


def _kinds(prefix: str) -> list[dict[str, Any]]:
    return [t.event for t in TAGGED if t.kind.split(":")[0] == prefix]


def test_stream_file_is_what_the_seeded_generator_writes() -> None:
    """stream.jsonl is byte-for-byte the output of make_stream.py with its fixed seed."""
    assert (DEMO / "stream.jsonl").read_text(encoding="utf-8") == GEN.render(TAGGED)
    assert GEN.render(GEN.compose()) == GEN.render(TAGGED)


def test_every_line_is_a_design_event() -> None:
    """Each line is one DESIGN event object with the right field types."""
    for event in EVENTS:
        assert event["room"] in ROOMS
        assert isinstance(event["ts"], float)
        if event["type"] == "comment":
            assert set(event) == {"type", "room", "user", "text", "ts"}
            assert re.fullmatch(r"u\d{8}", event["user"])
            assert isinstance(event["text"], str)
            assert event["text"]
        elif event["type"] == "speech":
            assert set(event) <= {"type", "room", "text", "ts", "sku"}
            assert event.get("sku", "JH-101") in SKUS
            assert "，" not in event["text"]
            assert "。" not in event["text"]
        else:
            assert event["type"] in {"gift", "like", "enter"}


def test_agent_parses_every_line() -> None:
    """The agent's own parser accepts every line; gift/like/enter are ignored, not rejected."""
    parsed = Counter(
        type(parse_event(event, source="replay", received=START)).__name__ for event in EVENTS
    )
    kinds = Counter(e["type"] for e in EVENTS)
    assert parsed[Comment.__name__] == kinds["comment"]
    assert parsed[HostSpeech.__name__] == kinds["speech"]
    assert parsed["NoneType"] == kinds["gift"] + kinds["like"] + kinds["enter"] > 0


def test_size_timespan_and_rooms() -> None:
    """At least 2,000 events over about three minutes, in time order, ~15% in the second room."""
    stamps = [e["ts"] for e in EVENTS]
    assert len(EVENTS) >= 2000
    assert stamps == sorted(stamps)
    assert START <= stamps[0] < START + 1
    assert START + 170 < stamps[-1] <= START + 180
    rooms = Counter(e["room"] for e in EVENTS)
    assert set(rooms) == ROOMS
    assert 0.10 <= rooms["demo-room-2"] / len(EVENTS) <= 0.20


def test_rate_has_bursts_and_quiet_moments() -> None:
    """The busiest second of room 1 carries several times the traffic of its quietest."""
    per_second = Counter(int(e["ts"] - START) for e in EVENTS if e["room"] == "demo-room-1")
    busy = [per_second[s] for s in range(180)]
    assert max(busy) >= 4 * max(1, min(busy))


def test_comment_mix() -> None:
    """Comments are mostly chatter, then after-sales, then pre-sale questions."""
    kinds = Counter(t.kind.split(":")[0] for t in TAGGED if t.event["type"] == "comment")
    total = sum(kinds.values())
    assert 0.55 <= kinds["chatter"] / total <= 0.70
    assert 0.10 <= kinds["product"] / total <= 0.20
    assert 0.15 <= (kinds["after_sales"] + kinds["spike"]) / total <= 0.25
    labels = {t.kind.split(":")[1] for t in TAGGED if t.kind.startswith("after_sales:")}
    assert labels == AFTER_SALES


def test_after_sales_start_within_five_seconds() -> None:
    """Both rooms have after-sales comments in the first five seconds of stream time."""
    early = {e["room"] for e in _kinds("after_sales") if e["ts"] < START + 5}
    assert early == ROOMS


def test_bundled_model_flags_the_opening_after_sales_lines() -> None:
    """The bundled intent model sees after-sales in the opening seconds, so alerts come at once."""
    from classifiers.intent import IntentClassifier  # noqa: PLC0415 - loads the model

    early = [e["text"] for e in _kinds("after_sales") if e["ts"] < START + 5]
    results = IntentClassifier.load(None).predict(early)
    assert sum(r.after_sales for r in results) >= len(early) // 2


def test_quality_spike_in_room_one() -> None:
    """About 30 quality complaints arrive in room 1 within 20 seconds."""
    lo, hi = GEN.SPIKE_WINDOW
    spike = _kinds("spike")
    assert len(spike) >= 25
    assert hi - lo <= 20
    assert all(e["room"] == "demo-room-1" and START + lo <= e["ts"] <= START + hi for e in spike)
    texts = [e["text"] for e in spike]
    assert sum(("漏" in t) or ("裂" in t) or ("碎" in t) or ("过敏" in t) for t in texts) >= 25


def test_host_speech_volume_and_scripted_lines() -> None:
    """About 120 host lines, ~8 misstatements over several fields and 2-3 absolute terms."""
    speech = [t for t in TAGGED if t.event["type"] == "speech"]
    assert 100 <= len(speech) <= 140
    fields = Counter(t.kind.split(":")[1] for t in speech if t.kind.startswith("misstatement:"))
    assert 7 <= sum(fields.values()) <= 10
    assert set(fields) <= set(FIELDS)
    assert len(fields) >= 6
    assert 2 <= sum(t.kind == "compliance" for t in speech) <= 3
    fillers = sum(("家人们" in t.event["text"]) or ("宝宝们" in t.event["text"]) for t in speech)
    assert fillers >= 20


def test_misstatements_contradict_the_catalog() -> None:
    """Each scripted misstatement is about a field the catalog states for the SKU on air."""
    products = {p["sku"]: p for p in CATALOG["products"]}
    for line in GEN.SCRIPTED:
        if not line.kind.startswith("misstatement:"):
            continue
        field = line.kind.split(":")[1]
        product = products[GEN.on_air(line.room, line.offset)]
        assert field in product
        if field not in ("ship_within_hours", "presale_days"):
            assert product[field] not in (None, [], {})
        assert line.reactions, "viewers point every misstatement out"


def test_privacy_and_hostile_lines_present() -> None:
    """Viewers type phones, order numbers, an address, markup and one 5,000-character line."""
    texts = [e["text"] for e in EVENTS if e["type"] == "comment"]
    assert sum(bool(re.search(r"1[3-9]\d[- ]?\d{4}[- ]?\d{4}", t)) for t in texts) >= 3
    assert any("订单" in t and re.search(r"\d{16}", t) for t in texts)
    assert any(re.search(r"省.+市.+区.+号", t) for t in texts)
    assert any("<script>" in t for t in texts)
    assert any("onerror=" in t for t in texts)
    assert any("](http" in t for t in texts)
    assert any("@all" in t for t in texts)
    assert max(len(t) for t in texts) == 5000
    assert any(re.search(r"[這還貨麼]", t) for t in texts)  # traditional characters
    assert any("tui货" in t for t in texts)
    assert any("kd" in t for t in texts)
    assert any("退慷" in t for t in texts)  # typo


def test_texts_are_varied() -> None:
    """No single comment text dominates and most non-chatter texts are distinct."""
    texts = Counter(e["text"] for e in EVENTS if e["type"] == "comment")
    assert texts.most_common(1)[0][1] <= 0.02 * sum(texts.values())
    asks = [e["text"] for e in _kinds("after_sales") + _kinds("product")]
    assert len(set(asks)) >= 0.5 * len(asks)
    speech = [e["text"] for e in EVENTS if e["type"] == "speech"]
    assert len(set(speech)) >= 0.9 * len(speech)


def test_catalog_follows_the_design_schema() -> None:
    """Every product has the DESIGN fields with their types, aliases and 5-10 FAQ entries."""
    products = CATALOG["products"]
    assert len(products) >= 4
    assert len(SKUS) == len(products)
    for p in products:
        assert isinstance(p["name"], str)
        assert isinstance(p["price"], int | float)
        for key in ("free_shipping", "seven_day_return"):
            assert p[key] is None or isinstance(p[key], bool)
        for key in ("ship_within_hours", "presale_days", "warranty_months"):
            assert p[key] is None or (isinstance(p[key], int) and p[key] > 0)
        assert all(isinstance(g, str) for g in p["gifts"])
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in p["specs"].items())
        assert p["aliases"]
        assert all(isinstance(a, str) for a in p["aliases"])
        assert 5 <= len(p["faq"]) <= 10
        assert all(set(entry) == {"q", "a"} and entry["q"] and entry["a"] for entry in p["faq"])
    by_sku = {p["sku"]: p for p in products}
    assert by_sku["MS-202"]["presale_days"] == 15
    assert by_sku["MS-202"]["ship_within_hours"] is None
    assert by_sku["YS-301"]["warranty_months"] == 12
    assert by_sku["JH-101"]["gifts"] == ["小样×2"]


def test_catalog_loads_with_the_catalog_module() -> None:
    """classifiers.catalog.load_catalog reads the demo catalog with every product."""
    catalog_module = pytest.importorskip("classifiers.catalog")
    catalog = catalog_module.load_catalog(DEMO / "catalog.yaml")
    assert len(catalog) == len(SKUS)
    assert catalog.get("MS-202").presale_days == 15


def test_lineup_matches_catalog_and_generator() -> None:
    """Lineup SKUs exist in the catalog, start at 0 in order, and match what the host presents."""
    assert LINEUP["start"] == START
    assert set(LINEUP["rooms"]) == ROOMS
    flat = []
    for room, entries in LINEUP["rooms"].items():
        offsets = [entry["at"] for entry in entries]
        assert offsets[0] == 0
        assert offsets == sorted(offsets)
        assert {entry["sku"] for entry in entries} <= SKUS
        flat += [(room, float(entry["at"]), entry["sku"]) for entry in entries]
    assert tuple(flat) == GEN.LINEUP
    for event in EVENTS:
        if event["type"] == "speech" and "sku" in event:
            assert event["sku"] == GEN.on_air(event["room"], event["ts"] - START)


def test_lineup_loads_with_the_lineup_module() -> None:
    """agent.lineup reads the demo lineup and reports the SKU on air at a given time."""
    lineup_module = pytest.importorskip("agent.lineup")
    catalog_module = pytest.importorskip("classifiers.catalog")
    catalog = catalog_module.load_catalog(DEMO / "catalog.yaml")
    lineup = lineup_module.Lineup.load(DEMO / "lineup.yaml", catalog=catalog)
    assert lineup.current("demo-room-1", START + 70) == "MS-202"
    assert lineup.current("demo-room-2", START + 10) == "CF-401"


def test_demo_config_points_at_the_demo_files() -> None:
    """configs/demo.yaml validates and replays stream.jsonl with this catalog and lineup."""
    config = load_config(ROOT / "configs" / "demo.yaml")
    assert config.catalog is not None
    assert config.catalog.resolve() == DEMO / "catalog.yaml"
    assert config.lineup is not None
    assert config.lineup.resolve() == DEMO / "lineup.yaml"


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_example_configs_validate(path: Path) -> None:
    """Each example config loads; examples of source types not built yet are skipped."""
    try:
        load_config(path)
    except ConfigError as exc:
        unknown = re.search(r"unknown type '(bilibili|push)'", str(exc))
        if unknown is None:
            raise
        pytest.skip(f"source type {unknown.group(1)} is not available yet")
