"""The feed's pages: For you (the home page, ``/``, which liveshop/storefront/pages.py
hands to :func:`feed_response` unless it is a search), Following (``/following``), and the
cards of a next page as an HTML fragment (``/feed/cards``) for infinite scroll, so the
cards' markup lives once, in feed/_cards.html. Without script, "More" links page on."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from liveshop.accounts.model import Actor
from liveshop.feed import service
from liveshop.feed.deps import CurrentViewer, State, remember_visitor
from liveshop.feed.schemas import FeedPage, Tab
from liveshop.feed.service import FeedState, Viewer
from liveshop.live.deps import RoomHub
from liveshop.live.room import Hub
from liveshop.markets.model import Market
from liveshop.web.context import AppContext
from liveshop.web.deps import Context, CurrentMarket, MaybeActor
from liveshop.web.templating import render

router = APIRouter()

CursorParam = Annotated[str | None, Query(max_length=64)]
TAB_PATHS = {"for_you": "/", "following": "/following"}


def _page(context: AppContext, state: FeedState, viewer: Viewer, market: Market, tab: Tab,
          cursor: str | None, hub: Hub) -> FeedPage:
    return service.feed_page(context.db, state, viewer, market, tab, cursor, hub.viewer_count)


def feed_response(request: Request, actor: Actor | None, context: AppContext, market: Market,
                  viewer: Viewer, state: FeedState, hub: Hub, tab: Tab,
                  cursor: str | None) -> Response:
    page = _page(context, state, viewer, market, tab, cursor, hub)
    return remember_visitor(request, render(request, "feed/feed.html", page=page, tab=tab,
                                            tab_paths=TAB_PATHS, actor=actor))


@router.get("/following")
def following(request: Request, actor: MaybeActor, context: Context, market: CurrentMarket,
              viewer: CurrentViewer, state: State, hub: RoomHub,
              cursor: CursorParam = None) -> Response:
    """Live now from the shops and creators the viewer follows, then their upcoming shows,
    new products and replays."""
    return feed_response(request, actor, context, market, viewer, state, hub, "following",
                         cursor)


@router.get("/feed/cards")
def more_cards(request: Request, actor: MaybeActor, context: Context, market: CurrentMarket,
               viewer: CurrentViewer, state: State, hub: RoomHub, tab: Tab = "for_you",
               cursor: CursorParam = None) -> Response:
    """The next page's cards, for the feed's infinite scroll."""
    page = _page(context, state, viewer, market, tab, cursor, hub)
    return remember_visitor(request, render(request, "feed/_cards.html", page=page, tab=tab,
                                            tab_paths=TAB_PATHS, actor=actor))
