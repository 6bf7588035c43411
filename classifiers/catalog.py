"""Product FAQ catalog (产品FAQ表): YAML, JSON, CSV and XLSX loaders into one typed model.

Every loader funnels rows through ``_product`` so a value is validated the same way whatever
the format; errors are one line naming the file and, for tables, the sheet/row/column, since
the person fixing them is an ops colleague with the spreadsheet open, not a developer.
"""

from __future__ import annotations

import csv
import json
import re
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

FIELDS = (
    "sku",
    "name",
    "price",
    "free_shipping",
    "ship_within_hours",
    "presale_days",
    "seven_day_return",
    "warranty_months",
    "gifts",
    "specs",
    "aliases",
)
# Header cells an ops person may type in Chinese on the template sheet.
HEADER_ZH = {
    "商品编码": "sku",
    "商品名称": "name",
    "价格": "price",
    "包邮": "free_shipping",
    "发货时效(小时)": "ship_within_hours",
    "预售天数": "presale_days",
    "七天无理由": "seven_day_return",
    "保修(月)": "warranty_months",
    "赠品": "gifts",
    "规格": "specs",
    "别名": "aliases",
    "问题": "q",
    "回答": "a",
}
PRODUCT_SHEETS = ("商品", "products")
FAQ_SHEETS = ("FAQ", "faq", "常见问题")
_TRUE = {"true", "yes", "y", "1", "是", "有", "支持", "包邮", "√", "✓"}
_FALSE = {"false", "no", "n", "0", "否", "无", "不支持", "不包邮", "×", "✗"}
_LIST_SPLIT = re.compile(r"[;；、,，|\n]+")


class CatalogError(ValueError):
    """A catalog file that cannot be used; the message names the place to fix."""


@dataclass(frozen=True, slots=True)
class FaqEntry:
    """One question with the reply staff may send."""

    q: str
    a: str


@dataclass(slots=True)
class Product:
    """One SKU with the facts the host's claims are checked against (None = not promised)."""

    sku: str
    name: str
    price: float | None = None
    free_shipping: bool | None = None
    ship_within_hours: int | None = None
    presale_days: int | None = None
    seven_day_return: bool | None = None
    warranty_months: int | None = None
    gifts: list[str] = field(default_factory=list)
    specs: dict[str, str] = field(default_factory=dict)
    faq: list[FaqEntry] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Catalog:
    """Products by SKU, in file order."""

    products: dict[str, Product] = field(default_factory=dict)

    def get(self, sku: str | None) -> Product | None:
        """The product with this SKU, or None."""
        return self.products.get(sku) if sku is not None else None

    def __iter__(self) -> Iterator[Product]:
        return iter(self.products.values())

    def __len__(self) -> int:
        return len(self.products)


class _BadValueError(ValueError):
    """A value error before the caller adds where it happened."""


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and value.strip() in ("", "-", "—", "null"))


def _number(value: object) -> float | None:
    if _blank(value):
        return None
    if isinstance(value, bool):
        raise _BadValueError(f"{value!r} is not a number")
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip().replace("¥", "").replace("￥", "").replace("元", "").replace(",", "")
    try:
        return float(text)
    except ValueError:
        raise _BadValueError(f"{value!r} is not a number") from None


def _integer(value: object) -> int | None:
    number = _number(value)
    if number is None:
        return None
    if number != int(number) or number < 0:
        raise _BadValueError(f"{value!r} is not a whole non-negative number")
    return int(number)


def _flag(value: object) -> bool | None:
    if _blank(value):
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _BadValueError(f"{value!r} is not yes/no")


def _strings(value: object) -> list[str]:
    if _blank(value):
        return []
    if isinstance(value, list):
        return [str(v).strip() for v in value if not _blank(v)]
    if isinstance(value, str):
        return [part.strip() for part in _LIST_SPLIT.split(value) if part.strip()]
    raise _BadValueError(f"{value!r} is not a list")


