"""``danmaku-agent eval --in labelled.jsonl``: score the intent model on labelled lines."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HELP = """\
Evaluate an intent model on labelled JSONL ({"text": …, "label": …} per line): per-label
precision/recall/F1, the confusion matrix, after-sales precision/recall and the chatter
false-alarm rate (share of "other" lines flagged as after-sales). --json prints the same as
JSON. Threshold overrides (--threshold label=score) show their effect before deploying."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``eval``."""
    parser.add_argument("--in", dest="input", type=Path, required=True, help="labelled JSONL")
    parser.add_argument("--model", type=Path, help="model directory (default: bundled model)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--threshold",
        action="append",
        default=[],
        metavar="LABEL=SCORE",
        help="per-label minimum score (repeatable)",
    )


def _thresholds(items: list[str]) -> dict[str, float] | str:
    out: dict[str, float] = {}
    for item in items:
        label, sep, value = item.partition("=")
        try:
            if not sep:
                raise ValueError
            out[label] = float(value)
        except ValueError:
            return f"--threshold {item!r}: expected LABEL=SCORE"
    return out


def run(args: argparse.Namespace) -> int:
    """Print the evaluation report."""
    from classifiers.evaluation import format_report, score  # noqa: PLC0415
    from classifiers.intent import IntentClassifier, ModelLoadError  # noqa: PLC0415
    from classifiers.train import TrainDataError, read_labelled  # noqa: PLC0415

    thresholds = _thresholds(args.threshold)
    if isinstance(thresholds, str):
        print(f"danmaku-agent eval: {thresholds}", file=sys.stderr)
        return 2
    try:
        model = IntentClassifier.load(args.model, thresholds=thresholds)
        examples = read_labelled(args.input)
    except (ModelLoadError, TrainDataError) as exc:
        print(f"danmaku-agent eval: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:  # unknown label in --threshold
        print(f"danmaku-agent eval: {exc}", file=sys.stderr)
        return 2
    predicted = [r.label for r in model.predict([text for text, _ in examples])]
    report = score([label for _, label in examples], predicted)
    if args.json:
        print(json.dumps({"model": model.version, **report.as_dict()}, ensure_ascii=False))
    else:
        print(f"model {model.version}")
        print(format_report(report))
    return 0
