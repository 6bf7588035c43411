"""PII masking and keyed user hashing: examples per kind, and properties over any text."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.errors import ConfigError
from agent.privacy import UserHasher, load_or_create_key, mask_pii


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("电话13812345678", "电话138****5678"),
        ("电话１３８１２３４５６７８", "电话138****5678"),
        ("138-1234-5678 快联系我", "138****5678 快联系我"),
        ("+86 138 1234 5678", "138****5678"),
        ("＋８６ １３８ １２３４ ５６７８", "138****5678"),
        ("身份证110101199003071234", "身份证[身份证号已隐藏]"),
        ("订单号 SF1234567890123 还没到", "订单号 [订单号…0123] 还没到"),
        ("单号４２０１２３４５６７８９", "单号[订单号…6789]"),
        ("邮箱 a.b@qq.com", "邮箱 [邮箱已隐藏]"),
        ("广东省深圳市南山区科技园路1号3栋", "广东省深圳市南山区[地址已隐藏]"),
        ("微信 abc_12345", "微信[账号已隐藏]"),
        ("幺三八一二三四五六七八", "[手机号已隐藏]"),
    ],
)
def test_each_kind_is_masked(text: str, masked: str) -> None:
    """Phones (full-width, separated, +86), IDs, orders (last 4 kept), e-mail, addresses."""
    assert mask_pii(text) == masked


def test_a_region_without_a_street_is_kept() -> None:
    """Naming a region (for a logistics question) is not an address."""
    assert mask_pii("广东省深圳市南山区的仓库发货吗") == "广东省深圳市南山区的仓库发货吗"


def test_plain_danmaku_is_untouched() -> None:
    """Text without digits or PII hints passes as is."""
    assert mask_pii("这个面霜好用吗[爱心]") == "这个面霜好用吗[爱心]"


_PIECES = st.sampled_from([
    "13812345678", "１３８１２３４５６７８", "+86 138-1234-5678", "110101199003071234",
    "SF1234567890123", "a@b.cn", "上海市浦东新区张江路88号", "微信abc123", "退款", "发货", " ",
    "[订单号…1234]", "138****5678", "订单", "0755-12345678",
])  # fmt: skip
_TEXT = st.one_of(st.text(max_size=80), st.lists(_PIECES | st.text(max_size=5), max_size=8)
                  .map("".join))  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(_TEXT)
def test_masking_is_idempotent_and_never_raises(text: str) -> None:
    """mask(mask(x)) == mask(x) for any text."""
    once = mask_pii(text)
    assert mask_pii(once) == once


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789０１２３４５６７８９-  ", min_size=11, max_size=40))
def test_no_eleven_digit_mobile_survives(text: str) -> None:
    """Whatever the surrounding digits, no unmasked mobile number is left in the output."""
    import re  # noqa: PLC0415

    out = mask_pii("电话" + text + "谢谢")
    ascii_out = out.translate(str.maketrans("０１２３４５６７８９", "0123456789"))
    assert not re.search(r"(?<!\d)1[3-9]\d{9}(?!\d)", ascii_out)


def test_user_hash_is_keyed_and_stable(tmp_path: Path) -> None:
    """Same key, same hash; another key, another hash; the key file is created 0600."""
    key_file = tmp_path / "hash.key"
    first = UserHasher(load_or_create_key(key_file))
    again = UserHasher(load_or_create_key(key_file))
    other = UserHasher(b"another-key-0123456789")
    assert first("u1") == again("u1") != other("u1")
    assert first("u1").startswith("h:")
    assert len(first("u1")) == 18
    assert key_file.stat().st_mode & 0o777 == 0o600


def test_short_keys_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A key under 16 bytes is a config error, from the environment or the file."""
    monkeypatch.setenv("K", "short")
    with pytest.raises(ConfigError, match="16 bytes"):
        UserHasher.from_env("K")
    (tmp_path / "k").write_bytes(b"tiny\n")
    with pytest.raises(ConfigError, match="fewer than 16"):
        load_or_create_key(tmp_path / "k")
