"""Bilibili live danmaku websocket protocol: bytes in, packets and plain messages out. No I/O.

A websocket binary message holds one or more packets, each a 16-byte big-endian header
``>IHHII`` (packet length, header length, protocol version, operation, sequence) and a body.
Version 0 bodies are JSON, 1 an int (heartbeat reply), 2 zlib and 3 brotli streams that
wrap further packets.

Everything a stranger controls is bounded: packet lengths are checked against the buffer
(a length of 0 is rejected, never looped on), decompressed output is capped across the whole
frame, wrapping nests at most ``max_depth`` times. Framing errors reject the frame with one
``CodecError`` (no resynchronisation is possible inside a lying stream); a bad JSON body only
skips its own packet and is reported in ``Decoded.errors`` so the rest of a batch survives.
"""

from __future__ import annotations

import base64
import binascii
import struct
import zlib
from dataclasses import dataclass, field
from typing import Any, Literal

import brotli
import msgspec
import orjson
from orjson import JSONDecodeError
from orjson import loads as _loads

HEADER = struct.Struct(">IHHII")
HEADER_LEN = HEADER.size

VER_JSON, VER_INT, VER_ZLIB, VER_BROTLI = 0, 1, 2, 3
OP_HEARTBEAT, OP_HEARTBEAT_REPLY, OP_COMMAND, OP_AUTH, OP_AUTH_REPLY = 2, 3, 5, 7, 8

# Decompressed bytes allowed per frame: real batches are a few hundred KiB at most.
MAX_DECOMPRESSED = 4 * 1024 * 1024
# Servers wrap once; a second level is tolerated, a third is an attack.
MAX_DEPTH = 2
# One command's JSON body; the largest real ones (gift combos) are a few KiB.
MAX_JSON_BYTES = 256 * 1024

Kind = Literal["auth_reply", "heartbeat_reply", "messages", "ignored"]


