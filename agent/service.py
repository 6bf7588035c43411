"""Wire every stage from a config and run it with signal handling. The only module that
knows all the others.

SIGINT/SIGTERM: graceful, drained stop; a second SIGINT forces the exit. SIGHUP: reload
the config's sources (rooms added or removed without disturbing the others).
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator
from contextlib import AsyncExitStack, contextmanager
from pathlib import Path
from typing import Any

from prometheus_client import start_http_server

from agent import __version__
from agent.alerting import Alerting, build_alerting
from agent.alerting import running as running_alerting
from agent.cluster import Cluster
from agent.config import AgentConfig, load_config
from agent.detect import Detector
from agent.errors import ConfigError
from agent.ingress import QueueIngress
from agent.logs import get_logger
from agent.metrics import Metrics
from agent.normalise import Redactor
from agent.pipeline import Pipeline
from agent.sources import build_source

_log = get_logger("agent.service")


class ListenError(ConfigError):
    """An address of the config cannot be listened on (in use, not local, no permission)."""

    def __init__(self, key: str, listen: str, exc: OSError) -> None:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        super().__init__(key, "", f"cannot listen on {listen}: {reason.lower()}")


def serve_metrics(metrics: Metrics, listen: str) -> int:
    """Start the Prometheus endpoint in a thread; returns the bound port (0 picks one)."""
    host, _, port = listen.rpartition(":")
    try:
        server, _thread = start_http_server(int(port), addr=host, registry=metrics.registry)
    except OSError as exc:
        raise ListenError("metrics.listen", listen, exc) from None
    bound: int = server.server_port
    _log.info("metrics listening", url=f"http://{host}:{bound}/metrics")
    return bound


async def start_desk(config: AgentConfig, metrics: Metrics, book: Any, lineup: Any) -> Any:
    """Serve the control desk; returns its aiohttp runner (``await runner.cleanup()``)."""
    import secrets  # noqa: PLC0415

    from agent.web import create_app, serve  # noqa: PLC0415 - only when web: is configured

    web = config.web
    if web is None:
        raise ValueError("web: not configured")
    catalog = None
    if config.catalog is not None:
        from classifiers.catalog import load_catalog  # noqa: PLC0415

        catalog = load_catalog(config.catalog)
    env = web.token_env
    token = os.environ.get(env, "") if env else ""
    if not token:
        # No token configured: a fresh random one, shown once in the log with the desk URL.
        token = secrets.token_urlsafe(24)
    app = create_app(
        book=book, metrics=metrics, lineup=lineup, catalog=catalog, token=token, status=None
    )
    try:
        runner, port = await serve(app, web.listen)
    except OSError as exc:
        raise ListenError("web.listen", web.listen, exc) from None
    host = web.listen.rpartition(":")[0]
    _log.info("control desk listening", url=f"http://{host}:{port}/?token={token}")
    return runner


def build_detector(config: AgentConfig) -> tuple[Detector, dict[str, Any]]:
    """The detector with its models; the second value describes them for logs and metrics."""
    from classifiers.intent import IntentClassifier  # noqa: PLC0415 - heavy import, once

    intent = IntentClassifier.load(config.classifier.model)
    faq = speech = lineup = None
    info: dict[str, Any] = {"model": intent.version}
    if config.catalog is not None:
        from classifiers.catalog import load_catalog  # noqa: PLC0415
        from classifiers.faq import FaqIndex  # noqa: PLC0415
        from classifiers.misstatement import SpeechChecker  # noqa: PLC0415

        catalog = load_catalog(config.catalog)
        faq = FaqIndex(catalog)
        speech = SpeechChecker(catalog)
        info["products"] = len(catalog)
        from agent.lineup import Lineup  # noqa: PLC0415

        lineup = (
            Lineup.load(config.lineup, catalog=catalog)
            if config.lineup
            else Lineup(catalog=catalog)
        )
    detector = Detector(
        intent, faq=faq, speech=speech, lineup=lineup, thresholds=config.classifier.thresholds
    )
    return detector, info


def build_redactor(config: AgentConfig) -> Redactor:
    """PII masking and keyed user hashing, configured from the environment."""
    from agent.privacy import UserHasher, mask_pii  # noqa: PLC0415

    hasher = UserHasher.from_env(config.privacy.hash_key_env, key_file=config.privacy.key_file)
    return Redactor(mask_pii, hasher)


@contextmanager
def signal_handlers(stop: asyncio.Event, on_reload: Any = None) -> Iterator[None]:
    """SIGINT/SIGTERM set ``stop`` (a second SIGINT exits at once); SIGHUP reloads."""
    loop = asyncio.get_running_loop()
    hits = {"int": 0}

    def on_stop(sig: signal.Signals) -> None:
        if sig == signal.SIGINT:
            hits["int"] += 1
            if hits["int"] > 1:
                _log.warning("second interrupt; exiting now")
                raise SystemExit(130)
        _log.info("signal received; draining", signal=sig.name)
        stop.set()

    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_stop, sig)
        installed.append(sig)
    if on_reload is not None:
        loop.add_signal_handler(signal.SIGHUP, on_reload)
        installed.append(signal.SIGHUP)
    try:
        yield
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


class Service:
    """The agent process: config in, running pipeline, clean exit."""

    def __init__(self, config: AgentConfig, config_path: Path | None = None) -> None:
        self.config = config
        self.config_path = config_path
        self.metrics = Metrics(room_cap=config.room_cap)
        self.stop = asyncio.Event()
        self.pipeline: Pipeline | None = None
        self.metrics_port: int | None = None
        self.alerting: Alerting | None = None
        self.cluster: Cluster | None = None

    def reload(self) -> None:
        """Re-read the config file and add/remove sources to match (SIGHUP)."""
        if self.config_path is None or self.pipeline is None:
            return
        try:
            fresh = load_config(self.config_path)
        except Exception as exc:  # a broken edit must not stop a running broadcast
            _log.error("reload failed; keeping the running config", error=str(exc))
            return
        running = {s: s for s in self.pipeline.source_names}
        fresh_sources = [build_source(cfg, self.metrics) for cfg in fresh.sources]
        if self.cluster is not None:
            # Room sources follow the cluster's assignment; only the unsharded ones are ours.
            fresh_sources = self.cluster.set_sources(fresh_sources)
            running = {s: s for s in running if not self.cluster.manages(s)}
        wanted = {source.name: source for source in fresh_sources}
        for name in running:
            if name not in wanted:
                self.pipeline.remove_source(name)
        changed = []
        for name, source in wanted.items():
            if name not in running:
                self.pipeline.add_source(source)
                continue
            current = self.pipeline.running_source(name)
            if getattr(current, "config", None) != getattr(source, "config", None):
                # Same room, new url or options: reconnect it alone.
                self.pipeline.replace_source(source)
                changed.append(name)
        if self.alerting is not None:
            # Routing, rosters, SLAs and mute windows change; open alerts and timers stay.
            self.alerting.book.reconfigure(fresh.routing, fresh.escalation)
        _log.info(
            "reloaded",
            added=sorted(set(wanted) - set(running)),
            removed=sorted(set(running) - set(wanted)),
            restarted=sorted(changed),
        )

    async def run(self) -> int:
        """Run until stopped or until every (finite) source is done; returns the exit code."""
        config = self.config
        started = time.monotonic()
        self.metrics.build_info.info({"version": __version__})
        detector, info = build_detector(config)
        self.metrics.model_info.info({"version": str(info["model"])})
        if config.metrics is not None:
            self.metrics_port = serve_metrics(self.metrics, config.metrics.listen)
        ingress = QueueIngress(self.metrics, config.pipeline.queue_size)
        sources = [build_source(cfg, self.metrics) for cfg in config.sources]
        if config.cluster.enabled:
            # Room sources start as the cluster assigns them; the rest run here regardless.
            self.cluster = Cluster(config.cluster, config.instance, sources, self.metrics)
            sources = self.cluster.unsharded
        async with AsyncExitStack() as stack:
            lineup = getattr(detector.lineup, "set", None)
            records = None
            if config.store is not None:
                from agent.store import RecordStore  # noqa: PLC0415 - only when store: is set

                # Entered first, so it is closed last: after the outbox drained and the
                # alert book published its final versions.
                store = RecordStore.from_config(config.store, self.metrics)
                records = await stack.enter_async_context(store)
            alerting = await build_alerting(
                config, self.metrics, stack, lineup=lineup, records=records, cluster=self.cluster
            )
            stack.callback(alerting.close)
            self.alerting = alerting
            if config.web is not None:
                desk = await start_desk(config, self.metrics, alerting.book, detector.lineup)
                stack.push_async_callback(desk.cleanup)
            sinks, outbox, aggregator = alerting.sinks, alerting.outbox, alerting.aggregator
            self.pipeline = Pipeline(
                sources=sources,
                ingress=ingress,
                redact=build_redactor(config),
                detector=detector,
                aggregator=aggregator,
                outbox=outbox,
                metrics=self.metrics,
                batch_size=config.classifier.batch_size,
                queue_size=config.pipeline.queue_size,
                shutdown_timeout=config.pipeline.shutdown_timeout,
                exit_when_sources_end=config.pipeline.exit_when_sources_end,
                route=alerting.book,
                records=records,
            )
            if self.cluster is not None:
                self.cluster.bind(self.pipeline)
                self.pipeline.add_source(self.cluster)
            _log.info(
                "agent started",
                instance=config.instance,
                sources=len(sources),
                sinks=[s.name for s in sinks],
                version=__version__,
                **info,
            )
            with signal_handlers(self.stop, self.reload):
                async with running_alerting(alerting):
                    await self.pipeline.run(self.stop)
        _log.info("agent stopped", seconds=round(time.monotonic() - started, 1))
        return 0
