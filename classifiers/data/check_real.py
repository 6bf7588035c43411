"""Score a model on hand-labelled real lines without keeping their text in this repository.

``real_sample_labels.jsonl`` holds only ``{"line": n, "label": …}``: the 0-based line number
in ``real_utterances.jsonl`` (the shared corpus described in its SOURCES.md; part of it has no
stated licence, so the text stays there) and the label given by hand with the guide in
``templates.py``. Run from the repository root::

    python -m classifiers.data.check_real --corpus ../shared/corpora/real_utterances.jsonl
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from classifiers.evaluation import format_report, score
from classifiers.intent import IntentClassifier

HERE = Path(__file__).resolve().parent


def main() -> None:
    """Print the report of the bundled (or given) model on the labelled sample."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, required=True, help="real_utterances.jsonl")
    parser.add_argument("--labels", type=Path, default=HERE / "real_sample_labels.jsonl")
    parser.add_argument("--model", type=Path, help="model directory (default: bundled)")
    args = parser.parse_args()
    lines = args.corpus.read_text("utf-8").splitlines()
    gold = [json.loads(row) for row in args.labels.read_text("utf-8").splitlines() if row]
    texts = [json.loads(lines[g["line"]])["text"] for g in gold]
    model = IntentClassifier.load(args.model)
    predicted = [r.label for r in model.predict(texts)]
    print(f"model {model.version} on {len(gold)} hand-labelled real lines")
    print(format_report(score([g["label"] for g in gold], predicted)))


if __name__ == "__main__":
    main()
