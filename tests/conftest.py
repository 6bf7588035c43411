"""Shared fixtures: fresh metrics registries, free ports, the project root, scaled time."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from agent.metrics import Metrics

ROOT = Path(__file__).resolve().parents[1]

# Scale every timing constant in tests by DANMAKU_TEST_TIME_SCALE on slow machines.
MS = 0.001 * float(os.environ.get("DANMAKU_TEST_TIME_SCALE", "1"))


@pytest.fixture
def metrics() -> Metrics:
    """A Metrics object on its own registry, so assertions see exact samples."""
    return Metrics()


@pytest.fixture
def root() -> Path:
    """The project root (configs/, classifiers/ …)."""
    return ROOT


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def hash_key_env(monkeypatch: pytest.MonkeyPatch) -> str:
    """A fixed user-hash key in the environment, so runs write no key file."""
    monkeypatch.setenv("DANMAKU_HASH_KEY", "test-hash-key-0123456789abcdef")
    return "DANMAKU_HASH_KEY"
