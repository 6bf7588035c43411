"""Scoring host-speech checking against hand-labelled utterances (speech_dev/test.jsonl).

A line is ``{"id", "sku", "text", "misstatements": [{"field", "claimed"?}], "compliance": [terms]}``.
Figures:

- misstatement precision / recall per utterance: does the checker flag a line exactly when the
  line misstates something;
- right field: of the lines rightly flagged, the share whose flagged fields are exactly the
  labelled ones;
- per field precision / recall over (line, field) pairs;
- claimed: of the rightly flagged pairs whose label gives the claimed value, the share where
  the checker reports that value;
- compliance precision / recall over (line, term) pairs;
- speed in utterances per second (one thread).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

FIELDS = (
    "price",
    "free_shipping",
    "ship_within_hours",
    "presale_days",
    "seven_day_return",
    "warranty_months",
    "gifts",
    "specs",
)


class SpeechDataError(ValueError):
    """A labelled file that cannot be scored; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class SpeechExample:
    """One labelled host utterance."""

    id: str
    sku: str | None
    text: str
    misstatements: dict[str, str | None]  # field -> claimed value (None when not labelled)
    compliance: frozenset[str]


class _Misstatement(Protocol):
    @property
    def field(self) -> str: ...

    @property
    def claimed(self) -> str: ...


class _Hit(Protocol):
    @property
    def term(self) -> str: ...


class _Report(Protocol):
    @property
    def misstatements(self) -> Sequence[_Misstatement]: ...

    @property
    def compliance(self) -> Sequence[_Hit]: ...


class Checker(Protocol):
    """What scoring needs of ``classifiers.misstatement.SpeechChecker``."""

    def check(self, text: str, sku: str | None) -> _Report:
        """Findings of one utterance."""


def read_speech_labels(path: str | Path) -> list[SpeechExample]:
    """Labelled utterances of a JSONL file; raises SpeechDataError naming the bad line."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise SpeechDataError(f"{path.name}: cannot read ({exc.__class__.__name__})") from None
    examples: list[SpeechExample] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path.name}: line {number}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SpeechDataError(f"{where}: invalid JSON ({exc.msg})") from None
        if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
            raise SpeechDataError(f"{where}: expected an object with a text")
        found: dict[str, str | None] = {}
        for item in obj.get("misstatements") or []:
            if not isinstance(item, dict) or item.get("field") not in FIELDS:
                raise SpeechDataError(f"{where}: misstatement needs a field out of {FIELDS}")
            claimed = item.get("claimed")
            found[item["field"]] = str(claimed) if claimed is not None else None
        terms = obj.get("compliance") or []
        if not isinstance(terms, list) or not all(isinstance(t, str) for t in terms):
            raise SpeechDataError(f"{where}: compliance must be a list of terms")
        sku = obj.get("sku")
        examples.append(
            SpeechExample(
                str(obj.get("id", number)),
                str(sku) if sku is not None else None,
                obj["text"],
                found,
                frozenset(terms),
            )
        )
    return examples


@dataclass(slots=True)
class Counts:
    """True positives, false positives and false negatives."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        """tp / (tp + fp); 1.0 when nothing was predicted."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        """tp / (tp + fn); 1.0 when nothing was expected."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    def as_dict(self) -> dict[str, Any]:
        """Counts with precision and recall."""
        return {
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
        }


@dataclass(slots=True)
class Error:
    """A line the checker got wrong, for reading through."""

    id: str
    sku: str | None
    text: str
    expected: list[str]
    predicted: list[str]