def _specs(value: object) -> dict[str, str]:
    if _blank(value):
        return {}
    if isinstance(value, Mapping):
        return {str(k).strip(): str(v).strip() for k, v in value.items()}
    if isinstance(value, str):
        # "净含量=30ml; 颜色: 白" in a single table cell.
        specs: dict[str, str] = {}
        for part in _LIST_SPLIT.split(value):
            if not part.strip():
                continue
            pieces = re.split(r"[=:：]", part, maxsplit=1)
            if len(pieces) != 2 or not pieces[0].strip():
                raise _BadValueError(f"{part.strip()!r} is not 'name=value'")
            specs[pieces[0].strip()] = pieces[1].strip()
        return specs
    raise _BadValueError(f"{value!r} is not a name=value mapping")


def _faq(value: object) -> list[FaqEntry]:
    if _blank(value):
        return []
    if not isinstance(value, list):
        raise _BadValueError("faq must be a list of {q, a}")
    entries = []
    for i, item in enumerate(value, 1):
        if not isinstance(item, Mapping) or _blank(item.get("q")) or _blank(item.get("a")):
            raise _BadValueError(f"faq entry {i} needs non-empty q and a")
        entries.append(FaqEntry(str(item["q"]).strip(), str(item["a"]).strip()))
    return entries


_CONVERT: dict[str, Any] = {
    "price": _number,
    "free_shipping": _flag,
    "ship_within_hours": _integer,
    "presale_days": _integer,
    "seven_day_return": _flag,
    "warranty_months": _integer,
    "gifts": _strings,
    "specs": _specs,
    "aliases": _strings,
    "faq": _faq,
}


def _product(raw: Mapping[str, Any], where: Any) -> Product:
    """Validate one product row; ``where(column)`` renders the place for error messages."""
    sku = raw.get("sku")
    if _blank(sku):
        raise CatalogError(f"{where('sku')}: sku is missing")
    name = raw.get("name")
    if _blank(name):
        raise CatalogError(f"{where('name')}: name is missing")
    values: dict[str, Any] = {"sku": str(sku).strip(), "name": str(name).strip()}
    for column, convert in _CONVERT.items():
        try:
            values[column] = convert(raw.get(column))
        except _BadValueError as exc:
            raise CatalogError(f"{where(column)}: {exc}") from None
    return Product(**values)


def _add(catalog: Catalog, product: Product, where: str) -> None:
    if product.sku in catalog.products:
        raise CatalogError(f"{where}: duplicate sku {product.sku!r}")
    catalog.products[product.sku] = product


def _from_records(records: object, path: Path) -> Catalog:
    if isinstance(records, Mapping):
        records = records.get("products")
    if not isinstance(records, list):
        raise CatalogError(f"{path.name}: expected a list of products or a 'products:' list")
    catalog = Catalog()
    for i, raw in enumerate(records, 1):
        if not isinstance(raw, Mapping):
            raise CatalogError(f"{path.name}: product {i} is not a mapping")

        def where(column: str, i: int = i, raw: Mapping[str, Any] = raw) -> str:
            return f"{path.name}: product {i} ({raw.get('sku', '?')}) {column}"

        _add(catalog, _product(raw, where), f"{path.name}: product {i}")
    return catalog


def _header(cell: object) -> str:
    text = str(cell or "").strip()
    return HEADER_ZH.get(text, text.lower())


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _attach_faq(catalog: Catalog, rows: list[tuple[int, dict[str, Any]]], place: Any) -> None:
    """FAQ rows (sku, q, a) from a second sheet/file appended to their product."""
    for row_no, row in rows:
        sku = row.get("sku")
        if _blank(sku) and _blank(row.get("q")):
            continue
        product = catalog.get(str(sku).strip() if sku is not None else None)
        if product is None:
            raise CatalogError(f"{place(row_no, 'sku')}: unknown sku {sku!r}")
        for column in ("q", "a"):
            if _blank(row.get(column)):
                raise CatalogError(f"{place(row_no, column)}: {column} is empty")
        product.faq.append(FaqEntry(str(row["q"]).strip(), str(row["a"]).strip()))


