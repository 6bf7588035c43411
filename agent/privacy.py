"""Personal data in danmaku, masked before anything is stored, logged or sent (T/CAAAD 4.3,
5.3.2 a), and viewer ids turned into keyed hashes.

Viewers type their phone number, order number or address into a public chat to get help
faster. Staff need to know *that* a viewer gave one (and the last digits to find the order),
never the whole value. Masks keep the kind and the tail: ``138****5678``, ``[订单号…1234]``.

The hash key comes from an environment variable or, failing that, a key file created once
with mode 0600, so the same viewer hashes the same across restarts of one deployment and
differently across deployments.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Callable
from pathlib import Path

from agent.errors import ConfigError

_D = "[0-9０-９]"  # ASCII and full-width digits: viewers type both
_CN = "[〇零一二三四五六七八九]"
_SEP = r"[-－ \u3000]?"

# Order of the patterns matters: the longest, most specific digit runs first.
_ID_CARD = re.compile(rf"(?<![0-9０-９]){_D}{{6}}(?:19|20){_D}{{2}}{_D}{{4}}{_D}{{3}}[0-9０-９xX]"
                      rf"(?![0-9０-９])")  # fmt: skip
_MOBILE = re.compile(
    rf"(?<![0-9０-９])(?:(?:\+|＋)?[8８][6６]{_SEP})?[1１][3-9３-９]{_D}{_SEP}{_D}{{4}}{_SEP}{_D}{{4}}"
    rf"(?![0-9０-９])"
)
_MOBILE_CN = re.compile(rf"(?<!{_CN})[一幺]{_CN}{{10}}(?!{_CN})")
_LANDLINE = re.compile(rf"(?<![0-9０-９])0{_D}{{2,3}}-{_D}{{7,8}}(?![0-9０-９])")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})+")
# Order, tracking and bank-card numbers: a long run of digits (letters may lead, as in
# SF1234567890123). The tail is kept so staff can still find the order.
_LONG_NUMBER = re.compile(rf"(?<![0-9０-９])([A-Za-z]{{0,4}})({_D}{{10,}})(?![0-9０-９])")
_CHAT_ID = re.compile(
    r"(?i)(微信号?|vx|v信|wx|weixin|wechat|qq号?|扣扣)\s*[:：]?\s*([A-Za-z0-9_-]{5,30})"
)
# An address: a province/city/district chain followed by the street part. The region is kept
# (useful for logistics questions), the street, building and door numbers are not.
_ADDRESS = re.compile(
    r"((?:[\u4e00-\u9fff]{2,7}(?:省|自治区))?[\u4e00-\u9fff]{2,7}(?:市|州|盟)"
    r"[\u4e00-\u9fff]{1,7}(?:区|县|旗))"
    r"([\u4e00-\u9fff0-9０-９A-Za-z\-－#号路街道巷弄村镇栋幢单元室楼]{2,40})"
)
_STREET_HINT = re.compile(r"[路街道巷弄村镇号栋幢室楼]")


def _tail(value: str, keep: int = 4) -> str:
    digits = [c for c in value if c.isdigit()]
    return "".join(digits[-keep:])


def _mask_mobile(match: re.Match[str]) -> str:
    digits = "".join(c for c in match.group(0) if c.isdigit())
    digits = digits.translate(_FULLWIDTH)
    digits = digits[-11:]
    return f"{digits[:3]}****{digits[-4:]}"


_FULLWIDTH = str.maketrans("０１２３４５６７８９", "0123456789")


def _mask_long(match: re.Match[str]) -> str:
    return f"[订单号…{_tail(match.group(2).translate(_FULLWIDTH))}]"


def _mask_address(match: re.Match[str]) -> str:
    street = match.group(2)
    if not _STREET_HINT.search(street):
        return match.group(0)  # "广东省深圳市南山区的仓库" names a region, not an address
    return f"{match.group(1)}[地址已隐藏]"


_RULES: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = (
    (_EMAIL, "[邮箱已隐藏]"),
    (_ID_CARD, "[身份证号已隐藏]"),
    (_MOBILE, _mask_mobile),
    (_MOBILE_CN, "[手机号已隐藏]"),
    (_LANDLINE, "[电话已隐藏]"),
    (_LONG_NUMBER, _mask_long),
    (_CHAT_ID, lambda m: f"{m.group(1)}[账号已隐藏]"),
    (_ADDRESS, _mask_address),
)

# Cheap pre-check: most danmaku hold no digit, '@' or region word and skip the regexes.
_MAYBE_PII = re.compile(r"[0-9０-９@一幺市微vVwWqQ扣]")


def mask_pii(text: str) -> str:
    """``text`` with phone, ID, order, e-mail, chat-account and address details masked.

    Idempotent: masking masked text changes nothing.
    """
    if not _MAYBE_PII.search(text):
        return text
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text


class UserHasher:
    """Callable: platform user id → stable keyed hash (HMAC-SHA256, 16 hex digits)."""

    PREFIX = "h:"

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ConfigError("privacy", "hash_key_env", "the user-hash key must be ≥ 16 bytes")
        self._key = key
        self._cache: dict[str, str] = {}

    @classmethod
    def from_env(cls, env: str, *, key_file: Path | None = None) -> UserHasher:
        """The key from ``$env``; else from ``key_file``, created with a random key if absent."""
        value = os.environ.get(env)
        if value:
            return cls(value.encode())
        if key_file is None:
            raise ConfigError("environment", "privacy.hash_key_env",
                              f"environment variable {env} is not set")  # fmt: skip
        return cls(load_or_create_key(key_file))

    def __call__(self, user: str) -> str:
        cached = self._cache.get(user)
        if cached is not None:
            return cached
        digest = hmac.new(self._key, user.encode(), hashlib.sha256).hexdigest()[:16]
        hashed = f"{self.PREFIX}{digest}"
        if len(self._cache) > 200_000:  # bounded: viewers come and go over a long broadcast
            self._cache.clear()
        self._cache[user] = hashed
        return hashed


def load_or_create_key(path: Path) -> bytes:
    """Read the key file, or write a new random key there (mode 0600) and return it."""
    try:
        key = path.read_bytes().strip()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_hex(32).encode()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key + b"\n")
        return key
    except OSError as exc:
        raise ConfigError(
            str(path), "privacy.key_file", f"cannot read the key file: {exc}"
        ) from None
    if len(key) < 16:
        raise ConfigError(str(path), "privacy.key_file", "the key file holds fewer than 16 bytes")
    return key
