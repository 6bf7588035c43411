"""Catalog loaders: good and broken files in YAML, JSON, CSV and XLSX."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest

from classifiers.catalog import CatalogError, load_catalog

DEMO = Path(__file__).resolve().parent.parent / "configs" / "demo" / "catalog.yaml"
PRODUCT = {
    "sku": "A1",
    "name": "精华液",
    "price": 129,
    "free_shipping": True,
    "ship_within_hours": 48,
    "presale_days": None,
    "seven_day_return": True,
    "warranty_months": 12,
    "gifts": ["小样×2"],
    "specs": {"净含量": "500ml"},
    "faq": [{"q": "多久发货", "a": "48小时内"}],
}


def test_demo_yaml_loads() -> None:
    """The demo catalog loads with its presale product."""
    catalog = load_catalog(DEMO)
    product = catalog.get("MS-202")
    assert product is not None
    assert product.presale_days == 15
    assert product.ship_within_hours is None


def test_json_list_and_mapping(tmp_path: Path) -> None:
    """JSON as a list and as {"products": [...]} give the same product."""
    for i, data in enumerate(([PRODUCT], {"products": [PRODUCT]})):
        path = tmp_path / f"c{i}.json"
        path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        product = load_catalog(path).get("A1")
        assert product is not None
        assert product.price == 129.0
        assert product.faq[0].a == "48小时内"


def test_yaml_bad_value_names_product_and_column(tmp_path: Path) -> None:
    """A non-numeric price in YAML names the file, product and column."""
    path = tmp_path / "c.yaml"
    path.write_text("products:\n  - {sku: A1, name: x, price: 12九}\n", encoding="utf-8")
    with pytest.raises(
        CatalogError, match=r"c\.yaml: product 1 \(A1\) price: '12九' is not a number"
    ):
        load_catalog(path)


def test_broken_json_and_duplicates(tmp_path: Path) -> None:
    """Invalid JSON and duplicate SKUs are refused with the file name."""
    bad = tmp_path / "bad.json"
    bad.write_text("[{", encoding="utf-8")
    with pytest.raises(CatalogError, match=r"bad\.json: line 1"):
        load_catalog(bad)
    dup = tmp_path / "dup.json"
    dup.write_text(json.dumps([PRODUCT, PRODUCT]), encoding="utf-8")
    with pytest.raises(CatalogError, match="duplicate sku 'A1'"):
        load_catalog(dup)


def test_csv_with_faq_file(tmp_path: Path) -> None:
    """CSV with Chinese headers and a sibling FAQ file."""
    (tmp_path / "cat.csv").write_text(
        "商品编码,商品名称,价格,包邮,七天无理由,赠品,规格\nB2,吹风机,299,是,否,收纳袋；风嘴,功率=1800W；颜色=白\n",
        encoding="utf-8",
    )
    (tmp_path / "cat.faq.csv").write_text("sku,q,a\nB2,保修多久,一年\n", encoding="utf-8")
    product = load_catalog(tmp_path / "cat.csv").get("B2")
    assert product is not None
    assert product.free_shipping is True
    assert product.seven_day_return is False
    assert product.gifts == ["收纳袋", "风嘴"]
    assert product.specs == {"功率": "1800W", "颜色": "白"}
    assert product.faq[0].q == "保修多久"


def test_csv_bad_flag(tmp_path: Path) -> None:
    """A yes/no column with another word names the row and column."""
    (tmp_path / "c.csv").write_text("sku,name,free_shipping\nB2,x,maybe\n", encoding="utf-8")
    with pytest.raises(
        CatalogError, match=r"c\.csv: row 2 \(free_shipping\): 'maybe' is not yes/no"
    ):
        load_catalog(tmp_path / "c.csv")


def _workbook(path: Path, price: object, faq_sku: str = "A1") -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "商品"
    sheet.append(["sku", "name", "price", "warranty_months"])
    for n in range(5):
        sheet.append([f"X{n}", "填充", 10, None])
    sheet.append(["A1", "精华液", price, 12])
    faq = book.create_sheet("FAQ")
    faq.append(["sku", "q", "a"])
    faq.append([faq_sku, "多久发货", "48小时内"])
    book.save(path)


def test_xlsx_good(tmp_path: Path) -> None:
    """XLSX products sheet plus FAQ sheet."""
    path = tmp_path / "catalog.xlsx"
    _workbook(path, 129)
    catalog = load_catalog(path)
    product = catalog.get("A1")
    assert len(catalog) == 6
    assert product is not None
    assert product.warranty_months == 12
    assert product.faq[0].a == "48小时内"


def test_xlsx_errors_name_sheet_cell_and_column(tmp_path: Path) -> None:
    """A bad price cell and an unknown FAQ sku name sheet!cell (column)."""
    path = tmp_path / "catalog.xlsx"
    _workbook(path, "12九")
    with pytest.raises(
        CatalogError, match=r"^catalog\.xlsx: 商品!C7 \(price\): '12九' is not a number$"
    ):
        load_catalog(path)
    _workbook(path, 129, faq_sku="ZZ")
    with pytest.raises(CatalogError, match=r"catalog\.xlsx: FAQ!A2 \(sku\): unknown sku 'ZZ'"):
        load_catalog(path)


def test_unreadable_files(tmp_path: Path) -> None:
    """Missing files, unknown formats and non-workbooks are CatalogErrors."""
    with pytest.raises(CatalogError, match="cannot read"):
        load_catalog(tmp_path / "missing.yaml")
    (tmp_path / "c.txt").write_text("x", encoding="utf-8")
    with pytest.raises(CatalogError, match="unsupported"):
        load_catalog(tmp_path / "c.txt")
    (tmp_path / "c.xlsx").write_text("not a zip", encoding="utf-8")
    with pytest.raises(CatalogError, match="not a readable XLSX"):
        load_catalog(tmp_path / "c.xlsx")
