"""The app's OpenAPI document, completed for the clients generated from it:

- bounds that are settings (``maximum_setting`` in liveshop/core/inputs.py) state this app's
  values: a client then knows this deployment takes at most 10 units of a variant, not the
  widest the setting could allow;
- an integer's bounds are integers (FastAPI's document model writes ``1.0``), so no client
  or fuzzer takes ``1.0`` for the kind of number to send.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from liveshop.core.config import Settings
from liveshop.core.inputs import MAXIMUM_SETTING

BOUNDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")


def _complete(node: Any, settings: Settings) -> None:
    if isinstance(node, dict):
        if MAXIMUM_SETTING in node:
            node["maximum"] = getattr(settings, node.pop(MAXIMUM_SETTING))
        if node.get("type") == "integer":
            for bound in BOUNDS:
                if isinstance(node.get(bound), float) and node[bound].is_integer():
                    node[bound] = int(node[bound])
        for value in node.values():
            _complete(value, settings)
    elif isinstance(node, list):
        for value in node:
            _complete(value, settings)


def complete_openapi(app: FastAPI, settings: Settings) -> None:
    """Make ``app.openapi()`` (what /openapi.json serves) the completed document."""
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        # FastAPI builds the document once (again if routes are added) and keeps it:
        # completing it again finds nothing left to change.
        document = build()
        _complete(document, settings)
        return document

    app.openapi = openapi  # type: ignore[method-assign]
