"""``python -m agent`` runs the ``danmaku-agent`` command."""

from agent.cli import entry

entry()
