"""Sinks: where alerts are delivered, selected by the config's ``type``."""

from __future__ import annotations

from typing import Any

from agent.importer import load_plugin
from agent.sinks.base import Sink

SINK_TYPES: dict[str, str] = {
    "console": "agent.sinks.console:ConsoleSink",
    "jsonl": "agent.sinks.jsonl:JsonlSink",
    "mqtt": "agent.sinks.mqtt:MqttSink",
    "wecom": "agent.sinks.wecom:WecomSink",
    "dingtalk": "agent.sinks.dingtalk:DingtalkSink",
    "feishu": "agent.sinks.feishu:FeishuSink",
}


def build_sink(config: Any, **context: Any) -> Sink:
    """Instantiate the sink class registered for ``config.type``."""
    cls = load_plugin("sink", config.type, SINK_TYPES)
    sink: Sink = cls(config, **context)
    return sink


__all__ = ["SINK_TYPES", "Sink", "build_sink"]
