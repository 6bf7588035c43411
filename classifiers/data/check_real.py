"""Score a model on hand-labelled real lines without keeping their text in this repository.

``real_sample_labels.jsonl`` holds only ``{"line": n, "label": …, "split": …}``: the 0-based
line number in ``real_utterances.jsonl`` (the shared corpus described in its SOURCES.md; part
of it has no stated licence, so the text stays there), the label given by hand with the guide
in ``templates.py``, and the split. ``dev`` lines were looked at while the corpus was written
and the model chosen; ``holdout`` lines were only scored, once, for the final model. Run from
the repository root::

    python -m classifiers.data.check_real --corpus ../shared/corpora/real_utterances.jsonl
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from classifiers.evaluation import format_report, score
from classifiers.intent import IntentClassifier
from classifiers.labels import AFTER_SALES

HERE = Path(__file__).resolve().parent
SPLITS = ("dev", "holdout")


def load_sample(corpus: Path, labels: Path) -> dict[str, list[tuple[str, str]]]:
    """``(text, label)`` pairs by split, the text read from the shared corpus by line number."""
    lines = corpus.read_text("utf-8").splitlines()
    out: dict[str, list[tuple[str, str]]] = {name: [] for name in SPLITS}
    for row in labels.read_text("utf-8").splitlines():
        if not row.strip():
            continue
        gold = json.loads(row)
        text = json.loads(lines[gold["line"]])["text"]
        out[gold.get("split", "dev")].append((text, gold["label"]))
    return out


def main() -> None:
    """Print the report of the bundled (or given) model on each split of the sample."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, required=True, help="real_utterances.jsonl")
    parser.add_argument("--labels", type=Path, default=HERE / "real_sample_labels.jsonl")
    parser.add_argument("--model", type=Path, help="model directory (default: bundled)")
    parser.add_argument("--split", choices=(*SPLITS, "all"), default="all")
    parser.add_argument(
        "--threshold",
        type=float,
        default=0.0,
        help="minimum score of the seven after-sales labels (default: none)",
    )
    args = parser.parse_args()
    thresholds = dict.fromkeys(AFTER_SALES, args.threshold) if args.threshold else None
    model = IntentClassifier.load(args.model, thresholds=thresholds)
    sample = load_sample(args.corpus, args.labels)
    chosen = SPLITS if args.split == "all" else (args.split,)
    for name in chosen:
        examples = sample[name]
        predicted = [r.label for r in model.predict([text for text, _ in examples])]
        print(f"model {model.version} on {len(examples)} hand-labelled real lines ({name})")
        print(format_report(score([label for _, label in examples], predicted)))
        print()


if __name__ == "__main__":
    main()
