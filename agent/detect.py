"""Detection: a micro-batch of redacted events → findings.

Comments go through the intent classifier in one batch (per-message model calls cost a
millisecond each; a batch costs microseconds a message); after-sales and pre-sale questions
get the closest FAQ entry. Host speech goes through the misstatement and compliance checker
against the SKU on air.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from agent.events import Comment, Event, Finding, HostSpeech, Severity
from classifiers.labels import AFTER_SALES

# Base severity of a single inquiry; aggregation raises it with volume.
CATEGORY_SEVERITY: dict[str, Severity] = {
    "complaint": "high",
    "info_mismatch": "high",
    "quality": "medium",
    "return_refund": "medium",
    "logistics": "low",
    "warranty": "low",
    "price_promo": "low",
    "product_info": "low",
}


class _Intent(Protocol):
    @property
    def label(self) -> str: ...

    @property
    def score(self) -> float: ...

    @property
    def after_sales(self) -> bool: ...


class IntentModel(Protocol):
    """What detection needs of ``classifiers.intent.IntentClassifier``."""

    def predict(self, texts: Sequence[str]) -> Sequence[_Intent]:
        """Classify a batch."""


class _FaqMatch(Protocol):
    @property
    def sku(self) -> str: ...

    @property
    def question(self) -> str: ...

    @property
    def reply(self) -> str: ...

    @property
    def score(self) -> float: ...


class FaqMatcher(Protocol):
    """What detection needs of ``classifiers.faq.FaqIndex``."""

    def match(self, text: str, sku: str | None) -> _FaqMatch | None:
        """The closest FAQ entry, or None."""


class _Misstatement(Protocol):
    @property
    def field(self) -> str: ...

    @property
    def claimed(self) -> str: ...

    @property
    def expected(self) -> str: ...

    @property
    def evidence(self) -> str: ...

    @property
    def correction(self) -> str: ...


class _Compliance(Protocol):
    @property
    def term(self) -> str: ...

    @property
    def evidence(self) -> str: ...


class _SpeechReport(Protocol):
    @property
    def misstatements(self) -> Sequence[_Misstatement]:
        """Claims that contradict the catalog."""

    @property
    def compliance(self) -> Sequence[_Compliance]:
        """Banned absolute terms."""


class SpeechCheck(Protocol):
    """What detection needs of ``classifiers.misstatement.SpeechChecker``."""

    def check(self, text: str, sku: str | None) -> _SpeechReport:
        """Check one utterance against the SKU's catalog entry."""


class OnAir(Protocol):
    """What detection needs of ``agent.lineup.Lineup``."""

    def current(self, room: str, ts: float) -> str | None:
        """The SKU presented in ``room`` at ``ts``."""

    def detect(self, text: str) -> str | None:
        """The SKU the host names in ``text``, if any."""

    def set(self, room: str, sku: str | None, at: float | None = None) -> None:
        """Switch the SKU on air from ``at`` (source time; default now)."""


class Detector:
    """Callable: events → findings. Options at construction, work in ``__call__``."""

    def __init__(
        self,
        intent: IntentModel,
        *,
        faq: FaqMatcher | None = None,
        speech: SpeechCheck | None = None,
        lineup: OnAir | None = None,
        thresholds: Mapping[str, float] | None = None,
    ) -> None:
        self.intent = intent
        self.faq = faq
        self.speech = speech
        self.lineup = lineup
        self.thresholds = dict(thresholds or {})

    def __call__(self, events: Sequence[Event]) -> list[Finding]:
        comments = [e for e in events if isinstance(e, Comment)]
        findings: list[Finding] = []
        if comments:
            findings.extend(self._comments(comments))
        for event in events:
            if isinstance(event, HostSpeech):
                findings.extend(self._speech(event))
        return findings

    def _sku(self, room: str, ts: float) -> str | None:
        return self.lineup.current(room, ts) if self.lineup is not None else None

    def _comments(self, comments: list[Comment]) -> list[Finding]:
        results = self.intent.predict([c.text for c in comments])
        findings = []
        for comment, result in zip(comments, results, strict=True):
            label = result.label
            if label == "other" or result.score < self.thresholds.get(label, 0.0):
                continue
            sku = self._sku(comment.room, comment.ts)
            match = self.faq.match(comment.text, sku) if self.faq is not None else None
            findings.append(
                Finding(
                    room=comment.room,
                    kind="inquiry",
                    category=label,
                    severity=CATEGORY_SEVERITY.get(label, "low"),
                    text=comment.text,
                    ts=comment.ts,
                    received=comment.received,
                    score=result.score,
                    sku=match.sku if match is not None else sku,
                    group_key=match.question if match is not None else "",
                    after_sales=label in AFTER_SALES,
                    suggested_reply=match.reply if match is not None else None,
                    user=comment.user or None,
                    details={"paid": comment.paid} if comment.paid else {},
                )
            )
        return findings

    def _speech(self, speech: HostSpeech) -> list[Finding]:
        if self.lineup is not None:
            named = self.lineup.detect(speech.text)
            if named is not None:
                self.lineup.set(speech.room, named, at=speech.ts)
        sku = speech.sku or self._sku(speech.room, speech.ts)
        if self.speech is None:
            return []
        report = self.speech.check(speech.text, sku)
        findings = [
            Finding(
                room=speech.room,
                kind="misstatement",
                category=m.field,
                severity="high",
                text=speech.text,
                ts=speech.ts,
                received=speech.received,
                sku=sku,
                group_key=f"{sku}:{m.field}",
                correction=m.correction,
                details={"claimed": m.claimed, "expected": m.expected, "evidence": m.evidence},
            )
            for m in report.misstatements
        ]
        findings.extend(
            Finding(
                room=speech.room,
                kind="compliance",
                category="ad_law",
                severity="high",
                text=speech.text,
                ts=speech.ts,
                received=speech.received,
                sku=sku,
                group_key=c.term,
                correction=f"请主播避免使用“{c.term}”等绝对化用语，并口播更正。",
                details={"term": c.term, "evidence": c.evidence},
            )
            for c in report.compliance
        )
        return findings
