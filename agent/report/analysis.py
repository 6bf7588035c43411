"""The after-show figures, computed from stored rows (pure: lists of dicts in, tables out).

Lifecycle times (created, acked, resolved) are the agent's wall clock, so response times
are right even for a replayed broadcast; the time axis of inquiries is the source time.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from classifiers.labels import FIELD_ZH, LABEL_ZH

Row = dict[str, Any]
SEVERITY_ZH = {"critical": "紧急", "high": "高", "medium": "中", "low": "低"}
SEVERITY_ORDER = ("critical", "high", "medium", "low")
KIND_ZH = {"inquiry": "咨询", "misstatement": "口播错误", "spike": "激增", "compliance": "违规用语"}
STATE_ZH = {"open": "待处理", "acked": "已确认", "escalated": "已升级", "resolved": "已解决"}
_BUCKETS = (10, 30, 60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 86400, 7 * 86400)


def label_zh(category: str) -> str:
    """The Chinese name of an intent label or catalog field."""
    return LABEL_ZH.get(category) or FIELD_ZH.get(category) or category


def pick_bucket(start: float, end: float, most: int = 60) -> int:
    """A bucket width in seconds that cuts ``[start, end]`` into at most ``most`` pieces."""
    span = max(end - start, 1.0)
    for width in _BUCKETS:
        if span / width <= most:
            return width
    return _BUCKETS[-1]


@dataclass(slots=True)
class Series:
    """Counts per bucket start and category."""

    width: int
    buckets: list[float]
    categories: list[str]
    counts: dict[str, list[int]]


def per_category(inquiries: Sequence[Row], start: float | None, end: float | None) -> Series:
    """Inquiries per category over time."""
    if not inquiries:
        return Series(60, [], [], {})
    times = [float(r["source_ts"]) for r in inquiries]
    lo = start if start is not None else min(times)
    hi = end if end is not None else max(times)
    width = pick_bucket(lo, hi)
    first = lo - lo % width
    n = int((max(hi, lo) - first) // width) + 1
    totals = Counter(r["category"] for r in inquiries)
    categories = [c for c, _ in totals.most_common()]
    counts = {c: [0] * n for c in categories}
    for row, ts in zip(inquiries, times, strict=True):
        index = min(max(int((ts - first) // width), 0), n - 1)
        counts[row["category"]][index] += 1
    return Series(width, [first + i * width for i in range(n)], categories, counts)


@dataclass(slots=True)
class Question:
    """One FAQ question (or a category without a matching FAQ) and how often it was asked."""

    sku: str | None
    question: str | None
    category: str
    count: int
    reply: str | None
    example: str


def top_questions(
    inquiries: Sequence[Row],
    faq: Mapping[tuple[str | None, str], str] | None = None,
    limit: int = 20,
) -> list[Question]:
    """The most asked FAQ questions with their replies (the catalog's current reply when
    given), then the categories of questions no FAQ entry matched."""
    groups: dict[tuple[str | None, str | None, str], list[Row]] = defaultdict(list)
    for row in inquiries:
        question = row.get("faq_question")
        sku = row.get("sku") if question else None
        category = "" if question else row["category"]
        groups[(sku, question, category)].append(row)
    out = []
    for (sku, question, category), rows in groups.items():
        reply = None
        if question:
            reply = (faq or {}).get((sku, question)) or rows[-1].get("faq_reply")
        cats = Counter(r["category"] for r in rows)
        out.append(Question(sku, question, category or cats.most_common(1)[0][0], len(rows),
                            reply, rows[0]["text"]))  # fmt: skip
    out.sort(key=lambda q: (q.question is None, -q.count, q.question or q.category))
    return out[:limit]


def _quantile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


@dataclass(slots=True)
class AlertTiming:
    """One alert's response and acknowledgement times against its SLA."""

    row: Row
    sla: float
    ack_seconds: float | None
    resolve_seconds: float | None
    detect_seconds: float | None
    deliver_seconds: float | None
    within_sla: bool | None


def timings(
    alerts: Sequence[Row], ack_sla: Mapping[str, float], deliveries: Sequence[Row] = ()
) -> list[AlertTiming]:
    """Per alert: detection (first comment received → alert), delivery, ack, resolve."""
    first_delivery: dict[str, float] = {}
    for d in deliveries:
        at = float(d["delivered_at"])
        if d["alert_id"] not in first_delivery or at < first_delivery[d["alert_id"]]:
            first_delivery[d["alert_id"]] = at
    out = []
    for row in alerts:
        created = float(row["created_at"])
        sla = float(ack_sla.get(row["severity"], 300.0))
        acked = row.get("acked_at")
        ack = max(0.0, float(acked) - created) if acked is not None else None
        resolved = row.get("resolved_at") if row.get("resolved_by") else None
        res = max(0.0, float(resolved) - created) if resolved is not None else None
        received = row.get("received_ts")
        detect = max(0.0, created - float(received)) if received else None
        delivered = first_delivery.get(row["alert_id"])
        deliver = max(0.0, delivered - created) if delivered is not None else None
        within = None if ack is None else ack <= sla
        out.append(AlertTiming(row, sla, ack, res, detect, deliver, within))
    return out


