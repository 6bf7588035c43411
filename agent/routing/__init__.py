"""Routing of alerts: rules → team, rosters → people, silences and mute windows, clocks."""

from agent.routing.clock import Clock, ManualClock, SystemClock
from agent.routing.matchers import labels_of, matches
from agent.routing.roster import Roster
from agent.routing.rules import Route, Router
from agent.routing.silences import MuteWindow, Silence, Silencer
from agent.routing.store import BookStore

__all__ = [
    "BookStore",
    "Clock",
    "ManualClock",
    "MuteWindow",
    "Roster",
    "Route",
    "Router",
    "Silence",
    "Silencer",
    "SystemClock",
    "labels_of",
    "matches",
]