class CodecError(ValueError):
    """The frame is rejected; ``reason`` is a short metric label such as ``bad_packet_len``."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(slots=True)
class Decoded:
    """What one websocket message carried."""

    kind: Kind
    messages: list[dict[str, Any]] = field(default_factory=list)
    code: int | None = None
    popularity: int | None = None
    # Per-packet body problems (``bad_json``, ``not_object``, ...) that were skipped.
    errors: list[str] = field(default_factory=list)
    # Bilibili command name (suffix stripped) of every op 5 packet, mapped or not.
    commands: list[str] = field(default_factory=list)


def encode_packet(op: int, body: bytes, ver: int = VER_INT, seq: int = 1) -> bytes:
    """One packet: header + body."""
    return HEADER.pack(HEADER_LEN + len(body), HEADER_LEN, ver, op, seq) + body


def auth_packet(
    roomid: int, uid: int = 0, key: str = "", buvid: str = "", protover: int = 3
) -> bytes:
    """The op 7 auth packet the client sends first."""
    body = {
        "uid": uid,
        "roomid": roomid,
        "protover": protover,
        "platform": "web",
        "type": 2,
        "buvid": buvid,
        "key": key,
    }
    return encode_packet(OP_AUTH, orjson.dumps(body))


def heartbeat_packet() -> bytes:
    """The op 2 heartbeat (the web client's body is ``[object Object]``; servers ignore it)."""
    return encode_packet(OP_HEARTBEAT, b"{}")


def decode_frame(
    data: bytes, *, max_decompressed: int = MAX_DECOMPRESSED, max_depth: int = MAX_DEPTH
) -> Decoded:
    """Decode one websocket binary message; raises ``CodecError`` when it must be rejected."""
    out = Decoded(kind="ignored")
    budget = [max_decompressed]
    _walk(memoryview(data), out, budget, max_depth, top=True)
    return out


def _walk(buf: memoryview, out: Decoded, budget: list[int], depth: int, *, top: bool) -> None:
    offset, end = 0, len(buf)
    if end == 0:
        raise CodecError("truncated_header", "empty frame")
    unpack = HEADER.unpack_from
    while offset < end:
        if end - offset < HEADER_LEN:
            raise CodecError("truncated_header", f"{end - offset} bytes left")
        pack_len, head_len, ver, op, _seq = unpack(buf, offset)
        if head_len < HEADER_LEN:
            raise CodecError("bad_header_len", str(head_len))
        if pack_len < head_len:
            # Includes a length of 0, which would otherwise never advance the offset.
            raise CodecError("bad_packet_len", str(pack_len))
        if pack_len > end - offset:
            raise CodecError("length_exceeds_buffer", f"{pack_len} > {end - offset}")
        # A view, not a copy: the body goes straight to the JSON parser or the decompressor.
        body = buf[offset + head_len : offset + pack_len]
        offset += pack_len
        if op == OP_COMMAND:
            # The hot path first: the JSON commands inside a compressed batch.
            if ver == VER_JSON:
                if out.kind == "ignored":
                    out.kind = "messages"
                _command(body, out)
            elif ver in (VER_ZLIB, VER_BROTLI):
                if depth <= 0:
                    raise CodecError("too_deep", "compressed packets nested too deeply")
                inner = _inflate(body, ver, budget)
                _walk(memoryview(inner), out, budget, depth - 1, top=False)
            elif ver != VER_INT:
                raise CodecError("unknown_version", str(ver))
        elif op == OP_HEARTBEAT_REPLY:
            if len(body) < 4:
                raise CodecError("bad_body", "heartbeat reply shorter than 4 bytes")
            out.kind = "heartbeat_reply"
            out.popularity = int.from_bytes(body[:4], "big")
            if top:
                # The server echoes the client's heartbeat body after the packet; not ours to parse.
                return
        elif op == OP_AUTH_REPLY:
            out.kind = "auth_reply"
            out.code = _auth_code(body)


def _auth_code(body: memoryview) -> int:
    try:
        obj = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise CodecError("bad_json", str(exc)) from None
    code = obj.get("code") if isinstance(obj, dict) else None
    if not isinstance(code, int) or isinstance(code, bool):
        raise CodecError("bad_body", "auth reply without an integer code")
    return code


def _inflate(body: memoryview, ver: int, budget: list[int]) -> bytes:
    """Decompress at most the remaining budget; one byte over rejects the frame."""
    limit = budget[0]
    try:
        if ver == VER_ZLIB:
            d = zlib.decompressobj()
            inner = d.decompress(body, limit + 1)
        else:
            b = brotli.Decompressor()
            inner = b.process(body, output_buffer_limit=limit + 1)
            if len(inner) <= limit and not b.is_finished():
                # Output stopped at the buffer limit or the stream is cut short.
                if not b.can_accept_more_data():
                    inner += b.process(b"", output_buffer_limit=limit + 1 - len(inner))
                if not b.is_finished() and len(inner) <= limit:
                    raise CodecError("decompress_failed", "truncated brotli stream")
    except (zlib.error, brotli.error) as exc:
        raise CodecError("decompress_failed", str(exc)) from None
    if len(inner) > limit:
        raise CodecError("decompressed_too_large", f"over {limit} bytes")
    budget[0] -= len(inner)
    return inner


class _DanmuUser(msgspec.Struct, array_like=True):
    """``info[2]``: uid, name, then fields nobody here reads (skipped by the decoder)."""

    uid: int | str
    uname: str


class _DanmuMeta(msgspec.Struct, array_like=True):
    """``info[0]``: mode, font size, colour, ..., the send time in ms at index 4."""

    mode: msgspec.Raw
    font_size: msgspec.Raw
    colour: msgspec.Raw
    extra: msgspec.Raw
    timestamp_ms: int | str


class _DanmuInfo(msgspec.Struct, array_like=True):
    meta: _DanmuMeta
    text: str
    user: _DanmuUser


class _Danmu(msgspec.Struct):
    cmd: str
    info: _DanmuInfo


# DANMU_MSG is nearly every packet of a busy room and the platform writes ``cmd`` first. Its
# typed decode reads the five values the mapping needs and skips the rest of a ~1.5 KiB body
# without building it; anything unusual falls back to the generic path and its reasons.
_DANMU_PREFIX = b'{"cmd":"DANMU_MSG'
_decode_danmu = msgspec.json.Decoder(_Danmu).decode
_DANMU_FAILED = (msgspec.DecodeError, msgspec.ValidationError, RecursionError, ValueError)


def _fast_danmu(body: memoryview, out: Decoded) -> bool:
    """Map a well-formed DANMU_MSG body into ``out``; False sends it to the generic path."""
    try:
        danmu = _decode_danmu(body)
        info = danmu.info
        if danmu.cmd != "DANMU_MSG" and danmu.cmd.split(":", 1)[0] != "DANMU_MSG":
            return False
        msg = _danmu_message(info.text, info.user.uid, info.user.uname, info.meta.timestamp_ms)
    except _DANMU_FAILED:
        return False
    out.commands.append("DANMU_MSG")
    out.messages.append(msg)
    return True


def _command(body: memoryview, out: Decoded) -> None:
    """Parse one op 5 JSON body into ``out``; a bad body is recorded and skipped."""
    if len(body) > MAX_JSON_BYTES:
        out.errors.append("too_large")
        return
    if body[:17] == _DANMU_PREFIX and _fast_danmu(body, out):
        return
    try:
        obj = _loads(body)
    except JSONDecodeError as exc:
        out.errors.append("bad_utf8" if "utf-8" in str(exc).lower() else "bad_json")
        return
    # ``type(...) is``: orjson builds plain dicts and strs, and this runs once per danmaku.
    if type(obj) is not dict:
        out.errors.append("not_object")
        return
    raw = obj.get("cmd")
    if type(raw) is not str:
        out.errors.append("missing_cmd")
        return
    cmd = raw.split(":", 1)[0][:64] if ":" in raw or len(raw) > 64 else raw
    out.commands.append(cmd)
    mapper = _MAPPERS.get(cmd)
    if mapper is None:
        return
    try:
        out.messages.append(mapper(obj))
    except (LookupError, TypeError, ValueError, AttributeError):
        out.errors.append("bad_fields")


def _int(value: Any) -> int:
    if type(value) is int:
        return value
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError("not an integer")
    return int(value)


def _str(value: Any) -> str:
    if type(value) is not str:
        raise TypeError("not a string")
    return value


def _danmu(obj: dict[str, Any]) -> dict[str, Any]:
    info = obj["info"]
    user = info[2]
    return _danmu_message(info[1], user[0], user[1], info[0][4])


def _danmu_message(text: Any, uid: Any, uname: Any, ts_ms: Any) -> dict[str, Any]:
    """The mapped DANMU_MSG of both decode paths; raises TypeError/ValueError on bad types."""
    # Inline checks for the common well-typed case; the helpers raise on anything else.
    if type(text) is not str or type(uname) is not str:
        raise TypeError("not a string")
    return {
        "cmd": "DANMU_MSG",
        "text": text,
        "uid": uid if type(uid) is int else _int(uid),
        "uname": uname,
        "timestamp_ms": ts_ms if type(ts_ms) is int else _int(ts_ms),
    }


def _super_chat(obj: dict[str, Any]) -> dict[str, Any]:
    data = obj["data"]
    user = data.get("user_info") or {}
    msg: dict[str, Any] = {
        "cmd": "SUPER_CHAT_MESSAGE",
        "uid": _int(data["uid"]),
        "uname": _str(user.get("uname", "")),
        "text": _str(data["message"]),
        "price": _int(data.get("price", 0)),
    }
    start = data.get("start_time")
    if isinstance(start, int) and not isinstance(start, bool):
        msg["timestamp"] = start
    return msg


def _gift(obj: dict[str, Any]) -> dict[str, Any]:
    data = obj["data"]
    return {
        "cmd": "SEND_GIFT",
        "uid": _int(data["uid"]),
        "uname": _str(data["uname"]),
        "gift_name": _str(data["giftName"]),
        "num": _int(data["num"]),
    }


def _interact_v2(obj: dict[str, Any]) -> dict[str, Any]:
    try:
        pb = base64.b64decode(_str(obj["data"]["pb"]), validate=True)
    except binascii.Error as exc:
        raise ValueError(str(exc)) from None
    fields = _pb_fields(pb)
    uname = fields.get(2, b"")
    return {
        "cmd": "INTERACT_WORD_V2",
        "uid": _int(fields.get(1, 0)),
        "uname": uname.decode() if isinstance(uname, bytes) else "",
        "msg_type": _int(fields.get(5, 0)),
        "timestamp": _int(fields.get(7, 0)),
    }


def _pb_fields(data: bytes) -> dict[int, int | bytes]:
    """Top-level protobuf fields (varints and length-delimited); enough for the V2 events."""
    fields: dict[int, int | bytes] = {}
    pos, end = 0, len(data)
    while pos < end:
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
            fields.setdefault(number, value)
        elif wire == 2:
            size, pos = _varint(data, pos)
            if pos + size > end:
                raise ValueError("protobuf field past the end")
            fields.setdefault(number, data[pos : pos + size])
            pos += size
        elif wire == 5:
            pos += 4
        elif wire == 1:
            pos += 8
        else:
            raise ValueError(f"protobuf wire type {wire}")
    return fields


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise ValueError("bad protobuf varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


_MAPPERS = {
    "DANMU_MSG": _danmu,
    "SUPER_CHAT_MESSAGE": _super_chat,
    "SEND_GIFT": _gift,
    "INTERACT_WORD_V2": _interact_v2,
}
