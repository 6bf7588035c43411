"""Train, compare and export intent models (scikit-learn at training time only).

Candidates are TF-IDF feature sets (jieba words, character 1–3-grams, both) with a linear
classifier (logistic regression or a linear SVM). Each is fitted on the train split and scored
on the dev split; the winner maximises macro-F1 + after-sales recall − chatter false-alarm
rate (near-ties go to the cheaper feature set). The same key then picks how much unseen
n-grams damp a line's evidence (``unseen_weight``, see ``classifiers.intent``). The decision
values are calibrated with one temperature fitted on dev (minimum log-loss), then exported to
plain arrays that ``classifiers.intent`` scores without scikit-learn.

Errors::

    ValueError
    └── TrainDataError   a labelled file is missing, malformed, or lacks a label
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from classifiers.evaluation import Report, score
from classifiers.intent import FloatArray, IntentClassifier, LinearModel, save_model
from classifiers.labels import LABELS
from classifiers.normalize import normalize_cached
from classifiers.tokenize import Kind, analyzer

DATA_DIR = Path(__file__).resolve().parent / "data"
TRAIN = DATA_DIR / "intent_train.jsonl"
DEV = DATA_DIR / "intent_dev.jsonl"
TEST = DATA_DIR / "intent_test.jsonl"


class TrainDataError(ValueError):
    """A labelled JSONL file cannot be used."""

    def __init__(self, path: Path, line: int | None, reason: str) -> None:
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {reason}")
        self.path, self.line, self.reason = path, line, reason


Example = tuple[str, str]


def read_labelled(path: Path) -> list[Example]:
    """``(text, label)`` pairs from JSONL lines ``{"text": …, "label": …}``."""
    try:
        raw = path.read_text("utf-8")
    except OSError as exc:
        raise TrainDataError(path, None, f"cannot read ({exc.strerror})") from exc
    out: list[Example] = []
    for n, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise TrainDataError(path, n, f"invalid JSON ({exc.msg})") from exc
        if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
            raise TrainDataError(path, n, "expected an object with a string 'text'")
        label = obj.get("label")
        if label not in LABELS:
            raise TrainDataError(path, n, f"unknown label {label!r}")
        out.append((obj["text"], label))
    if not out:
        raise TrainDataError(path, None, "no labelled lines")
    return out


@dataclass(frozen=True, slots=True)
class Candidate:
    """A feature set and a linear classifier factory."""

    name: str
    kind: Kind
    make: Callable[[int], Any]  # seed -> unfitted scikit-learn classifier


def _logreg(c: float) -> Callable[[int], Any]:
    def make(seed: int) -> Any:
        from sklearn.linear_model import LogisticRegression  # noqa: PLC0415 - slow import

        return LogisticRegression(C=c, max_iter=5000, random_state=seed)

    return make


def _svm(c: float) -> Callable[[int], Any]:
    def make(seed: int) -> Any:
        from sklearn.svm import LinearSVC  # noqa: PLC0415 - slow import

        return LinearSVC(C=c, random_state=seed)

    return make


CANDIDATES: dict[str, Candidate] = {
    c.name: c
    for c in (
        Candidate("word-tfidf+logreg", "word", _logreg(20.0)),
        Candidate("char-tfidf+linsvm", "char", _svm(0.5)),
        Candidate("word+char-tfidf+logreg", "both", _logreg(20.0)),
        Candidate("word+char-tfidf+linsvm", "both", _svm(0.5)),
    )
}


def _analyze(kind: Kind) -> Callable[[str], list[str]]:
    feats = analyzer(kind)
    return lambda text: feats(normalize_cached(text))


def fit_estimators(candidate: Candidate, examples: Sequence[Example], seed: int) -> tuple[Any, Any]:
    """The fitted scikit-learn ``(TfidfVectorizer, classifier)`` of one candidate."""
    from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: PLC0415

    missing = set(LABELS) - {label for _, label in examples}
    if missing:
        raise ValueError(f"no training lines for label(s): {', '.join(sorted(missing))}")
    vectorizer = TfidfVectorizer(analyzer=_analyze(candidate.kind), sublinear_tf=True)
    x = vectorizer.fit_transform([text for text, _ in examples])
    clf = candidate.make(seed)
    clf.fit(x, [label for _, label in examples])
    return vectorizer, clf


def export(vectorizer: Any, clf: Any) -> LinearModel:
    """The arrays of a fitted vectorizer and linear classifier, columns in LABELS order."""
    order = [list(clf.classes_).index(label) for label in LABELS]
    vocabulary = [""] * len(vectorizer.vocabulary_)
    for feature, i in vectorizer.vocabulary_.items():
        vocabulary[i] = feature
    return LinearModel(
        vocabulary=vocabulary,
        idf=np.asarray(vectorizer.idf_, dtype=np.float64),
        coef=np.ascontiguousarray(np.asarray(clf.coef_, dtype=np.float64)[order].T),
        intercept=np.asarray(clf.intercept_, dtype=np.float64)[order],
    )


def fit(candidate: Candidate, examples: Sequence[Example], seed: int) -> LinearModel:
    """Fit one candidate and export it."""
    return export(*fit_estimators(candidate, examples, seed))


def fit_temperature(logits: FloatArray, gold: Sequence[str]) -> float:
    """The temperature minimising the dev log-loss of ``softmax(logits / T)``."""
    y = np.array([LABELS.index(g) for g in gold])
    best_t, best_loss = 1.0, math.inf
    for t in np.exp(np.linspace(math.log(0.05), math.log(20.0), 240)):
        z = logits / t
        z = z - z.max(axis=1, keepdims=True)
        log_p = z[np.arange(len(y)), y] - np.log(np.exp(z).sum(axis=1))
        loss = float(-log_p.mean())
        if loss < best_loss:
            best_t, best_loss = float(t), loss
    return best_t


def classifier(
    model: LinearModel, kind: Kind, temperature: float = 1.0, unseen_weight: float = 0.0
) -> IntentClassifier:
    """A scorer over exported arrays (the same code path as the bundled model)."""
    return IntentClassifier(model, kind=kind, temperature=temperature, unseen_weight=unseen_weight)


def evaluate(clf: IntentClassifier, examples: Sequence[Example]) -> Report:
    """Score a classifier on labelled examples."""
    results = clf.predict([text for text, _ in examples])
    return score([label for _, label in examples], [r.label for r in results])


def selection_key(report: Report) -> float:
    """What ``train`` maximises on dev: the issue's three aims, equally weighted."""
    return report.macro_f1 + report.after_sales_recall - report.chatter_false_alarm


