"""The text normaliser: fixed cases and properties."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from classifiers.normalize import normalize

# Text shaped like danmaku: CJK, ASCII letters and digits, full-width forms, emojis, brackets.
danmaku = st.lists(
    st.one_of(
        st.characters(min_codepoint=0x4E00, max_codepoint=0x4FFF),
        st.sampled_from("退貨質量發货快递thkdtuiwl ！？!?[]【】～😂😡👍❤️\ufe0f［］ＴＨ哈哈哈 "),
        st.sampled_from(["快 ", "递 ", " 退", "tui ", "t h ", " kd", "[捂脸] ", "\u3000", "xswl"]),
        st.characters(codec="utf-8"),
    ),
    max_size=40,
).map("".join)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ＴＨ可以吗", "退货可以吗"),
        ("tui货怎么弄！！！！", "退货怎么弄!!"),
        ("這個質量太差了", "这个质量太差了"),
        ("kd到哪了", "快递到哪了"),
        ("哈哈哈哈哈哈xswl", "哈哈笑死我了"),
        ("不是要退 就问问", "不是要退 就问问"),
        ("165cm穿多大", "165cm穿多大"),
        ("Thank you", "thank you"),
        ("太差了😡[捂脸]", "太差了 生气 哈哈"),
        ("[未知代码]你好", "你好"),
        ("   ", ""),
        ("收 到 的 台 灯 是 坏 的", "收到的台灯是坏的"),
        ("我 要 退   就问问", "我要退 就问问"),
        ("退 货", "退 货"),
    ],
)
def test_fixed_cases(raw: str, expected: str) -> None:
    """Width, script, pinyin, emoji, code and repeat mapping on typical lines."""
    assert normalize(raw) == expected


@settings(max_examples=300, deadline=None)
@given(danmaku)
def test_idempotent(text: str) -> None:
    """Normalising twice changes nothing more."""
    once = normalize(text)
    assert normalize(once) == once


@settings(max_examples=300, deadline=None)
@given(danmaku)
def test_length_bound_and_clean_edges(text: str) -> None:
    """Output is at most three times the input and has no leading, trailing or double spaces."""
    out = normalize(text)
    assert len(out) <= 3 * len(text)
    assert out == out.strip()
    assert "  " not in out


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_never_raises_on_any_text(text: str) -> None:
    """Any Unicode string, including lone surrogates and controls, is accepted."""
    assert isinstance(normalize(text), str)
