"""``danmaku-agent train``: fit, compare and export the intent model from labelled JSONL."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HELP = """\
Train the intent model. Input: labelled JSONL, one {"text": …, "label": …} per line (labels:
see README). Fits every candidate on --train, scores them on --dev (macro-F1 + after-sales
recall − chatter false alarms picks the winner, then the weight of unseen n-grams),
calibrates its scores on --dev, refits on train+dev (unless --no-refit) and writes
intent.json + intent.npz to --out. The same data and --seed give
the same model. Defaults: the bundled corpus in classifiers/data/."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``train``."""
    from classifiers.train import CANDIDATES, DEV, TRAIN  # noqa: PLC0415

    parser.add_argument("--train", type=Path, default=TRAIN, help="training JSONL")
    parser.add_argument("--dev", type=Path, default=DEV, help="dev JSONL (selection, calibration)")
    parser.add_argument("--out", type=Path, required=True, help="output model directory")
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument(
        "--candidate",
        action="append",
        choices=sorted(CANDIDATES),
        help="restrict to these candidates (repeatable; default: all)",
    )
    parser.add_argument("--release", help="version prefix, e.g. 2026.11 (default: year.month)")
    parser.add_argument(
        "--no-refit", action="store_true", help="export the model fitted on train only"
    )


def run(args: argparse.Namespace) -> int:
    """Train and report the dev comparison on stderr."""
    from classifiers.train import TrainDataError, train  # noqa: PLC0415

    def log(message: str) -> None:
        print(message, file=sys.stderr)

    try:
        result = train(
            args.train,
            args.dev,
            args.out,
            seed=args.seed,
            candidates=args.candidate,
            release=args.release,
            refit=not args.no_refit,
            log=log,
        )
    except TrainDataError as exc:
        print(f"danmaku-agent train: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"danmaku-agent train: {exc}", file=sys.stderr)
        return 2
    summary = {
        "model": str(result.model_dir),
        "version": result.header["version"],
        "chosen": result.chosen,
        "temperature": round(result.temperature, 4),
        "unseen_weight": result.unseen_weight,
        "dev": {
            name: {
                "macro_f1": round(r.macro_f1, 4),
                "after_sales_recall": round(r.after_sales_recall, 4),
            }
            for name, r in result.dev.items()
        },
    }
    print(json.dumps(summary, ensure_ascii=False, indent=2))
    return 0