# Candidates whose key is within this of the best are treated as tied (dev noise) and the
# cheapest feature set wins: character n-grams need no tokenizer and score ~20% faster.
TIE = 0.005
KIND_COST: dict[Kind, int] = {"char": 0, "word": 1, "both": 2}

# Weights of unseen n-grams tried on dev (0 = plain TF-IDF, as scikit-learn computes it).
UNSEEN_WEIGHTS = (0.0, 0.15, 0.3, 0.45, 0.6, 0.75, 0.9)


def choose_unseen_weight(
    model: LinearModel, kind: Kind, dev: Sequence[Example]
) -> tuple[float, dict[float, Report]]:
    """The unseen-n-gram weight with the best dev key.

    Weights within ``TIE`` of the best are a tie (dev noise) and the smallest wins: it keeps
    more after-sales recall, and a missed after-sales question is the costlier error.
    """
    reports = {w: evaluate(classifier(model, kind, unseen_weight=w), dev) for w in UNSEEN_WEIGHTS}
    keys = {w: selection_key(r) for w, r in reports.items()}
    best = max(keys.values())
    return min(w for w, key in keys.items() if key >= best - TIE), reports


# Feature sets fast enough for the speed targets (>= 25,000 lines/s in micro-batches on one
# core, and faster than jieba.lcut): the word tokenizer alone costs about as much as
# jieba.lcut, so word features miss them (benchmarks/classify.py; MODEL_CARD.md). Other
# candidates are fitted and reported for comparison, and win only when no fast one was fitted.
FAST_KINDS: frozenset[Kind] = frozenset({"char"})


def choose(keys: dict[str, float]) -> str:
    """The winning candidate: best key, or among near-ties the cheapest feature set.

    Only fast feature sets are eligible when any was fitted (see ``FAST_KINDS``).
    """
    fast = {name: key for name, key in keys.items() if CANDIDATES[name].kind in FAST_KINDS}
    keys = fast or keys
    best = max(keys.values())
    tied = [name for name, key in keys.items() if key >= best - TIE]
    return min(tied, key=lambda name: (KIND_COST[CANDIDATES[name].kind], -keys[name]))


