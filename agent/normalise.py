"""Normalise and redact events before anything else sees them (privacy by default).

Viewer text is PII-masked and user ids become keyed hashes here, so detection, records,
logs, metrics and alerts only ever see the redacted form.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from agent.events import Comment, Event


class Redactor:
    """Callable: event → the same event with masked text and a hashed user id."""

    def __init__(self, mask: Callable[[str], str], hash_user: Callable[[str], str]) -> None:
        self.mask = mask
        self.hash_user = hash_user

    def __call__(self, event: Event) -> Event:
        text = self.mask(event.text)
        if isinstance(event, Comment):
            user = self.hash_user(event.user) if event.user else ""
            return replace(event, text=text, user=user)
        return replace(event, text=text) if text != event.text else event
