"""Findings → open alerts.

Findings of one room, kind, category and group key (FAQ entry or misstatement field) fold
into one open alert. The first finding publishes at once; later ones update count and
examples, published at most every ``update_interval`` seconds per alert (the pending
update goes out on the next tick). An alert with no finding for ``quiet_seconds`` closes
(published as ``resolved``), or when staff resolve it (``close``). Volume raises severity:
a question asked by many viewers is more urgent than one asked once.

Spikes: an after-sales category whose rate in a room over the last ``spike_window`` seconds is
``spike_factor`` times its rate over the preceding baseline (a burst of 漏液 complaints after
a batch ships) opens a ``spike`` alert of high severity. While it is open it *inhibits* the
room's inquiry alerts of that category (``inhibited``): they are kept, counted and shown,
but not notified — one page for the burst instead of one per question.
"""

from __future__ import annotations

import hashlib
from collections import deque
from dataclasses import dataclass, field

from agent.events import SEVERITIES, Alert, Finding, Severity
from classifiers.labels import FIELD_ZH, LABEL_ZH

GroupKey = tuple[str, str, str, str]

# Count thresholds at which an alert climbs one severity level.
_ESCALATE_AT = (5, 20)
_SPIKE_TITLE = "激增·{}"
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


class SpikeDetector:
    """Per (room, category) counts in fixed buckets; ``observe`` says whether it is a spike now."""

    def __init__(
        self,
        *,
        window: float = 60.0,
        baseline: float = 600.0,
        factor: float = 4.0,
        min_count: int = 8,
        floor_per_minute: float = 1.0,
    ) -> None:
        self.window = window
        self.baseline = baseline
        self.factor = factor
        self.min_count = min_count
        # A category never seen before has no baseline; assume a trickle, not silence.
        self.floor_rate = floor_per_minute / 60.0
        self.bucket = window / 6
        self._span = int((window + baseline) / self.bucket) + 1
        self._counts: dict[tuple[str, str], deque[list[int]]] = {}
        self._first: dict[tuple[str, str], int] = {}

    def observe(self, room: str, category: str, now: float) -> tuple[bool, int]:
        """Count one finding at ``now``; returns (is a spike, findings in the window)."""
        key = (room, category)
        index = int(now // self.bucket)
        buckets = self._counts.setdefault(key, deque())
        self._first.setdefault(key, index)
        if buckets and buckets[-1][0] == index:
            buckets[-1][1] += 1
        else:
            buckets.append([index, 1])
        while buckets[0][0] <= index - self._span:
            buckets.popleft()
        short_from = index - int(self.window / self.bucket) + 1
        recent = sum(n for i, n in buckets if i >= short_from)
        older = sum(n for i, n in buckets if i < short_from)
        history = (short_from - max(self._first[key], index - self._span + 1)) * self.bucket
        rate = older / history if history > 0 else 0.0
        spike = recent >= self.min_count and recent / self.window >= self.factor * max(
            rate, self.floor_rate
        )
        return spike, recent


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
    quiet: float
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
        spikes: SpikeDetector | None = None,
        spike_quiet_seconds: float = 120.0,
    ) -> None:
        self.quiet_seconds = quiet_seconds
        self.update_interval = update_interval
        self.max_examples = max_examples
        self.alert_product_info = alert_product_info
        self.spikes = spikes
        self.spike_quiet_seconds = spike_quiet_seconds
        self.open: dict[GroupKey, _Open] = {}
        self._keys: dict[str, GroupKey] = {}

    def wants(self, finding: Finding) -> bool:
        """Whether a finding becomes an alert (pre-sale questions are recorded only)."""
        return finding.kind != "inquiry" or finding.after_sales or self.alert_product_info

    def __call__(self, finding: Finding, now: float) -> list[Alert]:
        if not self.wants(finding):
            return []
        key: GroupKey = (finding.room, finding.kind, finding.category, finding.group_key)
        out = self._fold(key, finding, now, finding.severity, self.quiet_seconds)
        if self.spikes is not None and finding.kind == "inquiry" and finding.after_sales:
            spike, recent = self.spikes.observe(finding.room, finding.category, now)
            spike_key: GroupKey = (finding.room, "spike", finding.category, "")
            if spike or spike_key in self.open:
                out += self._spike(spike_key, finding, now, spike=spike, recent=recent)
        return out

    def _fold(
        self, key: GroupKey, finding: Finding, now: float, severity: Severity, quiet: float
    ) -> list[Alert]:
        entry = self.open.get(key)
        if entry is None:
            alert = Alert(
                alert_id=alert_id_for(key, finding.ts),
                room=finding.room,
                kind=key[1],  # type: ignore[arg-type]  # a FindingKind by construction
                category=finding.category,
                severity=severity,
                first_seen=finding.ts,
                last_seen=finding.ts,
                source_ts=finding.ts,
                examples=[finding.text],
                sku=finding.sku,
                suggested_reply=finding.suggested_reply if key[1] != "spike" else None,
                correction=finding.correction,
                title=_SPIKE_TITLE.format(title_for(finding)) if key[1] == "spike"
                else title_for(finding),
                faq_question=(finding.group_key or None) if key[1] == "inquiry" else None,
                group_key=key[3],
                updated_at=now,
                received=finding.received,
            )  # fmt: skip
            entry = _Open(alert, severity, published_at=now, quiet=quiet)
            self.open[key] = entry
            self._keys[alert.alert_id] = key
            if finding.user:
                entry.users.add(finding.user)
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

    def _spike(
        self, key: GroupKey, finding: Finding, now: float, *, spike: bool, recent: int
    ) -> list[Alert]:
        entry = self.open.get(key)
        if entry is not None and not spike:
            # The burst is over: stop refreshing so the spike closes after its quiet period,
            # but keep counting members it covered.
            entry.alert.count += 1
            return []
        out = self._fold(key, finding, now, "high", self.spike_quiet_seconds)
        if entry is None:
            # The first publication already carries the burst seen so far.
            opened = self.open[key].alert
            opened.count = recent
            out[-1].count = recent
        return out

    def adopt(self, alert: Alert, now: float) -> None:
        """Re-open the group of an alert restored after a restart, so findings fold into it
        and its quiet period runs from ``now``."""
        key: GroupKey = (alert.room, alert.kind, alert.category, alert.group_key)
        if key in self.open or alert.state == "resolved":
            return
        own = _snapshot(alert)
        own.updated_at = now
        quiet = self.spike_quiet_seconds if alert.kind == "spike" else self.quiet_seconds
        self.open[key] = _Open(own, alert.severity, published_at=now, quiet=quiet)
        self._keys[alert.alert_id] = key

    def inhibited(self, alert: Alert) -> bool:
        """Whether an open spike of the same room and category covers this inquiry alert."""
        if alert.kind != "inquiry":
            return False
        return (alert.room, "spike", alert.category, "") in self.open

    def close(self, alert_id: str) -> bool:
        """Forget an open alert (staff resolved it): the next finding opens a new one."""
        key = self._keys.pop(alert_id, None)
        if key is None:
            return False
        self.open.pop(key, None)
        return True

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
            if now - entry.alert.updated_at >= entry.quiet:
                entry.alert.state = "resolved"
                entry.alert.updated_at = now
                out.append(self._publish(entry, now))
                del self.open[key]
                self._keys.pop(entry.alert.alert_id, None)
        return out

    def flush(self, now: float) -> list[Alert]:
        """Publish every pending update now (shutdown: nothing counted may go unsent)."""
        return [self._publish(e, now) for e in self.open.values() if e.dirty]


def _snapshot(alert: Alert) -> Alert:
    # Sinks get a copy: the open alert keeps mutating while deliveries are in flight.
    return Alert.from_dict(alert.to_dict())
