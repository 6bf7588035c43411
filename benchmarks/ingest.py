"""Ingest speed: comments/s on one core, each path beside the floor of the same bytes.

- ``bilibili``: brotli batches of 10 DANMU_MSG (the real ``info`` layout) through the codec
  and the mapping to ``Comment`` events, as the source does (counters included).
  Floor: the same frames only split into packets, brotli-decompressed and JSON-decoded.
- ``json relay``: DESIGN event JSON frames through ``FrameDecoder`` (what json_ws and push
  run). Floor: the same frames only JSON-decoded.
- ``+ ranking``: the same paths with every comment ranked by the after-sales prefilter, which
  the ingress does only from half full on (overload); the normal path skips it.

Each repeat runs a path and then its floor, so load from other processes hits both alike;
the best of the repeats is reported.

Run: .venv/bin/python benchmarks/ingest.py [--frames N] [--repeat N] [--cpu N]
"""

from __future__ import annotations

import argparse
import os
import platform
import struct
import time
from collections.abc import Callable
from pathlib import Path

import brotli
import orjson

from agent.config import BilibiliSourceConfig
from agent.metrics import Metrics
from agent.prefilter import default_prefilter
from agent.sources.bilibili import BilibiliSource
from agent.sources.bilibili_codec import OP_COMMAND, VER_BROTLI, encode_packet
from agent.sources.decode import FrameDecoder

ROOT = Path(__file__).resolve().parent.parent
TEXTS = ROOT / "classifiers" / "data" / "intent_test.jsonl"
PER_FRAME = 10
# blivedm 1.1.7 on this machine, brotli frames of 10 DANMU_MSG (issue 3).
BLIVEDM_PEER = 42_000.0
HEADER = struct.Struct(">IHHII")


def _texts() -> list[str]:
    lines = TEXTS.read_text(encoding="utf-8").splitlines()
    return [orjson.loads(line)["text"] for line in lines if line.strip()]


