"""Scores of a labelled evaluation: per-label P/R/F1, confusion matrix, after-sales P/R.

Pure Python, so ``eval`` does not need scikit-learn at run time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from classifiers.labels import AFTER_SALES, LABELS


@dataclass(frozen=True, slots=True)
class LabelScore:
    """Precision, recall, F1 and support of one label."""

    precision: float
    recall: float
    f1: float
    support: int


@dataclass(slots=True)
class Report:
    """The result of comparing predictions with gold labels."""

    per_label: dict[str, LabelScore]
    confusion: list[list[int]]  # rows gold, columns predicted, in LABELS order
    accuracy: float
    macro_f1: float
    after_sales_precision: float
    after_sales_recall: float
    chatter_false_alarm: float  # share of gold "other" lines predicted as after-sales
    n: int
    extra: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready form."""
        return {
            "n": self.n,
            "accuracy": round(self.accuracy, 4),
            "macro_f1": round(self.macro_f1, 4),
            "after_sales_precision": round(self.after_sales_precision, 4),
            "after_sales_recall": round(self.after_sales_recall, 4),
            "chatter_false_alarm": round(self.chatter_false_alarm, 4),
            "per_label": {
                k: {
                    "precision": round(v.precision, 4),
                    "recall": round(v.recall, 4),
                    "f1": round(v.f1, 4),
                    "support": v.support,
                }
                for k, v in self.per_label.items()
            },
            "confusion": self.confusion,
        }


def _ratio(a: int, b: int) -> float:
    return a / b if b else 0.0


def score(gold: Sequence[str], predicted: Sequence[str]) -> Report:
    """Compare two equally long label sequences."""
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold labels but {len(predicted)} predictions")
    pos = {label: i for i, label in enumerate(LABELS)}
    matrix = [[0] * len(LABELS) for _ in LABELS]
    for g, p in zip(gold, predicted, strict=True):
        matrix[pos[g]][pos[p]] += 1
    per_label: dict[str, LabelScore] = {}
    for label, i in pos.items():
        tp = matrix[i][i]
        predicted_n = sum(row[i] for row in matrix)
        support = sum(matrix[i])
        precision, recall = _ratio(tp, predicted_n), _ratio(tp, support)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_label[label] = LabelScore(precision, recall, f1, support)
    present = [s for s in per_label.values() if s.support]
    gold_as = [g in AFTER_SALES for g in gold]
    pred_as = [p in AFTER_SALES for p in predicted]
    tp_as = sum(g and p for g, p in zip(gold_as, pred_as, strict=True))
    others = [p for g, p in zip(gold, predicted, strict=True) if g == "other"]
    return Report(
        per_label=per_label,
        confusion=matrix,
        accuracy=_ratio(sum(matrix[i][i] for i in range(len(LABELS))), len(gold)),
        macro_f1=sum(s.f1 for s in present) / len(present) if present else 0.0,
        after_sales_precision=_ratio(tp_as, sum(pred_as)),
        after_sales_recall=_ratio(tp_as, sum(gold_as)),
        chatter_false_alarm=_ratio(sum(p in AFTER_SALES for p in others), len(others)),
        n=len(gold),
    )


def format_report(report: Report) -> str:
    """A plain-text table for terminals and the model card."""
    lines = [f"{'label':<14} {'P':>6} {'R':>6} {'F1':>6} {'n':>6}"]
    for label, s in report.per_label.items():
        lines.append(f"{label:<14} {s.precision:6.3f} {s.recall:6.3f} {s.f1:6.3f} {s.support:6d}")
    lines.append(
        f"accuracy {report.accuracy:.3f}  macro-F1 {report.macro_f1:.3f}  "
        f"after-sales P {report.after_sales_precision:.3f} R {report.after_sales_recall:.3f}  "
        f"chatter false alarms {report.chatter_false_alarm:.3f}  (n={report.n})"
    )
    short = [label[:6] for label in LABELS]
    lines.append("")
    lines.append("confusion (rows gold, columns predicted):")
    lines.append(" " * 14 + " ".join(f"{s:>6}" for s in short))
    for label, row in zip(LABELS, report.confusion, strict=True):
        lines.append(f"{label:<14}" + " ".join(f"{v:6d}" for v in row))
    return "\n".join(lines)
