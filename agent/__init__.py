"""danmaku-agent: watch live-commerce rooms, catch after-sales questions and host misstatements."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("danmaku-agent")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+src"
