"""check-speech contract and preflight exit codes through the real CLI entry point."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "configs" / "demo" / "catalog.yaml"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agent", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def test_check_speech_contract(tmp_path: Path) -> None:
    """One output per line in order; bad lines become {"id", "error"}."""
    inp = tmp_path / "in.jsonl"
    inp.write_text(
        '{"id": 1, "sku": "JH-101", "text": "到手价只要九十九全网最低"}\nnot json\n'
        '{"id": 3, "sku": "JH-101"}\n'
        '{"id": 4, "sku": "JH-101", "text": "直播间到手价一百二十九"}\n',
        encoding="utf-8",
    )
    out = tmp_path / "out.jsonl"
    proc = _cli("check-speech", "--catalog", str(CATALOG), "--in", str(inp), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 4
    assert set(rows[0]) == {"id", "misstatements", "compliance"}
    assert rows[0]["misstatements"][0]["field"] == "price"
    assert set(rows[0]["misstatements"][0]) == {
        "field",
        "claimed",
        "expected",
        "evidence",
        "correction",
    }
    assert [c["term"] for c in rows[0]["compliance"]] == ["全网最低"]
    assert "error" in rows[1]
    assert rows[2] == {"id": 3, "error": "missing text"}
    assert rows[3] == {"id": 4, "misstatements": [], "compliance": []}


def test_preflight_exit_codes(tmp_path: Path) -> None:
    """1 with line numbers when findings, 0 when clean, 2 on a bad catalog."""
    script = tmp_path / "script.txt"
    script.write_text(
        "[JH-101] 家人们看过来\n到手价一百二十九\n保修两年的\n[MS-202]\n四十八小时发货\n",
        encoding="utf-8",
    )
    proc = _cli("preflight", "--catalog", str(CATALOG), str(script))
    assert proc.returncode == 1, proc.stderr
    assert [line.split(":")[0] for line in proc.stdout.splitlines()] == ["3", "5"]
    clean = tmp_path / "clean.txt"
    clean.write_text("[JH-101]\n直播间到手价一百二十九\n", encoding="utf-8")
    assert _cli("preflight", "--catalog", str(CATALOG), str(clean)).returncode == 0
    assert _cli("preflight", "--catalog", str(tmp_path / "none.yaml"), str(clean)).returncode == 2


def test_eval_speech_report_and_errors(tmp_path: Path) -> None:
    """eval-speech scores labelled lines (text table or JSON) and exits 2 on a broken file."""
    labelled = tmp_path / "labelled.jsonl"
    labelled.write_text(
        '{"id": "a", "sku": "JH-101", "text": "到手价只要九十九全网最低",'
        ' "misstatements": [{"field": "price", "claimed": "99"}], "compliance": ["全网最低"]}\n'
        '{"id": "b", "sku": "JH-101", "text": "直播间到手价一百二十九", "misstatements": []}\n'
        '{"id": "c", "sku": "YS-301", "text": "这个牙刷保修一年", "misstatements":'
        ' [{"field": "warranty_months"}]}\n',
        encoding="utf-8",
    )
    args = ("eval-speech", "--catalog", str(CATALOG), "--in", str(labelled))
    proc = _cli(*args, "--json", "--errors", "5")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["lines"] == 3
    assert report["misstatement"]["tp"] == 1
    assert report["misstatement"]["fn"] == 1
    assert report["fields"]["price"]["tp"] == 1
    assert report["misstatement"]["claimed"] == 1.0
    assert report["compliance"]["tp"] == 1
    assert [e["id"] for e in report["errors"]] == ["c"]
    text = _cli(*args, "--errors", "1")
    assert text.returncode == 0
    assert "misstatement precision 1.000  recall 0.500" in text.stdout
    assert "这个牙刷保修一年" in text.stdout
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"text": "x", "misstatements": [{"field": "colour"}]}\n', encoding="utf-8")
    proc = _cli("eval-speech", "--catalog", str(CATALOG), "--in", str(broken))
    assert proc.returncode == 2
    assert "broken.jsonl: line 1" in proc.stderr
