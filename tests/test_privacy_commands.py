"""purge, export-user and forget-user from the command line: output and refusals."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import orjson
import pytest

from agent.cli import main
from agent.events import Finding
from agent.metrics import Metrics
from agent.store import RecordStore
from tests.conftest import ROOT


def _config(tmp_path: Path, store: str = "") -> Path:
    path = tmp_path / "agent.yaml"
    path.write_text(f"sources: [{{type: replay, path: {ROOT / 'configs/demo/stream.jsonl'}}}]\n"
                    f"privacy: {{key_file: {tmp_path / 'missing.key'}}}\n{store}",
                    encoding="utf-8")  # fmt: skip
    return path


async def _fill(url: str, now: float) -> None:
    async with RecordStore(url, Metrics()) as store:
        for age_days in (1, 10, 40, 400):
            store.submit(Finding(room="r1", kind="inquiry", category="logistics",
                                 severity="low", text="发货", ts=1.0,
                                 received=now - age_days * 86400.0, user="h:x"))  # fmt: skip


def test_purge_dry_run_then_purge(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--dry-run counts without deleting; --older-than overrides retention_days."""
    url = f"sqlite:///{tmp_path / 'r.db'}"
    asyncio.run(_fill(url, time.time()))
    config = str(_config(tmp_path, f"store: {{url: '{url}', retention_days: 30}}\n"))
    capsys.readouterr()
    assert main(["purge", "--config", config, "--dry-run"]) == 0
    assert orjson.loads(capsys.readouterr().out)["deleted"]["inquiries"] == 2
    assert main(["purge", "--config", config, "--older-than", "5"]) == 0
    assert orjson.loads(capsys.readouterr().out)["deleted"]["inquiries"] == 3
    assert main(["purge", "--config", config]) == 0
    assert orjson.loads(capsys.readouterr().out)["deleted"]["inquiries"] == 0


def test_commands_refuse_a_config_without_store(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    """No store: section is a usage error naming the file."""
    config = str(_config(tmp_path))
    assert main(["purge", "--config", config]) == 2
    assert "no store: section" in capsys.readouterr().err


def test_viewer_commands_never_create_a_hash_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without the agent's key a uid cannot be looked up: exit 2, and no key file appears."""
    monkeypatch.delenv("DANMAKU_HASH_KEY", raising=False)
    config = str(_config(tmp_path, f"store: {{url: 'sqlite:///{tmp_path / 'r.db'}'}}\n"))
    for command in ("export-user", "forget-user"):
        assert main([command, "--config", config, "--uid", "u1"]) == 2
        assert "no user-hash key" in capsys.readouterr().err
    assert not (tmp_path / "missing.key").exists()


def test_export_of_a_missing_database_does_not_create_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A mistyped database path is reported, not silently created empty."""
    monkeypatch.setenv("DANMAKU_HASH_KEY", "test-hash-key-0123456789abcdef")
    config = str(_config(tmp_path, f"store: {{url: 'sqlite:///{tmp_path / 'nope.db'}'}}\n"))
    assert main(["export-user", "--config", config, "--uid", "u1"]) == 2
    assert "no records database" in capsys.readouterr().err
    assert not (tmp_path / "nope.db").exists()
