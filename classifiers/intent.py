"""The intent classifier: danmaku text → one of the nine DESIGN labels with a calibrated score.

The model is a linear classifier over TF-IDF features fitted with scikit-learn
(``classifiers.train``) and exported as plain arrays: a vocabulary, the IDF weights, a
coefficient matrix and intercepts (``intent.npz``, loaded with ``allow_pickle=False``) plus a
JSON header. Scoring re-implements ``TfidfVectorizer(sublinear_tf=True)`` followed by
``decision_function`` in a few numpy operations, giving the same decisions as scikit-learn
without its per-call overhead (input validation and sparse-matrix building cost ~1 ms per
``predict`` call; the arithmetic costs microseconds). Scores are a softmax of the decision
values divided by a temperature fitted on the dev split, so ``score`` ≈ probability correct.

Errors::

    ValueError
    └── ModelLoadError   missing, unreadable or inconsistent model files
"""

from __future__ import annotations

import hashlib
import json
import math
import zipfile
import zlib
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from classifiers.labels import AFTER_SALES, LABELS
from classifiers.normalize import normalize_cached
from classifiers.tokenize import Kind, analyzer, tokenizer

MODEL_DIR = Path(__file__).resolve().parent / "models"
HEADER = "intent.json"
ARRAYS = "intent.npz"
FORMAT = 1

FloatArray = npt.NDArray[np.float64]
_OTHER = LABELS.index("other")
# (label, after_sales) by column of the coefficient matrix.
_RESULTS: list[tuple[str, bool]] = [(label, label in AFTER_SALES) for label in LABELS]


