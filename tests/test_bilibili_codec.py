"""Bilibili codec: the shared test vectors, round trips and hypothesis fuzzing."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path
from typing import Any

import brotli
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.sources.bilibili_codec import (
    HEADER,
    OP_AUTH,
    OP_COMMAND,
    CodecError,
    auth_packet,
    decode_frame,
    encode_packet,
)

# The shared codec test vectors (own builder script; see the file header), kept with the tests.
VECTORS_PATH = Path(__file__).with_name("vectors") / "bilibili.json"
VECTORS: list[dict[str, Any]] = json.loads(VECTORS_PATH.read_text())["vectors"]


def _subset(expected: dict[str, Any], actual: dict[str, Any]) -> bool:
    return all(actual.get(k) == v for k, v in expected.items())


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_vector(vector: dict[str, Any]) -> None:
    """Each shared vector decodes to its expected result or rejection reason."""
    data = bytes.fromhex(vector["hex"])
    assert len(data) == vector["length"]
    exp = vector["expected"]
    if exp["kind"] == "error":
        with pytest.raises(CodecError) as info:
            decode_frame(data)
        assert info.value.reason == exp["error"]
        return
    out = decode_frame(data)
    assert out.errors == []
    kind = exp["kind"]
    if kind in ("messages", "messages_or_reject"):
        assert out.kind == "messages"
    else:
        assert out.kind == kind
    if kind == "auth_reply":
        assert out.code == exp["code"]
    if kind == "heartbeat_reply":
        assert out.popularity == exp["popularity"]
    assert len(out.messages) == len(exp["messages"])
    for want, got in zip(exp["messages"], out.messages, strict=True):
        assert _subset(want, got), (want, got)


def _danmu(text: str, uid: int) -> bytes:
    body = {"cmd": "DANMU_MSG", "info": [[0, 1, 25, 0, 1767225600000], text, [uid, "u"]]}
    return encode_packet(OP_COMMAND, orjson.dumps(body), ver=0)


def test_bad_packet_in_batch_keeps_the_rest() -> None:
    """One bad JSON body inside a compressed batch skips only itself."""
    inner = _danmu("一", 1) + encode_packet(OP_COMMAND, b"{not json", ver=0) + _danmu("二", 2)
    frame = encode_packet(OP_COMMAND, brotli.compress(inner), ver=3)
    out = decode_frame(frame)
    assert [m["text"] for m in out.messages] == ["一", "二"]
    assert out.errors == ["bad_json"]


def test_other_commands_counted_not_mapped() -> None:
    """Unknown commands are listed by name (suffix stripped) and yield no message."""
    frame = encode_packet(OP_COMMAND, b'{"cmd":"ONLINE_RANK_COUNT:1","data":{}}', ver=0)
    out = decode_frame(frame)
    assert out.commands == ["ONLINE_RANK_COUNT"]
    assert out.messages == []


def test_nesting_depth_is_bounded() -> None:
    """Three levels of zlib wrapping are rejected."""
    frame = _danmu("x", 1)
    for _ in range(3):
        frame = encode_packet(OP_COMMAND, zlib.compress(frame), ver=2)
    with pytest.raises(CodecError) as info:
        decode_frame(frame)
    assert info.value.reason == "too_deep"


def test_auth_packet_fields() -> None:
    """The auth packet carries the documented fields under op 7."""
    packet = auth_packet(123, uid=5, key="k", buvid="b")
    length, head, _ver, op, _seq = HEADER.unpack_from(packet)
    assert (length, head, op) == (len(packet), 16, OP_AUTH)
    body = orjson.loads(packet[16:])
    want = {"uid": 5, "roomid": 123, "protover": 3, "platform": "web", "type": 2}
    assert body == {**want, "buvid": "b", "key": "k"}


def test_truncated_brotli_rejected() -> None:
    """A brotli stream cut short is a decompress failure, not a partial batch."""
    payload = brotli.compress(_danmu("主播好", 1) * 20)
    frame = encode_packet(OP_COMMAND, payload[: len(payload) // 2], ver=3)
    with pytest.raises(CodecError) as info:
        decode_frame(frame)
    assert info.value.reason == "decompress_failed"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=512))
def test_fuzz_arbitrary_bytes(data: bytes) -> None:
    """Random bytes either decode or raise CodecError."""
    try:
        out = decode_frame(data)
    except CodecError:
        return
    assert out.kind in ("auth_reply", "heartbeat_reply", "messages", "ignored")


_header_fields = st.tuples(
    st.integers(0, 2**32 - 1), st.integers(0, 64), st.integers(0, 8), st.integers(0, 10),
    st.integers(0, 2**32 - 1),
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(_header_fields, st.binary(max_size=256), st.sampled_from([None, "zlib", "brotli"]))
def test_fuzz_lying_headers(
    fields: tuple[int, int, int, int, int], body: bytes, comp: str | None
) -> None:
    """Headers with arbitrary lengths/versions/ops over (compressed) bodies never hang or crash."""
    if comp == "zlib":
        body = zlib.compress(body)
    elif comp == "brotli":
        body = brotli.compress(body)
    frame = struct.pack(">IHHII", *fields) + body
    try:
        out = decode_frame(frame, max_decompressed=4096)
    except CodecError:
        return
    assert out.kind in ("auth_reply", "heartbeat_reply", "messages", "ignored")


# -- the typed DANMU_MSG fast path agrees with the generic path ------------------------------

_json_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)
_json_value = st.recursive(
    _json_scalar,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4),
    max_leaves=12,
)
_uid = st.one_of(st.integers(0, 2**40), st.sampled_from(["42", "x1", "", True]), _json_value)
_ts = st.one_of(st.integers(0, 2**45), st.sampled_from(["1767225600000", "soon", None]), _json_value)
_info = st.builds(
    lambda meta_head, ts, text, uid, uname, tail, cut: (
        [[*meta_head, ts, 0, 0], text, [uid, uname, 0, 0], *tail][:cut]
    ),
    st.lists(_json_value, min_size=4, max_size=4),
    _ts,
    st.one_of(st.text(max_size=20), _json_value),
    _uid,
    st.one_of(st.text(max_size=8), _json_value),
    st.lists(_json_value, max_size=3),
    st.integers(0, 6),
)


def _body(cmd: Any, info: Any, *, cmd_first: bool) -> bytes:
    pairs = [("cmd", cmd), ("info", info)]
    return orjson.dumps(dict(pairs if cmd_first else pairs[::-1]))


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(["DANMU_MSG", "DANMU_MSG:4:0:2:2:2:0", "DANMU_MSGX"]), _info)
def test_danmu_fast_path_matches_the_generic_path(cmd: str, info: Any) -> None:
    """``cmd`` first takes the typed decoder; ``cmd`` last the generic one: same outcome."""
    fast = decode_frame(encode_packet(OP_COMMAND, _body(cmd, info, cmd_first=True), ver=0))
    slow = decode_frame(encode_packet(OP_COMMAND, _body(cmd, info, cmd_first=False), ver=0))
    assert (fast.messages, fast.errors, fast.commands) == (
        slow.messages,
        slow.errors,
        slow.commands,
    )


def test_danmu_fast_path_falls_back_on_deep_nesting_in_skipped_fields() -> None:
    """A body nested past the parsers' limits in a field nobody reads is still rejected."""
    deep = b"[" * 5000 + b"]" * 5000
    body = b'{"cmd":"DANMU_MSG","info":[[0,0,0,0,1],"hi",[1,"a"],' + deep + b"]}"
    decoded = decode_frame(encode_packet(OP_COMMAND, body, ver=0))
    assert decoded.messages == []
    assert decoded.errors == ["bad_json"]
