"""Shops live at /{slug}, after every other route: no shop may take a slug that one of the
site's own paths starts with, or its page would never be reached (and the path would
change meaning if the order of routes ever did)."""

from __future__ import annotations

from typing import Any

from starlette.routing import Mount, Route, WebSocketRoute

from liveshop.catalog.model import RESERVED_SLUGS, SLUG_PATTERN, is_shop_slug, slugify


def _paths(routes: list[Any], prefix: str = "") -> list[tuple[str, bool]]:
    """(path, mounted) of every route in the order they are tried, routers included."""
    found: list[tuple[str, bool]] = []
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            found += _paths(included.routes, prefix + route.include_context.prefix)
        elif isinstance(route, Route | WebSocketRoute | Mount):
            found.append((prefix + route.path, isinstance(route, Mount)))
    return found


def test_every_first_path_segment_of_the_site_is_reserved(app: Any) -> None:
    paths = _paths(app.routes)
    segments = {path.strip("/").split("/")[0].split(".")[0] for path, _ in paths}
    segments = {segment for segment in segments if segment and not segment.startswith("{")}
    # A segment no slug can be (a creator's /@handle: slugs have no "@") needs no reserving.
    segments = {segment for segment in segments if SLUG_PATTERN.fullmatch(segment.lower())}
    assert segments - RESERVED_SLUGS == set()
    # Only the mounted files (/static, /media: never one segment) come after the shops.
    after = paths[[path for path, _ in paths].index("/{shop_slug}") + 1:]
    assert after and all(mounted for _, mounted in after)

def test_a_shop_named_like_a_path_gets_another_slug() -> None:
    assert slugify("Cart") == "cart-shop"
    assert slugify("Shows!") == "shows-shop"
    assert slugify("Thames & Thread") == "thames-thread"
    assert slugify("***") == "shop"
    assert not is_shop_slug("orders") and not is_shop_slug("Upper") and is_shop_slug("a-b")