class ModelLoadError(ValueError):
    """The model files are missing, unreadable or inconsistent."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"cannot load intent model from {path}: {reason}")
        self.path = path
        self.reason = reason


@dataclass(frozen=True, slots=True)
class IntentResult:
    """One classification: label id, calibrated score in [0, 1], after-sales flag."""

    label: str
    score: float
    after_sales: bool


@dataclass(frozen=True, slots=True)
class LinearModel:
    """The exported arrays of a fitted TF-IDF + linear model."""

    vocabulary: list[str]
    idf: FloatArray  # (n_features,)
    coef: FloatArray  # (n_features, n_labels): transposed so a row gather is contiguous
    intercept: FloatArray  # (n_labels,)


def model_paths(path: str | Path | None) -> tuple[Path, Path]:
    """The header and array files of a model given as a directory or its ``intent.json``."""
    base = MODEL_DIR if path is None else Path(path)
    if base.suffix == ".json":
        return base, base.with_suffix(".npz")
    return base / HEADER, base / ARRAYS


def save_model(directory: Path, model: LinearModel, header: Mapping[str, Any]) -> dict[str, Any]:
    """Write ``intent.npz`` and ``intent.json``; return the header with its derived version.

    The version hash covers the array contents (not the zip file, which carries timestamps)
    and the header values that change scores (kind, temperature, unseen weight), so the same
    data and seed give the same version and a different scorer never shares one.
    """
    directory.mkdir(parents=True, exist_ok=True)
    header_path, arrays_path = directory / HEADER, directory / ARRAYS
    arrays = {
        "vocabulary": np.array(model.vocabulary, dtype=str),
        "idf": model.idf.astype(np.float64),
        "coef": model.coef.astype(np.float32),
        "intercept": model.intercept.astype(np.float64),
    }
    np.savez_compressed(arrays_path, **arrays)  # type: ignore[arg-type]
    hasher = hashlib.sha256()
    for name in sorted(arrays):
        hasher.update(name.encode())
        hasher.update(arrays[name].tobytes())
    scoring = {key: header.get(key) for key in ("kind", "temperature", "unseen_weight")}
    hasher.update(json.dumps(scoring, sort_keys=True).encode())
    digest = hasher.hexdigest()[:8]
    full = {"format": FORMAT, **header, "sha256_8": digest}
    full["version"] = f"intent-{header.get('release', '0')}-{digest}"
    header_path.write_text(json.dumps(full, ensure_ascii=False, indent=2) + "\n", "utf-8")
    return full


def _read(path: str | Path | None) -> tuple[dict[str, Any], LinearModel]:
    header_path, arrays_path = model_paths(path)
    try:
        header = json.loads(header_path.read_text("utf-8"))
        with np.load(arrays_path, allow_pickle=False) as arrays:
            model = LinearModel(
                vocabulary=arrays["vocabulary"].tolist(),
                idf=arrays["idf"].astype(np.float64),
                coef=arrays["coef"].astype(np.float64),
                intercept=arrays["intercept"].astype(np.float64),
            )
    except FileNotFoundError as exc:
        raise ModelLoadError(Path(exc.filename or header_path), "file not found") from exc
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise ModelLoadError(header_path.parent, f"corrupt model file ({exc})") from exc
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ModelLoadError(header_path, f"unsupported model format, expected {FORMAT}")
    labels = header.get("labels")
    n = len(model.vocabulary)
    if (
        labels != list(LABELS)
        or model.idf.shape != (n,)
        or model.coef.shape != (n, len(LABELS))
        or model.intercept.shape != (len(LABELS),)
        or header.get("kind") not in ("word", "char", "both")
    ):
        raise ModelLoadError(header_path, "arrays and header do not match the label set")
    return header, model


class IntentClassifier:
    """Classify danmaku lines; build with ``IntentClassifier.load()``."""

    def __init__(
        self,
        model: LinearModel,
        *,
        kind: Kind,
        temperature: float = 1.0,
        thresholds: Mapping[str, float] | None = None,
        unseen_weight: float = 0.0,
        version: str = "intent-dev",
    ) -> None:
        if not temperature > 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        if not unseen_weight >= 0:
            raise ValueError(f"unseen_weight must be zero or positive, got {unseen_weight}")
        unknown = set(thresholds or {}) - set(LABELS)
        if unknown:
            raise ValueError(f"unknown label(s) in thresholds: {', '.join(sorted(unknown))}")
        self.version = version
        self.kind: Kind = kind
        self.temperature = temperature
        # A label whose best score is below its threshold is reported as "other".
        self.thresholds = dict(thresholds or {})
        self._analyze = analyzer(kind)
        if kind != "char":
            tokenizer()  # build the word tokenizer now, so loading pays for it, not scoring
        self._index = dict(zip(model.vocabulary, range(len(model.vocabulary)), strict=True))
        self._idf = model.idf
        self.unseen_weight = unseen_weight
        self._unseen_idf = unseen_weight * float(model.idf.max()) if len(model.idf) else 0.0
        self._coef = model.coef / temperature
        self._intercept = model.intercept / temperature
        self._results = _RESULTS

    @classmethod
    def load(
        cls, path: str | Path | None = None, *, thresholds: Mapping[str, float] | None = None
    ) -> IntentClassifier:
        """Load a model directory (``None`` = the bundled model); thresholds override the file's."""
        header, model = _read(path)
        merged = {**cast(dict[str, float], header.get("thresholds") or {}), **(thresholds or {})}
        try:
            return cls(
                model,
                kind=header["kind"],
                temperature=float(header.get("temperature", 1.0)),
                thresholds=merged,
                unseen_weight=float(header.get("unseen_weight", 0.0)),
                version=str(header.get("version", "intent-unknown")),
            )
        except (TypeError, ValueError) as exc:
            raise ModelLoadError(model_paths(path)[0], str(exc)) from exc

    def _counts(self, text: str) -> Counter[str]:
        """Feature counts of one line (Counter counts in C)."""
        return Counter(self._analyze(normalize_cached(text)))

    def _result(self, z: FloatArray) -> IntentResult:
        best = int(z.argmax())
        # Softmax probability of the best label, computed stably from the logits.
        score = 1.0 / float(np.exp(z - z[best]).sum())
        label, after_sales = self._results[best]
        if score < self.thresholds.get(label, 0.0):
            return IntentResult("other", 1.0 / float(np.exp(z - z[_OTHER]).sum()), False)
        return IntentResult(label, score, after_sales)

    def decision(self, text: str) -> FloatArray:
        """Calibrated logits of one line (decision values divided by the temperature)."""
        counts = self._counts(text)
        n = len(counts)
        # Unknown features map to -1 and are masked out; map() with a default runs in C.
        idx = np.fromiter(map(self._index.get, counts, repeat(-1, n)), np.intp, n)
        tf = np.fromiter(counts.values(), np.float64, n)
        known = idx >= 0
        if not known.any():
            return self._intercept.copy()
        unseen = self._unseen_mass(tf[~known]) if self._unseen_idf else 0.0
        idx, tf = idx[known], tf[known]
        values = (np.log(tf) + 1.0) * self._idf[idx]
        values /= math.sqrt(float(values @ values) + unseen)
        result: FloatArray = values @ self._coef[idx] + self._intercept
        return result

    def _unseen_mass(self, tf: FloatArray) -> float:
        """Squared norm that unseen n-grams with counts ``tf`` add to a line's TF-IDF vector."""
        if not len(tf):
            return 0.0
        weights = (np.log(tf) + 1.0) * self._unseen_idf
        return float(weights @ weights)

    def predict_one(self, text: str) -> IntentResult:
        """Classify one line."""
        return self._result(self.decision(text))

    def decisions(self, texts: Sequence[str]) -> FloatArray:
        """Calibrated logits of a batch, shape (len(texts), n_labels)."""
        get, counter = self._index.get, self._counts
        all_idx: list[int] = []
        all_tf: list[int] = []
        sizes: list[int] = []
        for text in texts:
            counts = counter(text)
            all_idx.extend(map(get, counts, repeat(-1, len(counts))))
            all_tf.extend(counts.values())
            sizes.append(len(counts))
        n = len(texts)
        out = np.tile(self._intercept, (n, 1))
        idx = np.array(all_idx, dtype=np.intp)
        rows = np.repeat(np.arange(n), sizes)
        known = idx >= 0
        if not known.any():
            return out
        tf = np.array(all_tf, dtype=np.float64)
        squares: FloatArray = np.zeros(n)
        if self._unseen_idf and not known.all():
            extra = (np.log(tf[~known]) + 1.0) * self._unseen_idf
            squares = np.bincount(rows[~known], weights=extra * extra, minlength=n).astype(
                np.float64
            )
        idx, rows = idx[known], rows[known]
        values = (np.log(tf[known]) + 1.0) * self._idf[idx]
        norms = np.sqrt(np.bincount(rows, weights=values * values, minlength=n) + squares)
        values /= norms[rows]
        weighted = self._coef[idx] * values[:, None]
        for j in range(out.shape[1]):
            out[:, j] += np.bincount(rows, weights=weighted[:, j], minlength=n)
        return out

    def predict(self, texts: Sequence[str]) -> list[IntentResult]:
        """Classify a micro-batch in one vectorised pass (much faster per line than one by one)."""
        if not texts:
            return []
        z = self.decisions(texts)
        best = z.argmax(axis=1)
        # Softmax probabilities of the best label and of "other", for all rows at once.
        exp = np.exp(z - z[np.arange(len(z)), best][:, None])
        total = exp.sum(axis=1)
        scores = (1.0 / total).tolist()
        other = (exp[:, _OTHER] / total).tolist()
        table, thresholds = self._results, self.thresholds
        out: list[IntentResult] = []
        for i, score in zip(best.tolist(), scores, strict=True):
            label, after_sales = table[i]
            if thresholds and score < thresholds.get(label, 0.0):
                out.append(IntentResult("other", other[len(out)], False))
            else:
                out.append(IntentResult(label, score, after_sales))
        return out
