"""``danmaku-agent classify --in IN.jsonl --out OUT.jsonl``: batch intent classification."""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from classifiers.faq import FaqIndex
    from classifiers.intent import IntentClassifier

HELP = """\
Classify danmaku lines. Input: one JSON object per line with "text" (required), "id" and
"sku" (optional: the product on air, whose FAQ is searched first); "-" reads stdin.
Output, one line per input line in the same order: {"id", "label", "after_sales",
"score", "text_redacted", "faq"}; a bad line gives {"id", "error"} and processing goes on.
With --catalog, product and after-sales questions get the closest FAQ entry as a
suggested on-screen reply. A summary (counts per label, speed) goes to stderr; a progress
bar too when stderr is a terminal.
Exit code 2 when the model, catalog or input file cannot be opened."""

BATCH = 512
# Inputs longer than this are cut before classification (a danmaku is rarely over 100).
MAX_CHARS = 2000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``classify``."""
    parser.add_argument("--in", dest="input", required=True, help="input JSONL ('-' = stdin)")
    parser.add_argument("--out", dest="output", required=True, help="output JSONL ('-' = stdout)")
    parser.add_argument("--catalog", type=Path, help="product FAQ catalog (YAML/JSON/CSV/XLSX)")
    parser.add_argument("--model", type=Path, help="model directory (default: bundled model)")
    parser.add_argument("--batch", type=int, default=BATCH, help="micro-batch size")


# (id, text, sku, error): text is None exactly when error is set.
Row = tuple[Any, str | None, str | None, str | None]


def _parse(line: bytes) -> Row:
    """``(id, text, sku, error)`` of one input line."""
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        return None, None, None, f"invalid JSON: {exc}"
    if not isinstance(obj, dict):
        return None, None, None, "expected a JSON object"
    ident = obj.get("id")
    text = obj.get("text")
    if not isinstance(text, str):
        return ident, None, None, "missing or non-string 'text'"
    sku = obj.get("sku")
    if sku is not None and not isinstance(sku, str):
        return ident, None, None, "'sku' must be a string"
    return ident, text[:MAX_CHARS], sku, None


class _Progress:
    """A one-line progress bar on stderr, drawn only on a terminal and at most 10 times/s."""

    def __init__(self, stream: IO[str], total_bytes: int | None) -> None:
        self.stream = stream
        self.total = total_bytes
        self.enabled = stream.isatty()
        self.last = 0.0

    def update(self, done_bytes: int, lines: int, *, final: bool = False) -> None:
        now = time.monotonic()
        if not self.enabled or (not final and now - self.last < 0.1):
            return
        self.last = now
        if self.total:
            frac = min(done_bytes / self.total, 1.0)
            bar = "#" * int(frac * 30)
            self.stream.write(f"\r[{bar:<30}] {frac:6.1%} {lines} lines")
        else:
            self.stream.write(f"\r{lines} lines")
        if final:
            self.stream.write("\n")
        self.stream.flush()


def _faq_dict(
    faq: FaqIndex | None, label: str, text: str, sku: str | None
) -> dict[str, str] | None:
    if faq is None or label == "other":
        return None
    match = faq.match(text, sku)
    if match is None:
        return None
    return {"sku": match.sku, "question": match.question, "reply": match.reply}


def _flush(
    batch: list[Row],
    *,
    model: IntentClassifier,
    faq: FaqIndex | None,
    mask: Callable[[str], str],
    out: IO[bytes],
    counts: Counter[str],
) -> None:
    texts = [text for _, text, _, _ in batch if text is not None]
    results = iter(model.predict(texts))
    lines: list[bytes] = []
    for ident, text, sku, error in batch:
        if text is None:
            counts["error"] += 1
            lines.append(orjson.dumps({"id": ident, "error": error}))
            continue
        result = next(results)
        counts[result.label] += 1
        redacted = mask(text)
        row = {
            "id": ident,
            "label": result.label,
            "after_sales": result.after_sales,
            "score": round(result.score, 4),
            "text_redacted": redacted,
            "faq": _faq_dict(faq, result.label, redacted, sku),
        }
        lines.append(orjson.dumps(row))
    out.write(b"\n".join(lines) + b"\n")


def _lines(stream: IO[bytes]) -> Iterator[bytes]:
    for raw in stream:
        yield raw.rstrip(b"\r\n")


def _load(args: argparse.Namespace) -> tuple[IntentClassifier, FaqIndex | None] | str:
    """The model and FAQ index, or a one-line error message."""
    from classifiers.intent import IntentClassifier, ModelLoadError  # noqa: PLC0415

    try:
        model = IntentClassifier.load(args.model)
    except ModelLoadError as exc:
        return str(exc)
    if args.catalog is None:
        return model, None
    from classifiers.catalog import CatalogError, load_catalog  # noqa: PLC0415
    from classifiers.faq import FaqIndex  # noqa: PLC0415

    try:
        return model, FaqIndex(load_catalog(args.catalog))
    except CatalogError as exc:
        return str(exc)


def run(args: argparse.Namespace) -> int:
    """Classify every line of the input."""
    if args.batch < 1:
        print("danmaku-agent classify: --batch must be at least 1", file=sys.stderr)
        return 2
    loaded = _load(args)
    if isinstance(loaded, str):
        print(f"danmaku-agent classify: {loaded}", file=sys.stderr)
        return 2
    model, faq = loaded
    from agent.privacy import mask_pii  # noqa: PLC0415

    counts: Counter[str] = Counter()
    started = time.perf_counter()
    with ExitStack() as stack:
        try:
            if args.input == "-":
                src: IO[bytes] = sys.stdin.buffer
                total = None
            else:
                src = stack.enter_context(Path(args.input).open("rb"))
                total = Path(args.input).stat().st_size
            out: IO[bytes] = (
                sys.stdout.buffer
                if args.output == "-"
                else stack.enter_context(Path(args.output).open("wb"))
            )
        except OSError as exc:
            print(f"danmaku-agent classify: {exc.filename}: {exc.strerror}", file=sys.stderr)
            return 2
        progress = _Progress(sys.stderr, total)
        batch: list[Row] = []
        done = 0
        for line in _lines(src):
            done += len(line) + 1
            batch.append(_parse(line))
            if len(batch) >= args.batch:
                _flush(batch, model=model, faq=faq, mask=mask_pii, out=out, counts=counts)
                batch = []
                progress.update(done, sum(counts.values()))
        if batch:
            _flush(batch, model=model, faq=faq, mask=mask_pii, out=out, counts=counts)
        progress.update(done, sum(counts.values()), final=True)
        out.flush()
    elapsed = time.perf_counter() - started
    total_lines = sum(counts.values())
    summary = " ".join(f"{label}={n}" for label, n in sorted(counts.items()))
    rate = total_lines / elapsed if elapsed > 0 else 0.0
    print(
        f"classified {total_lines} lines in {elapsed:.2f}s ({rate:,.0f}/s) with {model.version}: "
        f"{summary}",
        file=sys.stderr,
    )
    return 0
