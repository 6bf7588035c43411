"""The classify, train and eval commands: DESIGN contract, errors, exit codes."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest

from agent.cli import main
from agent.commands.classify import _Progress
from classifiers.intent import model_paths
from classifiers.labels import LABELS

DATA = Path(__file__).resolve().parents[1] / "classifiers" / "data"


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


def _read(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


def test_classify_contract(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """One output line per input line, in order, with the DESIGN fields; bad lines give errors."""
    pytest.importorskip("agent.privacy")
    src = _write(
        tmp_path / "in.jsonl",
        [
            json.dumps({"id": 1, "text": "我要退货 电话13812345678"}, ensure_ascii=False),
            "{not json",
            json.dumps({"id": "b", "text": "主播好美"}, ensure_ascii=False),
            json.dumps({"id": 3}),
            json.dumps(["text"]),
            json.dumps({"text": "快递到哪了"}, ensure_ascii=False),
        ],
    )
    out = tmp_path / "out.jsonl"
    assert main(["classify", "--in", str(src), "--out", str(out)]) == 0
    rows = _read(out)
    assert len(rows) == 6
    assert rows[0]["id"] == 1
    assert rows[0]["label"] == "return_refund"
    assert rows[0]["after_sales"] is True
    assert "13812345678" not in str(rows[0]["text_redacted"])
    assert rows[0]["faq"] is None
    assert set(rows[0]) == {"id", "label", "after_sales", "score", "text_redacted", "faq"}
    assert set(rows[1]) == {"id", "error"}
    assert rows[1]["id"] is None
    assert rows[2] == {
        "id": "b",
        "label": "other",
        "after_sales": False,
        "score": rows[2]["score"],
        "text_redacted": "主播好美",
        "faq": None,
    }
    assert rows[3]["id"] == 3
    assert "text" in str(rows[3]["error"])
    assert "error" in rows[4]
    assert rows[5]["id"] is None
    assert rows[5]["label"] == "logistics"
    for row in (rows[0], rows[2], rows[5]):
        assert row["label"] in LABELS
        assert 0 < float(str(row["score"])) <= 1
    err = capsys.readouterr().err
    assert "classified 6 lines" in err
    assert "error=3" in err
    assert "\r" not in err  # no progress bar when stderr is not a terminal


def test_classify_with_catalog(tmp_path: Path) -> None:
    """With --catalog, product and after-sales questions carry a suggested FAQ reply."""
    pytest.importorskip("agent.privacy")
    pytest.importorskip("classifiers.catalog")
    src = _write(
        tmp_path / "in.jsonl",
        [
            json.dumps({"id": 1, "text": "耳机保修多久"}, ensure_ascii=False),
            json.dumps({"id": 2, "text": "哈哈哈哈"}, ensure_ascii=False),
            json.dumps({"id": 3, "text": "包邮吗", "sku": "C3"}, ensure_ascii=False),
            json.dumps({"id": 4, "text": "什么时候发货", "sku": 7}, ensure_ascii=False),
        ],
    )
    out = tmp_path / "out.jsonl"
    catalog = DATA / "faq_catalog.json"
    assert main(["classify", "--in", str(src), "--out", str(out), "--catalog", str(catalog)]) == 0
    first, second, third, fourth = _read(out)
    assert third["faq"] == {
        "sku": "C3",
        "question": "包邮吗？",
        "reply": "本款不包邮，满99元包邮。",
    }
    assert fourth == {"id": 4, "error": "'sku' must be a string"}
    assert first["faq"] == {
        "sku": "B2",
        "question": "保修多久？",
        "reply": "整机保修12个月，凭订单号联系客服寄修，运费我们承担。",
    }
    assert second["faq"] is None


def test_classify_missing_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A missing model gives exit code 2 and one clear line on stderr."""
    src = _write(tmp_path / "in.jsonl", ['{"text": "退货"}'])
    code = main(
        ["classify", "--in", str(src), "--out", str(tmp_path / "o"), "--model", str(tmp_path / "m")]
    )
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "cannot load intent model" in err
    assert not (tmp_path / "o").exists()


def test_classify_corrupt_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A corrupt model file gives exit code 2 and one clear line."""
    header, arrays = model_paths(None)
    model = tmp_path / "model"
    model.mkdir()
    shutil.copy(header, model / header.name)
    (model / arrays.name).write_bytes(b"garbage")
    src = _write(tmp_path / "in.jsonl", ['{"text": "退货"}'])
    code = main(["classify", "--in", str(src), "--out", str(tmp_path / "o"), "--model", str(model)])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "corrupt model file" in err


def test_classify_missing_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An unreadable input file gives exit code 2 naming it."""
    pytest.importorskip("agent.privacy")
    code = main(["classify", "--in", str(tmp_path / "none.jsonl"), "--out", str(tmp_path / "o")])
    assert code == 2
    assert "none.jsonl" in capsys.readouterr().err


def test_train_then_eval(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """train writes a loadable model reproducibly; eval prints the table and JSON."""
    lines = (DATA / "intent_train.jsonl").read_text("utf-8").splitlines()
    train = _write(tmp_path / "train.jsonl", lines[:900])
    dev = _write(tmp_path / "dev.jsonl", lines[900:1200])
    args = ["--train", str(train), "--dev", str(dev), "--candidate", "char-tfidf+linsvm"]
    assert main(["train", *args, "--out", str(tmp_path / "m1"), "--release", "2026.11"]) == 0
    assert main(["train", *args, "--out", str(tmp_path / "m2"), "--release", "2026.11"]) == 0
    v1 = json.loads((tmp_path / "m1" / "intent.json").read_text("utf-8"))["version"]
    v2 = json.loads((tmp_path / "m2" / "intent.json").read_text("utf-8"))["version"]
    assert v1 == v2  # same data and seed, same arrays
    capsys.readouterr()
    assert main(["eval", "--in", str(dev), "--model", str(tmp_path / "m1")]) == 0
    text = capsys.readouterr().out
    assert "macro-F1" in text
    assert "confusion" in text
    assert main(["eval", "--in", str(dev), "--model", str(tmp_path / "m1"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n"] == 300
    assert set(report["per_label"]) == set(LABELS)
    assert 0.0 <= report["after_sales_recall"] <= 1.0


def test_train_bad_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A malformed labelled line is reported with file and line number."""
    bad = _write(tmp_path / "bad.jsonl", ['{"text": "退货", "label": "return_refund"}', "{oops"])
    assert main(["train", "--train", str(bad), "--dev", str(bad), "--out", str(tmp_path)]) == 2
    assert "bad.jsonl:2" in capsys.readouterr().err


def test_eval_bad_threshold(capsys: pytest.CaptureFixture[str]) -> None:
    """A malformed --threshold is a usage error."""
    path = str(DATA / "intent_dev.jsonl")
    assert main(["eval", "--in", path, "--threshold", "quality"]) == 2
    assert "LABEL=SCORE" in capsys.readouterr().err


class _Tty(io.StringIO):
    """A text stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_progress_only_on_a_terminal() -> None:
    """The progress bar draws on a terminal and stays silent otherwise."""
    tty, pipe = _Tty(), io.StringIO()
    for stream in (tty, pipe):
        bar = _Progress(stream, total_bytes=1000)
        bar.update(500, 10, final=False)
        bar.update(1000, 20, final=True)
    assert "50.0%" in tty.getvalue()
    assert tty.getvalue().endswith("100.0% 20 lines\n")
    assert pipe.getvalue() == ""
