"""广告法 absolute terms in host speech; the term list and its exceptions are data (data/ad_terms.yaml)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import ahocorasick
import yaml

DEFAULT_TERMS = Path(__file__).resolve().parent / "data" / "ad_terms.yaml"


@dataclass(frozen=True, slots=True)
class ComplianceHit:
    """A banned term and the words around it."""

    term: str
    evidence: str


class ComplianceChecker:
    """One Aho-Corasick pass finds terms and exception phrases; a term inside an exception is skipped."""

    def __init__(self, path: Path = DEFAULT_TERMS) -> None:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        self._automaton = ahocorasick.Automaton()
        for term in data["terms"]:
            self._automaton.add_word(term, ("term", term))
        for phrase in data.get("exceptions", []):
            self._automaton.add_word(phrase, ("exception", phrase))
        self._automaton.make_automaton()

    def check(self, text: str) -> list[ComplianceHit]:
        """Banned terms in ``text``, each once, in text order."""
        terms: list[tuple[int, int, str]] = []
        excepted: list[tuple[int, int]] = []
        for end, (kind, word) in self._automaton.iter(text):
            start = end - len(word) + 1
            (terms.append((start, end, word)) if kind == "term" else excepted.append((start, end)))
        hits: list[ComplianceHit] = []
        seen: set[str] = set()
        for start, end, term in sorted(terms):
            if term in seen or any(s <= start and end <= e for s, e in excepted):
                continue
            if any(
                term != other and term in other and s <= start and end <= e for s, e, other in terms
            ):
                continue  # "最低" inside "全网最低" reports the longer term only
            seen.add(term)
            hits.append(ComplianceHit(term, text[max(0, start - 6) : end + 7]))
        return hits
