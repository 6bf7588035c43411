"""A cheap keyword prefilter that ranks events for overload shedding.

An Aho-Corasick automaton over an after-sales lexicon (``agent/data/after_sales_keywords.txt``)
tells in one pass whether a comment is a *likely* after-sales message. It decides nothing but
the order in which the ingress sheds under overload; the intent model still classifies every
message that gets through. The ingress ranks only when it may have to shed (see
``agent.ingress``); sources leave ``Comment.priority`` at what they know for sure (0).

    PRIORITY_CHATTER < PRIORITY_PAID < PRIORITY_AFTER_SALES < PRIORITY_SPEECH
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import ahocorasick

from agent.events import Comment, Event

LEXICON_PATH = Path(__file__).parent / "data" / "after_sales_keywords.txt"

PRIORITY_CHATTER = 0
# A paid super chat the host reads out loud; kept before chatter.
PRIORITY_PAID = 1
PRIORITY_AFTER_SALES = 2
# The host's words are checked for misstatements (5.2.1 b); never shed before comments.
PRIORITY_SPEECH = 3
MAX_PRIORITY = PRIORITY_SPEECH


def read_lexicon(path: Path = LEXICON_PATH) -> list[str]:
    """The keywords of a lexicon file: one per line, ``#`` comments and blanks skipped."""
    words = []
    for line in path.read_text(encoding="utf-8").splitlines():
        word = line.split("#", 1)[0].strip()
        if word:
            words.append(word.lower())
    return words


class Prefilter:
    """Callable: ``(text, paid)`` → priority, from a keyword automaton built once."""

    def __init__(self, words: Iterable[str]) -> None:
        self._automaton: Any = ahocorasick.Automaton()
        count = 0
        for word in words:
            key = word.lower()
            if key:
                self._automaton.add_word(key, key)
                count += 1
        self.size = count
        if count:
            self._automaton.make_automaton()
        # Bound once: ``rank`` runs per danmaku. None when there is nothing to find.
        self._matches: Callable[[str], Iterator[Any]] | None = (
            self._automaton.iter if count else None
        )

    @classmethod
    def load(cls, path: Path = LEXICON_PATH) -> Prefilter:
        """A prefilter over the keywords of ``path``."""
        return cls(read_lexicon(path))

    def hit(self, text: str) -> bool:
        """Whether ``text`` contains any keyword (case-insensitive)."""
        matches = self._matches
        return matches is not None and next(matches(text.lower()), None) is not None

    def rank(self, text: str, paid: bool = False) -> int:
        """The shedding priority of a comment with this text (a source's per-danmaku call)."""
        if self.hit(text):
            return PRIORITY_AFTER_SALES
        return PRIORITY_PAID if paid else PRIORITY_CHATTER

    def __call__(self, text: str, *, paid: bool = False) -> int:
        """The shedding priority of a comment with this text."""
        return self.rank(text, paid)

    def priority(self, event: Event) -> int:
        """The shedding rank of an event: speech first, comments by their text and pay.

        A priority a source already set is kept when the text ranks lower.
        """
        if isinstance(event, Comment):
            own = min(max(event.priority, 0), MAX_PRIORITY)
            return max(own, self.rank(event.text, event.paid))
        return PRIORITY_SPEECH


@functools.cache
def default_prefilter() -> Prefilter:
    """The process-wide prefilter over the bundled lexicon (built on first use)."""
    return Prefilter.load()