def _danmu(text: str, uid: int, ts_ms: int) -> bytes:
    """A DANMU_MSG body shaped like the platform's (mode info, extra JSON, medal, level…)."""
    extra = orjson.dumps({
        "send_from_me": False, "mode": 0, "color": 16777215, "dm_type": 0, "font_size": 25,
        "player_mode": 1, "show_player_type": 0, "content": text, "user_hash": "2650396014",
        "emoticon_unique": "", "bulge_display": 0, "recommend_score": 3, "main_state_dm_color": "",
        "objective_state_dm_color": "", "direction": 0, "pk_direction": 0, "quartet_direction": 0,
        "anniversary_crowd": 0, "yeah_space_type": "", "yeah_space_url": "", "jump_to_url": "",
        "space_type": "", "space_url": "", "animation": {}, "emots": None, "is_audited": False,
        "id_str": f"{uid:x}{ts_ms:x}", "icon": None, "show_reply": True, "reply_mid": 0,
    }).decode()  # fmt: skip
    info = [
        [0, 1, 25, 16777215, ts_ms, 1767225600, 0, "9f2a1c3b", 0, 0, 0, "", 0, "{}", "{}",
         {"mode": 0, "show_player_type": 0, "extra": extra}, {"activity_identity": "",
         "activity_source": 0, "not_show": 0}, 0],
        text,
        [uid, f"观众{uid}", 0, 0, 0, 10000, 1, ""],
        [12, "粉丝团", "主播", 21452505, 6067854, "", 0, 6067854, 6067854, 6067854, 0, 1, 33],
        [21, 0, 5805790, ">50000", 0],
        ["", ""], 0, 0, None, {"ts": ts_ms // 1000, "ct": "A1B2C3D4"}, 0, 0, None, None, 0, 105,
        [12], None,
    ]  # fmt: skip
    body = orjson.dumps({"cmd": "DANMU_MSG", "dm_v2": "", "info": info})
    return encode_packet(OP_COMMAND, body, ver=0, seq=0)


def bilibili_frames(texts: list[str], count: int) -> list[bytes]:
    """``count`` brotli frames of ``PER_FRAME`` DANMU_MSG packets each."""
    frames = []
    base = 1767225600000
    for f in range(count):
        packets = [
            _danmu(texts[(f * PER_FRAME + i) % len(texts)], 10_000 + i, base + f * 100 + i)
            for i in range(PER_FRAME)
        ]
        body = brotli.compress(b"".join(packets), quality=6)
        frames.append(encode_packet(OP_COMMAND, body, ver=VER_BROTLI, seq=0))
    return frames


def relay_frames(texts: list[str], count: int) -> list[bytes]:
    """``count`` DESIGN event JSON frames (one comment each)."""
    return [
        orjson.dumps(
            {
                "type": "comment",
                "room": "r1",
                "user": f"u{i % 5000}",
                "text": texts[i % len(texts)],
                "ts": 1763800000.0 + i / 100,
            }
        )
        for i in range(count)
    ]


def bilibili_floor(frames: list[bytes]) -> int:
    """Split, decompress, JSON-decode: the least any client must do. Returns objects seen."""
    seen = 0
    unpack = HEADER.unpack_from
    for frame in frames:
        _len, head, _ver, _op, _seq = unpack(frame, 0)
        inner = brotli.decompress(frame[head:])
        offset, end = 0, len(inner)
        while offset < end:
            size, head, _ver, _op, _seq = unpack(inner, offset)
            orjson.loads(inner[offset + head : offset + size])
            offset += size
            seen += 1
    return seen


def _bilibili_source() -> BilibiliSource:
    config = BilibiliSourceConfig(type="bilibili", room="21452505", url="ws://127.0.0.1:1/sub")
    return BilibiliSource(config, Metrics())


def bilibili_ours(frames: list[bytes]) -> int:
    """The source's per-message path: codec, mapping and counters."""
    events = _bilibili_source().events
    seen = 0
    now = time.time()
    for frame in frames:
        seen += len(events(frame, now))
    return seen


def bilibili_ranked(frames: list[bytes]) -> int:
    """``bilibili_ours`` with every comment ranked, as the ingress does under overload."""
    events = _bilibili_source().events
    priority = default_prefilter().priority
    seen = 0
    now = time.time()
    for frame in frames:
        for comment in events(frame, now):
            priority(comment)
            seen += 1
    return seen


def relay_floor(frames: list[bytes]) -> int:
    """Only JSON-decode each frame."""
    for frame in frames:
        orjson.loads(frame)
    return len(frames)


def relay_ours(frames: list[bytes]) -> int:
    """FrameDecoder: size check, decode, validation into an event."""
    decode = FrameDecoder("json_ws", Metrics(), room="r1")
    now = time.time()
    return sum(decode(frame, now) is not None for frame in frames)


def relay_ranked(frames: list[bytes]) -> int:
    """``relay_ours`` with every event ranked, as the ingress does under overload."""
    decode = FrameDecoder("json_ws", Metrics(), room="r1")
    priority = default_prefilter().priority
    now = time.time()
    seen = 0
    for frame in frames:
        event = decode(frame, now)
        if event is not None:
            priority(event)
            seen += 1
    return seen


def rates(
    ours: Callable[[list[bytes]], int],
    floor: Callable[[list[bytes]], int],
    frames: list[bytes],
    repeat: int,
) -> tuple[float, float]:
    """Best comments/s of a path and of its floor, the two run alternately."""
    best = [0.0, 0.0]
    for _ in range(repeat):
        for i, run in enumerate((ours, floor)):
            start = time.perf_counter()
            seen = run(frames)
            best[i] = max(best[i], seen / (time.perf_counter() - start))
    return best[0], best[1]


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (or the platform's guess)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main() -> None:
    """Measure both paths against their floors and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=2000, help="bilibili frames (x10 comments)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--cpu", type=int, default=None, help="pin to this CPU (default: last)")
    args = parser.parse_args()
    cpus = sorted(os.sched_getaffinity(0))
    cpu = args.cpu if args.cpu is not None else cpus[-1]
    os.sched_setaffinity(0, {cpu})
    texts = _texts()
    bili = bilibili_frames(texts, args.frames)
    relay = relay_frames(texts, args.frames * PER_FRAME)
    assert bilibili_ours(bili[:10]) == bilibili_floor(bili[:10]) == 10 * PER_FRAME
    assert relay_ours(relay[:100]) == 100
    rows = [
        (name, *rates(ours, floor, frames, args.repeat))
        for name, ours, floor, frames in (
            ("bilibili brotli x10", bilibili_ours, bilibili_floor, bili),
            ("  + ranking", bilibili_ranked, bilibili_floor, bili),
            ("json relay", relay_ours, relay_floor, relay),
            ("  + ranking", relay_ranked, relay_floor, relay),
        )
    ]
    size = sum(map(len, bili)) / len(bili)
    print(f"machine: {cpu_model()}, {os.cpu_count()} cpus, pinned to cpu {cpu}; "
          f"Python {platform.python_version()}")  # fmt: skip
    print(f"bilibili: {len(bili)} frames, {size:.0f} bytes/frame compressed; "
          f"relay: {len(relay)} frames")  # fmt: skip
    print(f"{'path':<22}{'comments/s':>14}{'floor/s':>14}{'ratio':>8}")
    for name, ours_rate, floor_rate in rows:
        print(f"{name:<22}{ours_rate:>14,.0f}{floor_rate:>14,.0f}{ours_rate / floor_rate:>8.2f}")
    print(f"blivedm 1.1.7 peer figure (issue 3): {BLIVEDM_PEER:,.0f}/s; "
          f"bilibili path is {rows[0][1] / BLIVEDM_PEER:.2f}x")  # fmt: skip


if __name__ == "__main__":
    main()
