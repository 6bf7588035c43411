"""Resolve plug-ins named ``"package.module:Attribute"`` lazily, with errors that name the value."""

from __future__ import annotations

import importlib
from typing import Any


class ImportFromStringError(Exception):
    """The import string is malformed or names nothing importable."""


def import_from_string(target: str) -> Any:
    """Import ``module:attr`` and return the attribute."""
    module_name, sep, attr = target.partition(":")
    if not sep or not module_name or not attr:
        raise ImportFromStringError(f"import string {target!r} must be 'module:attribute'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ImportFromStringError(f"could not import module {module_name!r}: {exc}") from exc
    try:
        return getattr(module, attr)
    except AttributeError as exc:
        raise ImportFromStringError(f"module {module_name!r} has no attribute {attr!r}") from exc


def load_plugin(kind: str, name: str, registry: dict[str, str]) -> Any:
    """The class registered for ``name``; the error lists the valid choices."""
    target = registry.get(name)
    if target is None:
        choices = ", ".join(sorted(registry))
        raise ImportFromStringError(f"unknown {kind} type {name!r}; expected one of {choices}")
    return import_from_string(target)