@dataclass(slots=True)
class SlaLine:
    """Acknowledgement figures of one severity."""

    severity: str
    sla: float
    alerts: int
    acked: int
    within: int
    escalated: int
    p50: float | None
    p90: float | None
    detect_p50: float | None


def sla_summary(items: Sequence[AlertTiming], ack_sla: Mapping[str, float]) -> list[SlaLine]:
    """Per severity: how many alerts, how many acknowledged and within the SLA, quantiles."""
    out = []
    for severity in SEVERITY_ORDER:
        mine = [t for t in items if t.row["severity"] == severity]
        if not mine:
            continue
        acks = sorted(t.ack_seconds for t in mine if t.ack_seconds is not None)
        detects = sorted(t.detect_seconds for t in mine if t.detect_seconds is not None)
        out.append(SlaLine(
            severity, float(ack_sla.get(severity, 300.0)), len(mine), len(acks),
            sum(1 for t in mine if t.within_sla), sum(1 for t in mine
                                                      if (t.row.get("escalation_level") or 0) > 0),
            _quantile(acks, 0.5), _quantile(acks, 0.9), _quantile(detects, 0.5),
        ))  # fmt: skip
    return out


@dataclass(slots=True)
class Correction:
    """A misstatement with its time to correction and its alert's acknowledgement time."""

    row: Row
    seconds: float | None
    ack_seconds: float | None
    alert_id: str | None


def corrections(misstatements: Sequence[Row], alerts: Sequence[Row]) -> list[Correction]:
    """Each misstatement; time to correction from the receipt to the correction (heard on
    air or the staff's resolve), and the acknowledgement of the alert it belongs to."""
    by_group: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for a in alerts:
        if a["kind"] == "misstatement":
            by_group[(a["room"], a["group_key"])].append(a)
    out = []
    for m in misstatements:
        corrected = m.get("corrected_at")
        seconds = max(0.0, float(corrected) - float(m["received_ts"])) if corrected else None
        alert = None
        for a in by_group.get((m["room"], m["group_key"]), []):
            if a["first_seen"] - 1 <= m["source_ts"] <= a["last_seen"] + 1:
                alert = a
                break
        ack = None
        if alert is not None and alert.get("acked_at") is not None:
            ack = max(0.0, float(alert["acked_at"]) - float(alert["created_at"]))
        out.append(Correction(m, seconds, ack, alert["alert_id"] if alert else None))
    return out


@dataclass(slots=True)
class Workload:
    """One staff member's share of the alerts."""

    staff: str
    assigned: int = 0
    acked: int = 0
    resolved: int = 0
    escalated_to: int = 0
    ack_times: list[float] = field(default_factory=list)

    @property
    def ack_p50(self) -> float | None:
        """The median acknowledgement time."""
        return _quantile(sorted(self.ack_times), 0.5)


def workload(items: Sequence[AlertTiming], events: Sequence[Row]) -> list[Workload]:
    """Per staff member: alerts last assigned, acknowledged, resolved, escalated to them."""
    people: dict[str, Workload] = {}

    def person(name: str) -> Workload:
        return people.setdefault(name, Workload(name))

    for t in items:
        row = t.row
        if row.get("assignee"):
            person(row["assignee"]).assigned += 1
        if row.get("acked_by"):
            w = person(row["acked_by"])
            w.acked += 1
            if t.ack_seconds is not None:
                w.ack_times.append(t.ack_seconds)
        if row.get("resolved_by"):
            person(row["resolved_by"]).resolved += 1
    for e in events:
        if e["state"] == "escalated" and e.get("assignee"):
            person(e["assignee"]).escalated_to += 1
    return sorted(people.values(), key=lambda w: (-(w.acked + w.resolved + w.assigned), w.staff))


def fmt_seconds(value: float | None) -> str:
    """``42秒`` / ``3分05秒`` / ``1时02分``; ``—`` for none."""
    if value is None:
        return "—"
    s = round(value)
    if s < 60:
        return f"{s}秒"
    if s < 3600:
        return f"{s // 60}分{s % 60:02d}秒"
    return f"{s // 3600}时{s % 3600 // 60:02d}分"
