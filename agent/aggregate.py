"""Findings → open alerts.

Findings of one room, kind, category and group key (FAQ entry or misstatement field) fold
into one open alert. The first finding publishes at once; later ones update count and
examples, published at most every ``update_interval`` seconds per alert (the pending
update goes out on the next tick). An alert with no finding for ``quiet_seconds`` closes
(published as ``resolved``). Volume raises severity: a question asked by many viewers is
more urgent than one asked once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from classifiers.labels import FIELD_ZH, LABEL_ZH

from agent.events import SEVERITIES, Alert, Finding, Severity

GroupKey = tuple[str, str, str, str]

# Count thresholds at which an alert climbs one severity level.
_ESCALATE_AT = (5, 20)
_KIND_TITLE = {"inquiry": "咨询", "misstatement": "主播口播与FAQ不符", "spike": "激增",
               "compliance": "广告法违规用语"}  # fmt: skip


def alert_id_for(key: GroupKey, first_seen: float) -> str:
    """A stable idempotency key: the same episode always gets the same id."""
    digest = hashlib.sha256(f"{'|'.join(key)}|{first_seen:.3f}".encode()).hexdigest()[:16]
    return f"{key[1][:3]}-{digest}"


def raised(severity: Severity, count: int) -> Severity:
    """``severity`` raised one level per volume threshold passed (capped at critical)."""
    steps = sum(count >= n for n in _ESCALATE_AT)
    return SEVERITIES[min(len(SEVERITIES) - 1, SEVERITIES.index(severity) + steps)]


def title_for(finding: Finding) -> str:
    """A short Chinese title for the desk and chat robots."""
    name = LABEL_ZH.get(finding.category) or FIELD_ZH.get(finding.category) or finding.category
    if finding.kind == "inquiry":
        return f"{name}咨询" if finding.category != "complaint" else "投诉维权"
    return f"{_KIND_TITLE[finding.kind]}·{name}"


@dataclass(slots=True)
class _Open:
    alert: Alert
    base_severity: Severity
    published_at: float
    dirty: bool = False
    users: set[str] = field(default_factory=set)


class Aggregator:
    """Callable: ``(finding, now) → alerts to publish``; ``tick(now)`` flushes and closes."""

    def __init__(
        self,
        *,
        quiet_seconds: float = 300.0,
        update_interval: float = 2.0,
        max_examples: int = 5,
        alert_product_info: bool = False,
    ) -> None:
        self.quiet_seconds = quiet_seconds
        self.update_interval = update_interval
        self.max_examples = max_examples
        self.alert_product_info = alert_product_info
        self.open: dict[GroupKey, _Open] = {}

    def wants(self, finding: Finding) -> bool:
        """Whether a finding becomes an alert (pre-sale questions are recorded only)."""
        return finding.kind != "inquiry" or finding.after_sales or self.alert_product_info

    def __call__(self, finding: Finding, now: float) -> list[Alert]:
        if not self.wants(finding):
            return []
        key: GroupKey = (finding.room, finding.kind, finding.category, finding.group_key)
        entry = self.open.get(key)
        if entry is None:
            alert = Alert(
                alert_id=alert_id_for(key, finding.ts),
                room=finding.room,
                kind=finding.kind,
                category=finding.category,
                severity=finding.severity,
                first_seen=finding.ts,
                last_seen=finding.ts,
                source_ts=finding.ts,
                examples=[finding.text],
                sku=finding.sku,
                suggested_reply=finding.suggested_reply,
                correction=finding.correction,
                title=title_for(finding),
                faq_question=(finding.group_key or None) if finding.kind == "inquiry" else None,
                updated_at=now,
                received=finding.received,
            )
            self.open[key] = _Open(alert, finding.severity, published_at=now)
            if finding.user:
                self.open[key].users.add(finding.user)
            return [_snapshot(alert)]
        alert = entry.alert
        alert.count += 1
        alert.last_seen = max(alert.last_seen, finding.ts)
        alert.examples = [*alert.examples, finding.text][-self.max_examples :]
        alert.severity = raised(entry.base_severity, alert.count)
        alert.updated_at = now
        if finding.user:
            entry.users.add(finding.user)
        entry.dirty = True
        if now - entry.published_at >= self.update_interval:
            return [self._publish(entry, now)]
        return []

    def _publish(self, entry: _Open, now: float) -> Alert:
        entry.alert.version += 1
        entry.dirty = False
        entry.published_at = now
        return _snapshot(entry.alert)

    def tick(self, now: float) -> list[Alert]:
        """Publish due updates and close quiet alerts."""
        out = []
        for key, entry in list(self.open.items()):
            if entry.dirty and now - entry.published_at >= self.update_interval:
                out.append(self._publish(entry, now))
            if now - entry.alert.updated_at >= self.quiet_seconds:
                entry.alert.state = "resolved"
                entry.alert.updated_at = now
                out.append(self._publish(entry, now))
                del self.open[key]
        return out

    def flush(self, now: float) -> list[Alert]:
        """Publish every pending update now (shutdown: nothing counted may go unsent)."""
        return [self._publish(e, now) for e in self.open.values() if e.dirty]


def _snapshot(alert: Alert) -> Alert:
    # Sinks get a copy: the open alert keeps mutating while deliveries are in flight.
    return Alert.from_dict(alert.to_dict())
