"""Build configs/catalog_template.xlsx: the 产品FAQ表 an ops person fills in (商品 + FAQ sheets).

Run: .venv/bin/python configs/make_catalog_template.py
"""

from __future__ import annotations

from pathlib import Path

import openpyxl
from openpyxl.styles import Font

OUT = Path(__file__).resolve().parent / "catalog_template.xlsx"
PRODUCT_HEADER = [
    "sku", "name", "price", "free_shipping", "ship_within_hours", "presale_days",
    "seven_day_return", "warranty_months", "gifts", "specs", "aliases",
]  # fmt: skip
EXAMPLE = [
    "A1", "玻尿酸修护精华液", 129, "是", 48, None, "是", None,
    "小样×2", "净含量=30ml；保质期=3年", "精华液；小蓝瓶",
]  # fmt: skip
NOTES = [
    "商品编码", "商品名称", "到手价(元)", "是/否", "付款后几小时内发货", "预售天数(非预售留空)",
    "是/否", "保修月数(无保修留空)", "多个用；分隔", "名称=值，多个用；分隔", "主播口播时的叫法",
]  # fmt: skip


def main() -> None:
    """Write the template with one example product and one FAQ entry."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "商品"
    sheet.append(PRODUCT_HEADER)
    sheet.append(EXAMPLE)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    notes = book.create_sheet("说明")
    for field, note in zip(PRODUCT_HEADER, NOTES, strict=True):
        notes.append([field, note])
    faq = book.create_sheet("FAQ")
    faq.append(["sku", "q", "a"])
    faq.append(["A1", "多久发货？", "付款后48小时内发货，偏远地区顺延1–2天。"])
    for cell in faq[1]:
        cell.font = Font(bold=True)
    book.save(OUT)


if __name__ == "__main__":
    main()
