"""``danmaku-agent preflight``: a broadcast script (直播脚本) checked before going live."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

HELP = """Check a broadcast script against the catalog before going live.

Prints every line whose claims contradict the catalog or use 广告法 terms, with its line
number. A line starting with "[SKU]" or "#sku SKU" switches the product the following lines
are about; otherwise --sku (or a product named in the line) is used. Exit code 1 when
anything is found, 0 when clean, 2 when the catalog or script cannot be read."""

_SKU_LINE = re.compile(r"^\s*(?:\[(?P<a>[^\]]+)\]|#\s*sku\s*[:：]?\s*(?P<b>\S+))\s*(?P<rest>.*)$")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """--catalog, --sku, SCRIPT."""
    parser.add_argument("--catalog", type=Path, required=True, help="product FAQ catalog")
    parser.add_argument("--sku", help="product the script is about (until a [SKU] line)")
    parser.add_argument("script", type=Path, help="broadcast script, one utterance per line")


def run(args: argparse.Namespace) -> int:
    """Print findings as 'LINE: kind field/term: detail'."""
    from agent.lineup import Lineup  # noqa: PLC0415
    from classifiers.catalog import CatalogError, load_catalog  # noqa: PLC0415
    from classifiers.misstatement import SpeechChecker  # noqa: PLC0415

    try:
        catalog = load_catalog(args.catalog)
        lines = args.script.read_text(encoding="utf-8").splitlines()
    except (CatalogError, OSError, UnicodeDecodeError) as exc:
        print(f"preflight: {exc}", file=sys.stderr)
        return 2
    if args.sku is not None and catalog.get(args.sku) is None:
        print(f"preflight: sku {args.sku!r} is not in the catalog", file=sys.stderr)
        return 2
    checker, names = SpeechChecker(catalog), Lineup(catalog=catalog)
    sku: str | None = args.sku
    found = 0
    for number, raw in enumerate(lines, 1):
        text = raw
        header = _SKU_LINE.match(raw)
        if header:
            sku = (header["a"] or header["b"]).strip()
            if catalog.get(sku) is None:
                print(
                    f"preflight: line {number}: sku {sku!r} is not in the catalog", file=sys.stderr
                )
                return 2
            text = header["rest"]
        if not text.strip():
            continue
        sku = names.detect(text) or sku
        report = checker.check(text, sku)
        for m in report.misstatements:
            found += 1
            detail = f"说了「{m.claimed}」应为「{m.expected}」 — {m.correction}"
            print(f"{number}: 不符 {m.field}: {detail} | {raw.strip()}")
        for c in report.compliance:
            found += 1
            print(f"{number}: 广告法 {c.term}: {raw.strip()}")
    print(f"preflight: {len(lines)} lines, {found} findings", file=sys.stderr)
    return 1 if found else 0
