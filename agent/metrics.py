"""Every Prometheus metric of the agent, defined once against an injected registry.

Labels are closed enums or configured names only. ``room`` is capped: past ``room_cap``
distinct rooms, further rooms fold into ``room="other"`` (and are counted), so a relay that
invents room ids cannot blow up the series count. Leaf module: imports nothing from ``agent``.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    disable_created_metrics,
)

# `*_created` series double the series count for no dashboard use.
disable_created_metrics()  # type: ignore[no-untyped-call]

OTHER_ROOM = "other"

# Latencies here are sub-millisecond to a few seconds.
LATENCY_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
# Source time → finding: fine steps around the 50 ms target, so percentiles read true.
FINDING_LAG_BUCKETS = (
    0.001, 0.002, 0.003, 0.004, 0.005, 0.006, 0.008, 0.01, 0.012, 0.015, 0.02, 0.025, 0.03,
    0.04, 0.05, 0.06, 0.08, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
ACK_BUCKETS = (5.0, 15.0, 30.0, 60.0, 120.0, 180.0, 300.0, 600.0, 900.0, 1800.0, 3600.0)


class Metrics:
    """The agent's metrics; one instance per process (or per test, with a fresh registry)."""

    def __init__(self, registry: CollectorRegistry | None = None, room_cap: int = 200) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.room_cap = room_cap
        self._rooms: set[str] = set()
        r = self.registry
        self.messages_received = Counter(
            "danmaku_messages_received",
            "Comments and host utterances accepted from a source.",
            ["room", "source"],
            registry=r,
        )
        self.events_ignored = Counter(
            "danmaku_events_ignored",
            "Well-formed non-text events (gifts, likes, entries, other commands) counted and ignored.",
            ["source", "kind"],
            registry=r,
        )
        self.frames_rejected = Counter(
            "danmaku_frames_rejected",
            "Frames or events rejected as malformed, by source type and reason.",
            ["source", "reason"],
            registry=r,
        )
        self.messages_dropped = Counter(
            "danmaku_messages_dropped",
            "Messages dropped before detection (overload shedding, shutdown), by reason.",
            ["room", "reason"],
            registry=r,
        )
        self.connection_up = Gauge(
            "danmaku_connection_up",
            "1 while the source connection of a room is established.",
            ["room", "source"],
            registry=r,
        )
        self.reconnects = Counter(
            "danmaku_reconnects",
            "Reconnection attempts of a room's source.",
            ["room", "source"],
            registry=r,
        )
        self.last_message_timestamp = Gauge(
            "danmaku_last_message_timestamp_seconds",
            "Unix time of the last message received for a room.",
            ["room"],
            registry=r,
        )
        self.queue_depth = Gauge(
            "danmaku_queue_depth", "Items waiting in a pipeline queue.", ["stage"], registry=r
        )
        self.queue_capacity = Gauge(
            "danmaku_queue_capacity", "Capacity of a pipeline queue.", ["stage"], registry=r
        )
        self.findings = Counter(
            "danmaku_findings",
            "Findings (inquiries, misstatements, spikes, banned terms) by kind and category.",
            ["room", "kind", "category"],
            registry=r,
        )
        self.alerts = Counter(
            "danmaku_alerts",
            "Alerts opened, by kind and severity.",
            ["room", "kind", "severity"],
            registry=r,
        )
        self.alert_transitions = Counter(
            "danmaku_alert_transitions",
            "Alert state changes, by the state entered.",
            ["state"],
            registry=r,
        )
        self.alerts_open = Gauge(
            "danmaku_alerts_open",
            "Alerts not yet resolved, by room and team.",
            ["room", "team"],
            registry=r,
        )
        self.outbox_pending = Gauge(
            "danmaku_outbox_pending",
            "Alert deliveries stored and not yet delivered, by sink.",
            ["sink"],
            registry=r,
        )
        self.deliveries = Counter(
            "danmaku_deliveries",
            "Delivery attempts by sink and result (ok, retry, failed).",
            ["sink", "result"],
            registry=r,
        )
        self.pipeline_latency = Histogram(
            "danmaku_pipeline_latency_seconds",
            "Time an item spends in a pipeline stage (queue wait plus work).",
            ["stage"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.end_to_end_latency = Histogram(
            "danmaku_end_to_end_latency_seconds",
            "From the receipt of the triggering event to delivery by a sink.",
            ["sink"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.source_lag = Histogram(
            "danmaku_source_lag_seconds",
            "From an event's source timestamp to its detection (clock skew included).",
            ["source"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.finding_lag = Histogram(
            "danmaku_finding_lag_seconds",
            "From the source timestamp of an event to its finding leaving detection.",
            ["kind"],
            buckets=FINDING_LAG_BUCKETS,
            registry=r,
        )
        self.alert_ack = Histogram(
            "danmaku_alert_ack_seconds",
            "From an alert's first publication to its acknowledgement.",
            ["severity"],
            buckets=ACK_BUCKETS,
            registry=r,
        )
        self.rooms_folded = Counter(
            "danmaku_rooms_folded",
            'Messages of rooms past the room label cap, reported under room="other".',
            registry=r,
        )
        self.push_connections = Gauge(
            "danmaku_push_connections",
            "Relays connected to a push endpoint, by its configured listen address.",
            ["listen"],
            registry=r,
        )
        self.push_handshakes_rejected = Counter(
            "danmaku_push_handshakes_rejected",
            "Relay connections refused at the handshake (unauthorized, too_many_connections).",
            ["listen", "reason"],
            registry=r,
        )
        self.cluster_members = Gauge(
            "danmaku_cluster_members",
            "Live agent instances sharing the rooms (this one included).",
            registry=r,
        )
        self.cluster_rooms_owned = Gauge(
            "danmaku_cluster_rooms_owned",
            "Rooms this instance reads under the current assignment.",
            registry=r,
        )
        self.cluster_rebalances = Counter(
            "danmaku_cluster_rebalances",
            "Membership changes that re-assigned the rooms.",
            registry=r,
        )
        self.cluster_alerts_adopted = Counter(
            "danmaku_cluster_alerts_adopted",
            "Open alerts of rooms gained that this instance continued from the shared store.",
            registry=r,
        )
        self.cluster_alerts_released = Counter(
            "danmaku_cluster_alerts_released",
            "Alerts of rooms handed to another instance that this instance stopped holding.",
            registry=r,
        )
        self.cluster_alert_load_failures = Counter(
            "danmaku_cluster_alert_load_failures",
            "Failed loads of gained rooms' open alerts from the shared store.",
            registry=r,
        )
        self.records_written = Counter(
            "danmaku_records_written",
            "Rows committed to the records store, by table.",
            ["table"],
            registry=r,
        )
        self.records_dropped = Counter(
            "danmaku_records_dropped",
            "Records never written (buffer_full, rejected by the database, shutdown), by table.",
            ["table", "reason"],
            registry=r,
        )
        self.store_errors = Counter(
            "danmaku_store_errors",
            "Failed record writes, by reason (unreachable, locked, read_only, full, ...).",
            ["reason"],
            registry=r,
        )
        self.store_pending = Gauge(
            "danmaku_store_pending",
            "Records buffered in memory and not yet committed to the store.",
            registry=r,
        )
        self.store_up = Gauge(
            "danmaku_store_up",
            "1 while the last write to the records store succeeded.",
            registry=r,
        )
        self.model_info = Info("danmaku_model", "The intent model in use.", registry=r)
        self.build_info = Info("danmaku_build", "The agent build.", registry=r)

    def room(self, room: str) -> str:
        """The label value for ``room``: itself while under the cap, else ``other``."""
        if room in self._rooms:
            return room
        if len(self._rooms) < self.room_cap:
            self._rooms.add(room)
            return room
        self.rooms_folded.inc()
        return OTHER_ROOM

    def track_queue(self, stage: str, depth: Callable[[], float], capacity: int) -> None:
        """Export a queue's depth (read at scrape time) and its capacity."""
        self.queue_depth.labels(stage).set_function(depth)
        self.queue_capacity.labels(stage).set(capacity)
