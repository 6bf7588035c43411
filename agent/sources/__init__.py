"""Sources: the streams a room is read from, selected by the config's ``type``."""

from __future__ import annotations

from typing import Any

from agent.importer import load_plugin
from agent.metrics import Metrics
from agent.sources.base import Ingress, Source

SOURCE_TYPES: dict[str, str] = {
    "replay": "agent.sources.replay:ReplaySource",
    "json_ws": "agent.sources.json_ws:JsonWsSource",
    "bilibili": "agent.sources.bilibili:BilibiliSource",
    "push": "agent.sources.push:PushSource",
}


def build_source(config: Any, metrics: Metrics) -> Source:
    """Instantiate the source class registered for ``config.type``."""
    cls = load_plugin("source", config.type, SOURCE_TYPES)
    source: Source = cls(config, metrics)
    return source


__all__ = ["SOURCE_TYPES", "Ingress", "Source", "build_source"]
