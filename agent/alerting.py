"""Build the alert side of the agent from a config: aggregation with spikes, the alert book
(routing, rosters, escalation, silences), the durable outbox and its sinks, and the MQTT
command readers; ``Alerting.run`` keeps their timers and subscriptions going.

``service.py`` calls ``build_alerting`` and hands ``aggregator``, ``outbox`` and ``book`` (the
pipeline's ``route`` hook) to the pipeline; the web API uses ``book`` and ``ack_handler``.

In a cluster whose instances share a PostgreSQL store, the book mirrors its entries there
and follows the cluster's assignment (``agent.handover``): open alerts and their timers
move with their room, and only the room's owner escalates them and answers commands.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Protocol

from agent.aggregate import Aggregator, SpikeDetector
from agent.alertbook import AlertBook, RecordSink
from agent.cluster import RoomListener
from agent.config import AgentConfig, MqttSinkConfig, secret_from_env
from agent.control import AckLinker, CommandSubscriber, ack_link_handler
from agent.control.acklink import Handler
from agent.control.commands import Answers, Command, LineupSetter
from agent.handover import Assignment, Handover, SharedStore
from agent.logs import get_logger
from agent.metrics import Metrics
from agent.outbox import Outbox, OutboxStore
from agent.routing import BookStore
from agent.sinks import Sink, build_sink
from agent.sinks.mqtt import MqttSink

_log = get_logger("agent.alerting")


@dataclass
class Alerting:
    """The alert-side components of one running agent."""

    aggregator: Aggregator
    book: AlertBook
    outbox: Outbox
    sinks: list[Sink]
    commands: list[CommandSubscriber] = field(default_factory=list)
    ack_handler: Handler | None = None
    book_store: BookStore | None = None
    handover: Handover | None = None

    async def run(self) -> None:
        """Escalation timers, command readers and room hand-overs, until cancelled."""
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self.book.run(), name="alertbook.timers")
            for i, reader in enumerate(self.commands):
                tg.create_task(reader.run(), name=f"commands[{i}]")
            if self.handover is not None:
                tg.create_task(self.handover.run(), name="alerting.handover")

    def close(self) -> None:
        """Close the stores (after the pipeline and ``run`` stopped)."""
        self.outbox.close()
        if self.book_store is not None:
            self.book_store.close()


def build_aggregator(config: AgentConfig) -> Aggregator:
    """Findings → alerts, with spike detection."""
    agg = config.aggregate
    spikes = SpikeDetector(window=agg.spike_window, baseline=agg.spike_baseline,
                           factor=agg.spike_factor, min_count=agg.spike_min_count)  # fmt: skip
    return Aggregator(
        quiet_seconds=agg.quiet_seconds,
        update_interval=agg.update_interval,
        max_examples=agg.max_examples,
        alert_product_info=config.classifier.alert_product_info,
        spikes=spikes,
        spike_quiet_seconds=agg.spike_quiet_seconds,
    )


def _ack_secret(config: AgentConfig) -> bytes | None:
    secret = secret_from_env(config.control.ack_secret_env, where="control.ack_secret_env",
                             required=config.control.ack_base_url is not None)  # fmt: skip
    return secret.encode() if secret else None


class ClusterView(Assignment, Protocol):
    """What the alert side needs of ``agent.cluster.Cluster``."""

    def leads(self) -> bool:
        """Whether this instance answers commands nobody else would."""

    def listen(self, listener: RoomListener) -> None:
        """Be told of rooms gained before they are read."""


def shared_store(
    config: AgentConfig, records: RecordSink | None, cluster: ClusterView | None
) -> SharedStore | None:
    """The store open alerts move through between instances, when there is one."""
    if cluster is None or not config.cluster.shared_alerts:
        return None
    if isinstance(records, SharedStore) and records.shared:
        return records
    _log.warning("cluster without a shared PostgreSQL store: open alerts stay on the "
                 "instance that opened them when their room moves")  # fmt: skip
    return None


def command_answers(book: AlertBook, cluster: ClusterView) -> Answers:
    """Exactly one instance of a cluster takes each command: the one holding its alert."""

    def answers(command: Command | None) -> bool:
        if command is None:
            return cluster.leads()  # malformed: answered once, by the leader
        if command.name == "lineup":
            return cluster.owns(command.room) if cluster.shares(command.room) else cluster.leads()
        return book.holds(command.alert_id)

    return answers


def build_handover(
    config: AgentConfig,
    *,
    book: AlertBook,
    aggregator: Aggregator,
    shared: SharedStore,
    cluster: ClusterView,
    metrics: Metrics,
    sinks: list[Sink],
) -> Handover:
    """Open alerts follow their room: the cluster tells the hand-over of rooms gained."""
    c = config.cluster
    handover = Handover(book=book, aggregator=aggregator, store=shared, cluster=cluster,
                        metrics=metrics,
                        # An old owner reads on for at most this long after the move.
                        catch_up=c.member_timeout_seconds + c.handover_seconds + 3.0,
                        statuses=[s.status for s in sinks if isinstance(s, MqttSink)])  # fmt: skip
    cluster.listen(handover)
    return handover


async def build_alerting(
    config: AgentConfig,
    metrics: Metrics,
    stack: AsyncExitStack,
    *,
    lineup: LineupSetter | None = None,
    records: RecordSink | None = None,
    cluster: ClusterView | None = None,
) -> Alerting:
    """Construct and open everything; sinks are closed by ``stack``.

    ``records`` (the records store) receives the versions the book itself publishes (acks,
    escalations, resolutions); the pipeline records the aggregator's. With a ``cluster``
    and a shared (PostgreSQL) ``records`` store, open alerts follow their room.
    """
    aggregator = build_aggregator(config)
    book_store = BookStore(config.outbox.path)
    shared = shared_store(config, records, cluster)
    book = AlertBook(metrics=metrics, routing=config.routing, escalation=config.escalation,
                     store=book_store, inhibited=aggregator.inhibited,
                     on_close=aggregator.close, records=records,
                     ownership=cluster if shared is not None else None,
                     mirror=shared.mirror_entry if shared is not None else None,
                     instance=config.instance)  # fmt: skip
    now = time.time()
    for alert in book.list(states={"open", "acked", "escalated"}):
        aggregator.adopt(alert, now)  # findings after a restart fold into restored alerts
    secret = _ack_secret(config)
    linker = None
    if secret is not None and config.control.ack_base_url is not None:
        linker = AckLinker(config.control.ack_base_url, secret, config.control.ack_link_ttl)
    context = {"instance": config.instance, "staff": config.routing.staff, "ack_link": linker}
    sinks = [await stack.enter_async_context(build_sink(cfg, **context)) for cfg in config.sinks]
    outbox = Outbox(sinks, metrics, store=OutboxStore(config.outbox.path), gate=book.should_notify,
                    retry_initial=config.outbox.retry_initial,
                    retry_max=config.outbox.retry_max,
                    on_delivered=getattr(records, "delivered", None))  # fmt: skip
    book.publish = outbox.submit
    for sink in sinks:
        if isinstance(sink, MqttSink):
            # Retained room status must count alerts still open from before a restart.
            sink.status.seed(book.list())
    handover = answers = None
    if shared is not None and cluster is not None:
        handover = build_handover(config, book=book, aggregator=aggregator, shared=shared,
                                  cluster=cluster, metrics=metrics, sinks=sinks)  # fmt: skip
        answers = command_answers(book, cluster)
    commands = [
        CommandSubscriber(cfg, book, instance=config.instance, lineup=lineup, answers=answers)
        for cfg in config.sinks
        if isinstance(cfg, MqttSinkConfig) and cfg.commands
    ]
    handler = ack_link_handler(book, secret) if secret is not None else None
    _log.info("alerting ready", sinks=[s.name for s in sinks], open_alerts=len(book.list()),
              undelivered=outbox.pending(), command_readers=len(commands),
              shared_alerts=handover is not None)  # fmt: skip
    return Alerting(aggregator, book, outbox, sinks, commands, handler, book_store, handover)


@contextlib.asynccontextmanager
async def running(alerting: Alerting) -> AsyncIterator[None]:
    """Run the timers and command readers in the background for the block's duration."""
    task = asyncio.create_task(alerting.run(), name="alerting")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