def _from_table(rows: list[tuple[int, dict[str, Any]]], place: Any, label: str) -> Catalog:
    catalog = Catalog()
    for row_no, row in rows:
        if all(_blank(v) for v in row.values()):
            continue
        _add(catalog, _product(row, lambda c, r=row_no: place(r, c)), f"{label} row {row_no}")
    return catalog


def _csv_rows(path: Path) -> list[tuple[int, dict[str, Any]]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        header = [_header(h) for h in next(reader, [])]
        return [(n, dict(zip(header, cells, strict=False))) for n, cells in enumerate(reader, 2)]


def _load_csv(path: Path) -> Catalog:
    def place(row: int, column: str) -> str:
        return f"{path.name}: row {row} ({column})"

    catalog = _from_table(_csv_rows(path), place, path.name)
    # FAQ entries live in a sibling file: catalog.csv -> catalog.faq.csv or catalog_faq.csv.
    for faq_path in (path.with_suffix(".faq.csv"), path.with_name(f"{path.stem}_faq.csv")):
        if faq_path.exists():

            def faq_place(row: int, column: str, p: Path = faq_path) -> str:
                return f"{p.name}: row {row} ({column})"

            _attach_faq(catalog, _csv_rows(faq_path), faq_place)
    return catalog


def _load_xlsx(path: Path) -> Catalog:
    import openpyxl  # noqa: PLC0415 - only XLSX catalogs need it
    from openpyxl.utils.exceptions import InvalidFileException  # noqa: PLC0415

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, OSError, KeyError, ValueError) as exc:
        raise CatalogError(f"{path.name}: not a readable XLSX workbook ({exc})") from None
    try:
        names = book.sheetnames
        product_sheet = next((n for n in PRODUCT_SHEETS if n in names), names[0])
        faq_sheet = next((n for n in FAQ_SHEETS if n in names), None)

        def sheet_rows(name: str) -> tuple[list[tuple[int, dict[str, Any]]], list[str]]:
            rows = book[name].iter_rows(values_only=True)
            header = [_header(h) for h in next(rows, ())]
            out = [(n, dict(zip(header, cells, strict=False))) for n, cells in enumerate(rows, 2)]
            return out, header

        def placer(sheet: str, header: list[str]) -> Any:
            def place(row: int, column: str) -> str:
                letter = _column_letter(header.index(column)) if column in header else "?"
                return f"{path.name}: {sheet}!{letter}{row} ({column})"

            return place

        rows, header = sheet_rows(product_sheet)
        catalog = _from_table(rows, placer(product_sheet, header), f"{path.name}: {product_sheet}")
        if faq_sheet is not None:
            faq_rows, faq_header = sheet_rows(faq_sheet)
            _attach_faq(catalog, faq_rows, placer(faq_sheet, faq_header))
        return catalog
    finally:
        book.close()


def load_catalog(path: str | Path) -> Catalog:
    """Read a catalog; raises CatalogError with a one-line message naming where it is wrong."""
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if suffix in (".yaml", ".yml"):
            try:
                data = yaml.safe_load(path.read_text(encoding="utf-8"))
            except yaml.YAMLError as exc:
                mark = getattr(exc, "problem_mark", None)
                line = f" line {mark.line + 1}" if mark is not None else ""
                raise CatalogError(f"{path.name}:{line} invalid YAML") from None
            catalog = _from_records(data, path)
        elif suffix == ".json":
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except json.JSONDecodeError as exc:
                raise CatalogError(
                    f"{path.name}: line {exc.lineno}: invalid JSON ({exc.msg})"
                ) from None
            catalog = _from_records(data, path)
        elif suffix == ".csv":
            catalog = _load_csv(path)
        elif suffix in (".xlsx", ".xlsm"):
            catalog = _load_xlsx(path)
        else:
            raise CatalogError(
                f"{path.name}: unsupported catalog format (use YAML, JSON, CSV or XLSX)"
            )
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogError(f"{path.name}: cannot read ({exc.__class__.__name__})") from None
    if not catalog.products:
        raise CatalogError(f"{path.name}: no products")
    return catalog
