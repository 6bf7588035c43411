"""``danmaku-agent eval-speech``: score host-misstatement checking on labelled utterances."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HELP = """\
Score host-speech checking on labelled JSONL, one object per line:
{"id", "sku", "text", "misstatements": [{"field", "claimed"?}], "compliance": [terms]}.
Prints misstatement precision/recall (per utterance), the right-field rate, a per-field
table, 广告法 compliance precision/recall and the speed. --json prints the same as JSON;
--errors N lists the first N lines the checker got wrong. Exit code 2 when a file cannot
be read."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """--catalog, --in, --json, --errors."""
    parser.add_argument("--catalog", type=Path, required=True, help="product FAQ catalog")
    parser.add_argument("--in", dest="inp", type=Path, required=True, help="labelled JSONL")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--errors", type=int, default=0, metavar="N", help="list N wrong lines")


def run(args: argparse.Namespace) -> int:
    """Print the evaluation report."""
    from classifiers.catalog import CatalogError, load_catalog  # noqa: PLC0415
    from classifiers.misstatement import SpeechChecker  # noqa: PLC0415
    from classifiers.speech_eval import (  # noqa: PLC0415
        SpeechDataError,
        evaluate,
        format_report,
        read_speech_labels,
    )

    try:
        checker = SpeechChecker(load_catalog(args.catalog))
        examples = read_speech_labels(args.inp)
    except (CatalogError, SpeechDataError) as exc:
        print(f"eval-speech: {exc}", file=sys.stderr)
        return 2
    result = evaluate(checker, examples)
    if args.json:
        data = result.as_dict()
        data["errors"] = data["errors"][: args.errors]
        print(json.dumps(data, ensure_ascii=False))
    else:
        print(format_report(result, show_errors=args.errors))
    return 0