def _summary(report: Report) -> dict[str, float]:
    return {
        "macro_f1": round(report.macro_f1, 4),
        "after_sales_precision": round(report.after_sales_precision, 4),
        "after_sales_recall": round(report.after_sales_recall, 4),
        "chatter_false_alarm": round(report.chatter_false_alarm, 4),
    }


@dataclass(slots=True)
class TrainResult:
    """What ``train`` chose and why."""

    chosen: str
    temperature: float
    unseen_weight: float
    dev: dict[str, Report]
    header: dict[str, Any]
    model_dir: Path


def train(
    train_path: Path = TRAIN,
    dev_path: Path = DEV,
    out_dir: Path | None = None,
    *,
    seed: int = 20261122,
    candidates: Sequence[str] | None = None,
    release: str | None = None,
    refit: bool = True,
    log: Callable[[str], None] = lambda _msg: None,
) -> TrainResult:
    """Fit every candidate, pick the best on dev, calibrate it, and write the model files.

    With ``refit`` the chosen candidate is fitted again on train+dev before export.
    """
    from classifiers.intent import MODEL_DIR  # noqa: PLC0415

    train_set, dev_set = read_labelled(train_path), read_labelled(dev_path)
    names = list(candidates) if candidates else list(CANDIDATES)
    unknown = [n for n in names if n not in CANDIDATES]
    if unknown:
        raise ValueError(f"unknown candidate(s) {unknown}; choose from {list(CANDIDATES)}")
    fitted: dict[str, LinearModel] = {}
    reports: dict[str, Report] = {}
    for name in names:
        log(f"fitting {name} on {len(train_set)} lines")
        fitted[name] = fit(CANDIDATES[name], train_set, seed)
        reports[name] = evaluate(classifier(fitted[name], CANDIDATES[name].kind), dev_set)
        r = reports[name]
        log(
            f"  dev macro-F1 {r.macro_f1:.3f}  after-sales R {r.after_sales_recall:.3f}  "
            f"false alarms {r.chatter_false_alarm:.3f}"
        )
    chosen = choose({n: selection_key(reports[n]) for n in names})
    kind = CANDIDATES[chosen].kind
    unseen_weight, by_weight = choose_unseen_weight(fitted[chosen], kind, dev_set)
    for weight, r in by_weight.items():
        log(
            f"  unseen weight {weight:.2f}: macro-F1 {r.macro_f1:.3f}  "
            f"after-sales R {r.after_sales_recall:.3f}  false alarms {r.chatter_false_alarm:.3f}"
        )
    raw = classifier(fitted[chosen], kind, unseen_weight=unseen_weight)
    temperature = fit_temperature(raw.decisions([t for t, _ in dev_set]), [g for _, g in dev_set])
    log(f"chose {chosen}; unseen weight {unseen_weight}; temperature {temperature:.3f}")
    if refit:
        # Dev templates are phrasings train lacks: fold them in once selection and calibration
        # are done (the test split is never used).
        log(f"refitting {chosen} on train+dev ({len(train_set) + len(dev_set)} lines)")
        fitted[chosen] = fit(CANDIDATES[chosen], [*train_set, *dev_set], seed)
    header: dict[str, Any] = {
        "release": release or datetime.now(UTC).strftime("%Y.%m"),
        "labels": list(LABELS),
        "kind": kind,
        "candidate": chosen,
        "temperature": temperature,
        "unseen_weight": unseen_weight,
        "thresholds": {},
        "seed": seed,
        "train_lines": len(train_set) + (len(dev_set) if refit else 0),
        "refit_on_dev": refit,
        "train_labels": dict(sorted(Counter(label for _, label in train_set).items())),
        "dev": {n: r.as_dict() for n, r in reports.items()},
        "dev_unseen_weight": {str(w): _summary(r) for w, r in by_weight.items()},
    }
    target = out_dir or MODEL_DIR
    header = save_model(target, fitted[chosen], header)
    return TrainResult(chosen, temperature, unseen_weight, reports, header, target)
