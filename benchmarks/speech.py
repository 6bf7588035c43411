"""Host-speech checking speed: utterances/s on one core over the demo broadcast's speech lines.

Run: .venv/bin/python benchmarks/speech.py [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from classifiers.catalog import load_catalog
from classifiers.misstatement import SpeechChecker

DEMO = Path(__file__).resolve().parent.parent / "configs" / "demo"


def main() -> None:
    """Time SpeechChecker.check over every demo speech line, repeated."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    checker = SpeechChecker(load_catalog(DEMO / "catalog.yaml"))
    lines = [
        json.loads(x) for x in (DEMO / "stream.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    speech = [(e["text"], e.get("sku") or "JH-101") for e in lines if e.get("type") == "speech"]
    findings = sum(len(checker.check(t, s).misstatements) for t, s in speech)
    start = time.perf_counter()
    for _ in range(args.rounds):
        for text, sku in speech:
            checker.check(text, sku)
    elapsed = time.perf_counter() - start
    n = len(speech) * args.rounds
    rate = n / elapsed
    print(f"{len(speech)} utterances x {args.rounds}: {rate:,.0f}/s, {findings} misstatements")


if __name__ == "__main__":
    main()
