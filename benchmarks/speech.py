"""Host-speech checking speed on one core: the labelled set and the demo broadcast's speech lines.

Run: .venv/bin/python benchmarks/speech.py [--rounds N]

For each set it prints utterances per second over ``--rounds`` passes, the per-utterance latency
(median and p99 of single checks), and for the labelled set the misstatement figures as well,
so a speed change can be read next to the accuracy it buys.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

from classifiers.catalog import load_catalog
from classifiers.misstatement import SpeechChecker
from classifiers.speech_eval import evaluate, read_speech_labels

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "configs" / "demo"
DATA = ROOT / "classifiers" / "data"


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _time(checker: SpeechChecker, lines: list[tuple[str, str | None]], rounds: int) -> str:
    """Throughput over ``rounds`` passes and single-check latency percentiles."""
    for text, sku in lines:  # warm the number cache and the regex engine
        checker.check(text, sku)
    start = time.perf_counter()
    for _ in range(rounds):
        for text, sku in lines:
            checker.check(text, sku)
    rate = len(lines) * rounds / (time.perf_counter() - start)
    single: list[float] = []
    for text, sku in lines:
        t0 = time.perf_counter()
        checker.check(text, sku)
        single.append((time.perf_counter() - t0) * 1e6)
    p99 = statistics.quantiles(single, n=100)[98]
    return f"{rate:,.0f} utterances/s, median {statistics.median(single):.0f} µs, p99 {p99:.0f} µs"


def main() -> None:
    """Time SpeechChecker.check over the labelled set and the demo speech lines."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    print(f"{_cpu()}, {os.cpu_count()} cores, Python {platform.python_version()}, one thread")

    checker = SpeechChecker(load_catalog(DATA / "speech_catalog.yaml"))
    for split in ("speech_dev.jsonl", "speech_test.jsonl"):
        examples = read_speech_labels(DATA / split)
        result = evaluate(checker, examples)
        u = result.utterances
        print(
            f"{split}: {len(examples)} utterances, misstatement P {u.precision:.3f} "
            f"R {u.recall:.3f} right field {result.right_field_rate:.3f}; "
            + _time(checker, [(e.text, e.sku) for e in examples], args.rounds)
        )

    demo = SpeechChecker(load_catalog(DEMO / "catalog.yaml"))
    events = [
        json.loads(x) for x in (DEMO / "stream.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    speech = [(e["text"], e.get("sku") or "JH-101") for e in events if e.get("type") == "speech"]
    found = sum(len(demo.check(t, s).misstatements) for t, s in speech)
    print(
        f"demo stream: {len(speech)} utterances, {found} misstatements; "
        + _time(demo, speech, args.rounds)
    )


if __name__ == "__main__":
    main()
