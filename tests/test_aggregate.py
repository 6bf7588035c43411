"""Grouping of findings into alerts, rate-limited updates, quiet close, spikes and inhibition."""

from __future__ import annotations

from agent.aggregate import Aggregator, SpikeDetector
from agent.events import Finding

T0 = 1_763_800_000.0


def finding(
    category: str = "quality", *, room: str = "r1", ts: float = T0, group: str = "漏液怎么办"
) -> Finding:
    return Finding(
        room=room, kind="inquiry", category=category, severity="medium", text=f"{category} 弹幕",
        ts=ts, received=ts, group_key=group, user="u1",
    )  # fmt: skip


def test_first_finding_publishes_at_once_and_updates_are_rate_limited() -> None:
    """The first finding publishes version 1; later ones wait for the update interval."""
    agg = Aggregator(update_interval=2.0)
    first = agg(finding(), T0)
    assert [a.version for a in first] == [1]
    assert agg(finding(ts=T0 + 0.5), T0 + 0.5) == []
    [update] = agg(finding(ts=T0 + 2.5), T0 + 2.5)
    assert (update.alert_id, update.version, update.count) == (first[0].alert_id, 2, 3)


def test_examples_are_capped_and_groups_split_by_faq_entry() -> None:
    """At most five examples; another FAQ entry or room is another alert."""
    agg = Aggregator(update_interval=0.0)
    alerts = [a for i in range(8) for a in agg(finding(ts=T0 + i), T0 + i)]
    assert len(alerts[-1].examples) == 5
    other = agg(finding(group="发什么快递"), T0 + 9)
    assert other[0].alert_id != alerts[0].alert_id
    assert agg(finding(room="r2"), T0 + 9)[0].alert_id not in {a.alert_id for a in alerts}


def test_tick_flushes_pending_and_closes_quiet_alerts() -> None:
    """A pending update goes out on tick; a quiet alert closes as resolved."""
    agg = Aggregator(update_interval=5.0, quiet_seconds=60.0)
    agg(finding(), T0)
    agg(finding(ts=T0 + 1), T0 + 1)
    [pending] = agg.tick(T0 + 6)
    assert pending.count == 2
    [closed] = agg.tick(T0 + 62)
    assert closed.state == "resolved"
    assert agg.open == {}


def test_close_starts_a_new_alert() -> None:
    """After staff resolve an alert, the next finding opens a new one."""
    agg = Aggregator()
    [a] = agg(finding(), T0)
    assert agg.close(a.alert_id)
    assert not agg.close(a.alert_id)
    [b] = agg(finding(ts=T0 + 1), T0 + 1)
    assert b.alert_id != a.alert_id
    assert b.version == 1


def test_spike_detector_needs_rate_far_above_baseline() -> None:
    """A steady trickle is no spike; a burst over the same baseline is."""
    spikes = SpikeDetector(window=60, baseline=600, factor=4, min_count=8)
    for i in range(20):  # one a minute: the baseline
        spike, _ = spikes.observe("r1", "quality", T0 + i * 60)
        assert not spike
    now = T0 + 20 * 60
    results = [spikes.observe("r1", "quality", now + i)[0] for i in range(10)]
    assert results[-1]
    assert not results[0]
    assert not spikes.observe("r1", "logistics", now + 11)[0]


def test_spike_alert_inhibits_member_inquiries_and_closes_when_quiet() -> None:
    """A burst opens one high spike alert that inhibits the category's inquiry alerts."""
    agg = Aggregator(update_interval=0.0, spikes=SpikeDetector(min_count=5),
                     spike_quiet_seconds=30.0, quiet_seconds=300.0)  # fmt: skip
    out = [a for i in range(6) for a in agg(finding(ts=T0 + i), T0 + i)]
    spikes = [a for a in out if a.kind == "spike"]
    assert spikes
    assert spikes[0].severity == "high"
    assert spikes[0].version == 1
    assert spikes[0].count >= 5
    inquiry = next(a for a in out if a.kind == "inquiry")
    assert agg.inhibited(inquiry)
    assert not agg.inhibited(next(iter(agg(finding("logistics"), T0 + 7))))
    closed = agg.tick(T0 + 40)
    assert [a.kind for a in closed if a.state == "resolved"] == ["spike"]
    assert not agg.inhibited(inquiry)


def test_adopted_alert_keeps_grouping_after_restart() -> None:
    """A restored alert's group is re-opened: the next finding updates it, quiet closes it."""
    before = Aggregator(update_interval=0.0, quiet_seconds=60.0)
    [alert] = before(finding(), T0)
    after = Aggregator(update_interval=0.0, quiet_seconds=60.0)
    after.adopt(alert, T0 + 100)
    [update] = after(finding(ts=T0 + 101), T0 + 101)
    assert update.alert_id == alert.alert_id
    assert update.count == 2
    [closed] = after.tick(T0 + 200)
    assert closed.state == "resolved"
