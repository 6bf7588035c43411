"""The closed label sets shared by the classifiers, the agent and the tools that read alerts."""

from __future__ import annotations

# Intent labels, in the order of the contract table.
LABELS: tuple[str, ...] = (
    "return_refund",
    "logistics",
    "quality",
    "warranty",
    "price_promo",
    "info_mismatch",
    "complaint",
    "product_info",
    "other",
)

AFTER_SALES: frozenset[str] = frozenset(
    {
        "return_refund",
        "logistics",
        "quality",
        "warranty",
        "price_promo",
        "info_mismatch",
        "complaint",
    }
)

LABEL_ZH: dict[str, str] = {
    "return_refund": "退换退款",
    "logistics": "物流发货",
    "quality": "质量问题",
    "warranty": "保修维修",
    "price_promo": "价格优惠赠品",
    "info_mismatch": "信息不符",
    "complaint": "投诉维权",
    "product_info": "商品咨询",
    "other": "其他",
}

# Catalog fields a host misstatement can be about.
FIELDS: tuple[str, ...] = (
    "price",
    "free_shipping",
    "ship_within_hours",
    "presale_days",
    "seven_day_return",
    "warranty_months",
    "gifts",
    "specs",
)

FIELD_ZH: dict[str, str] = {
    "price": "价格",
    "free_shipping": "包邮",
    "ship_within_hours": "发货时效",
    "presale_days": "预售",
    "seven_day_return": "七天无理由",
    "warranty_months": "保修",
    "gifts": "赠品",
    "specs": "规格",
}
