"""Routing: the first rule whose matchers hold names the team; the roster names the people."""

from __future__ import annotations

from dataclasses import dataclass

from agent.config import RoutingConfig
from agent.events import Alert
from agent.routing.matchers import labels_of, matches
from agent.routing.roster import Roster


@dataclass(frozen=True, slots=True)
class Route:
    """Where an alert goes: a team and the escalation ladder of staff ids (may be empty)."""

    team: str
    ladder: tuple[str, ...]


class Router:
    """Callable: ``(alert, now) → Route``; rules in file order, else the default team."""

    def __init__(self, config: RoutingConfig) -> None:
        self.config = config
        self.roster = Roster(config)

    def team_for(self, alert: Alert) -> str:
        """The first matching rule's team, else the default team."""
        labels = labels_of(alert)
        for rule in self.config.rules:
            if matches(rule.match, labels):
                return rule.team
        return self.config.default_team

    def __call__(self, alert: Alert, now: float) -> Route:
        team = self.team_for(alert)
        return Route(team, tuple(self.roster.ladder(team, now)))
