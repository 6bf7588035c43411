"""The control desk (中控台): pages, REST API, live feed and /metrics on one aiohttp app."""

from agent.web.app import create_app, serve

__all__ = ["create_app", "serve"]