@dataclass(slots=True)
class SpeechEval:
    """Every figure of one evaluation run."""

    lines: int = 0
    utterances: Counts = field(default_factory=Counts)
    right_field: int = 0
    fields: dict[str, Counts] = field(default_factory=lambda: {f: Counts() for f in FIELDS})
    claimed_total: int = 0
    claimed_right: int = 0
    compliance: Counts = field(default_factory=Counts)
    seconds: float = 0.0
    errors: list[Error] = field(default_factory=list)

    @property
    def right_field_rate(self) -> float:
        """Share of rightly flagged lines whose fields are exactly the labelled ones."""
        return self.right_field / self.utterances.tp if self.utterances.tp else 1.0

    @property
    def claimed_rate(self) -> float:
        """Share of rightly flagged (line, field) pairs with the labelled claimed value."""
        return self.claimed_right / self.claimed_total if self.claimed_total else 1.0

    @property
    def per_second(self) -> float:
        """Utterances checked per second."""
        return self.lines / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        """The report as plain JSON-ready data."""
        return {
            "lines": self.lines,
            "misstatement": {
                **self.utterances.as_dict(),
                "right_field": round(self.right_field_rate, 4),
                "claimed": round(self.claimed_rate, 4),
            },
            "fields": {f: c.as_dict() for f, c in self.fields.items()},
            "compliance": self.compliance.as_dict(),
            "utterances_per_second": round(self.per_second, 1),
            "errors": [
                {
                    "id": e.id,
                    "sku": e.sku,
                    "text": e.text,
                    "expected": e.expected,
                    "predicted": e.predicted,
                }
                for e in self.errors
            ],
        }


def evaluate(checker: Checker, examples: Sequence[SpeechExample]) -> SpeechEval:
    """Run the checker over ``examples`` once and score it."""
    result = SpeechEval(lines=len(examples))
    start = time.perf_counter()
    reports = [checker.check(e.text, e.sku) for e in examples]
    result.seconds = time.perf_counter() - start
    for example, report in zip(examples, reports, strict=True):
        predicted = {m.field: m.claimed for m in report.misstatements}
        gold = example.misstatements
        if gold and predicted:
            result.utterances.tp += 1
            result.right_field += set(gold) == set(predicted)
        elif predicted:
            result.utterances.fp += 1
        elif gold:
            result.utterances.fn += 1
        for name in FIELDS:
            counts = result.fields[name]
            if name in gold and name in predicted:
                counts.tp += 1
                claimed = gold[name]
                if claimed is not None:
                    result.claimed_total += 1
                    result.claimed_right += claimed == predicted[name]
            elif name in predicted:
                counts.fp += 1
            elif name in gold:
                counts.fn += 1
        terms = {h.term for h in report.compliance}
        result.compliance.tp += len(terms & example.compliance)
        result.compliance.fp += len(terms - example.compliance)
        result.compliance.fn += len(example.compliance - terms)
        if set(gold) != set(predicted) or terms != example.compliance:
            result.errors.append(
                Error(
                    example.id,
                    example.sku,
                    example.text,
                    sorted(f"{f}={c}" if c else f for f, c in gold.items())
                    + sorted(example.compliance),
                    sorted(f"{f}={c}" for f, c in predicted.items()) + sorted(terms),
                )
            )
    return result


def format_report(result: SpeechEval, *, show_errors: int = 0) -> str:
    """A plain-text table of the figures (and the first ``show_errors`` wrong lines)."""
    u = result.utterances
    rows = [
        f"{result.lines} utterances, {u.tp + u.fn} with a misstatement",
        f"misstatement precision {u.precision:.3f}  recall {u.recall:.3f}  "
        f"right field {result.right_field_rate:.3f}  claimed value {result.claimed_rate:.3f}",
        "",
        f"{'field':<18} {'P':>6} {'R':>6} {'tp':>4} {'fp':>4} {'fn':>4}",
    ]
    for name, c in result.fields.items():
        rows.append(
            f"{name:<18} {c.precision:>6.3f} {c.recall:>6.3f} {c.tp:>4} {c.fp:>4} {c.fn:>4}"
        )
    c = result.compliance
    rows += [
        "",
        f"compliance precision {c.precision:.3f}  recall {c.recall:.3f}  "
        f"(tp {c.tp}, fp {c.fp}, fn {c.fn})",
        f"speed {result.per_second:,.0f} utterances/s",
    ]
    for e in result.errors[:show_errors]:
        rows.append(f"  {e.id} [{e.sku}] {e.text}  expected {e.expected} got {e.predicted}")
    return "\n".join(rows)
