"""Intent classification speed on one core: one at a time, micro-batches, and the floors.

    .venv/bin/python benchmarks/classify.py [--lines N] [--batch 256] [--json]

Every figure decodes the same JSON lines (the bundled corpus, all distinct) and is measured
with the normalisation cache cleared, so repeated lines do not flatter the result:

- floor: orjson decode + normalise + tokenise (features) only;
- jieba.lcut alone on the same lines (the issue's yardstick);
- single: decode + ``predict_one`` per line;
- batch: decode + ``predict`` per micro-batch;
- cli: ``danmaku-agent classify`` on a file of the lines (redaction, JSON out), if
  ``agent.privacy`` is available;
- scikit-learn ``predict([text])`` per line (what the exported scorer replaces), on a subset;
- model load time.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from classifiers.intent import IntentClassifier  # noqa: E402
from classifiers.normalize import normalize_cached  # noqa: E402
from classifiers.tokenize import analyzer  # noqa: E402
from classifiers.train import DEV, TEST, TRAIN  # noqa: E402


def _pin_one_core() -> str:
    try:
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
    except (AttributeError, OSError):
        return "not pinned"
    return f"pinned to cpu {cpu}"


def _lines(limit: int) -> list[bytes]:
    out: list[bytes] = []
    for path in (TRAIN, DEV, TEST):
        for line in path.read_text("utf-8").splitlines():
            text = json.loads(line)["text"]
            out.append(orjson.dumps({"id": len(out), "text": text}))
    return out[:limit]


def _rate(n: int, fn: Callable[[], object], repeat: int = 3) -> float:
    """Best of ``repeat`` runs, in lines per second (cache cleared before each)."""
    best = float("inf")
    for _ in range(repeat):
        normalize_cached.cache_clear()
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return n / best


def main() -> None:
    """Run every measurement and print a table (or JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--sklearn-lines", type=int, default=1000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    pinned = _pin_one_core()

    start = time.perf_counter()
    model = IntentClassifier.load()
    model.predict_one("预热")
    load_s = time.perf_counter() - start

    lines = _lines(args.lines)
    n = len(lines)
    features = analyzer(model.kind)

    def floor() -> None:
        for raw in lines:
            features(normalize_cached(orjson.loads(raw)["text"]))

    import jieba  # noqa: PLC0415

    jieba.setLogLevel(60)
    jieba.initialize()
    texts = [orjson.loads(raw)["text"] for raw in lines]

    def jieba_only() -> None:
        for text in texts:
            jieba.lcut(text)

    def single() -> None:
        for raw in lines:
            model.predict_one(orjson.loads(raw)["text"])

    def batched() -> None:
        for i in range(0, n, args.batch):
            model.predict([orjson.loads(raw)["text"] for raw in lines[i : i + args.batch]])

    results: dict[str, object] = {
        "lines": n,
        "cpu": pinned,
        "model": model.version,
        "model_load_s": round(load_s, 3),
        "floor_decode_normalise_tokenise_per_s": round(_rate(n, floor)),
        "jieba_lcut_only_per_s": round(_rate(n, jieba_only, repeat=1)),
        "single_per_s": round(_rate(n, single)),
        f"batch{args.batch}_per_s": round(_rate(n, batched)),
    }

    try:
        import agent.privacy  # noqa: F401, PLC0415
        from agent.cli import main as cli  # noqa: PLC0415
    except ImportError:
        results["cli_per_s"] = None
    else:
        with tempfile.TemporaryDirectory() as tmp:
            src, dst = Path(tmp) / "in.jsonl", Path(tmp) / "out.jsonl"
            src.write_bytes(b"\n".join(lines) + b"\n")
            devnull = open(os.devnull, "w")  # noqa: SIM115 - silence the summary
            saved, sys.stderr = sys.stderr, devnull
            try:
                results["cli_per_s"] = round(
                    _rate(n, lambda: cli(["classify", "--in", str(src), "--out", str(dst)]), 1)
                )
            finally:
                sys.stderr = saved
                devnull.close()

    try:
        from classifiers.train import CANDIDATES, fit_estimators, read_labelled  # noqa: PLC0415
    except ImportError:
        results["sklearn_predict_per_call_per_s"] = None
    else:
        sub = texts[: args.sklearn_lines]
        vectorizer, clf = fit_estimators(CANDIDATES["char-tfidf+linsvm"], read_labelled(DEV), 1)

        def sklearn_calls() -> None:
            for text in sub:
                clf.predict(vectorizer.transform([text]))

        results["sklearn_predict_per_call_per_s"] = round(_rate(len(sub), sklearn_calls, 1))

    if args.json:
        print(json.dumps(results, indent=2))
        return
    for key, value in results.items():
        shown = f"{value:,}" if isinstance(value, int) else str(value)
        print(f"{key:<42} {shown}")


if __name__ == "__main__":
    main()
