"""``danmaku-agent check-speech``: host utterances (JSONL) checked against the catalog."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

HELP = """Check host utterances against the product catalog.

Input lines: {"id": …, "sku": "current product", "text": "host utterance"}. Output, one line
per input line: {"id": …, "misstatements": [...], "compliance": [...]}; a bad line yields
{"id": …, "error": "…"}. Exit code 2 when the catalog or a file cannot be opened."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """--catalog, --in, --out."""
    parser.add_argument("--catalog", type=Path, required=True, help="product FAQ catalog")
    parser.add_argument("--in", dest="inp", type=Path, required=True, help="input JSONL")
    parser.add_argument("--out", type=Path, required=True, help="output JSONL")


def check_line(checker: Any, line: str) -> dict[str, Any]:
    """One output object for one input line (errors included, never raised)."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        return {"id": None, "error": f"invalid JSON: {exc.msg}"}
    if not isinstance(obj, dict):
        return {"id": None, "error": "line is not a JSON object"}
    ident = obj.get("id")
    text, sku = obj.get("text"), obj.get("sku")
    if not isinstance(text, str) or not text.strip():
        return {"id": ident, "error": "missing text"}
    if sku is not None and not isinstance(sku, str):
        return {"id": ident, "error": "sku must be a string"}
    report = checker.check(text, sku)
    return {
        "id": ident,
        "misstatements": [asdict(m) for m in report.misstatements],
        "compliance": [asdict(c) for c in report.compliance],
    }


def run(args: argparse.Namespace) -> int:
    """Process the file; summary on stderr."""
    from classifiers.catalog import CatalogError, load_catalog  # noqa: PLC0415
    from classifiers.misstatement import SpeechChecker  # noqa: PLC0415

    try:
        checker = SpeechChecker(load_catalog(args.catalog))
        lines = args.inp.read_text(encoding="utf-8").splitlines()
    except (CatalogError, OSError, UnicodeDecodeError) as exc:
        print(f"check-speech: {exc}", file=sys.stderr)
        return 2
    counts = {"lines": 0, "misstatements": 0, "compliance": 0, "errors": 0}
    out: list[str] = []
    for line in lines:
        if not line.strip():
            continue
        result = check_line(checker, line)
        counts["lines"] += 1
        counts["errors"] += "error" in result
        counts["misstatements"] += len(result.get("misstatements", []))
        counts["compliance"] += len(result.get("compliance", []))
        out.append(json.dumps(result, ensure_ascii=False))
    try:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("".join(f"{o}\n" for o in out), encoding="utf-8")
    except OSError as exc:
        print(f"check-speech: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(counts, ensure_ascii=False), file=sys.stderr)
    return 0
