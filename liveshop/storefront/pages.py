"""The buyer's storefront: the home page (the For-you feed, liveshop/feed; search results
and tags list the catalogue), the catalogue (/products: the live shows above the products),
the shows directory and product pages (shop pages: liveshop/storefront/shops.py).
It composes the catalog and the live rooms, which stay unaware of each other's pages."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from liveshop.catalog import service as catalog
from liveshop.core.inputs import SingleLine
from liveshop.creators.landing import landed_via
from liveshop.creators.storefront import Landing
from liveshop.feed import pages as feed_pages
from liveshop.feed.deps import CurrentViewer, State
from liveshop.live import follows, shows
from liveshop.live.deps import RoomHub
from liveshop.markets.model import MARKETS
from liveshop.web.deps import Context, CurrentMarket, MaybeActor
from liveshop.web.templating import render

router = APIRouter()

HOME_PER_PAGE = 24

# The header's search box has no maxlength: a long search is cut short below rather than
# refused, while control characters are refused as everywhere else.
PageSearch = Annotated[str, SingleLine(max_length=1000)]


@router.get("/")
def home(request: Request, actor: MaybeActor, context: Context, market: CurrentMarket,
         viewer: CurrentViewer, state: State, hub: RoomHub, q: PageSearch = "",
         tag: PageSearch = "", page: int | None = None,
         cursor: Annotated[str | None, Query(max_length=64)] = None) -> Response:
    """The For-you feed (liveshop/feed); a search (q, tag) or a page of the catalogue
    lists products as /products does."""
    if q or tag or page is not None:
        return catalogue(request, actor, context, market, q, tag, page or 1)
    return feed_pages.feed_response(request, actor, context, market, viewer, state, hub,
                                    "for_you", cursor)


@router.get("/products")
def catalogue(request: Request, actor: MaybeActor, context: Context, market: CurrentMarket,
              q: PageSearch = "", tag: PageSearch = "", page: int = 1) -> Response:
    """Every product on sale in the market, newest first, with the live and upcoming
    shows above them (not on search results)."""
    q, tag = q[:100], tag[:40]
    results = catalog.browse(context.db, market, q=q, tag=tag, page=page,
                             per_page=HOME_PER_PAGE)
    last_page = max(1, -(-results.total // results.per_page))

    def page_url(number: int) -> str:
        params = {key: value for key, value in (("q", q), ("tag", tag)) if value}
        return "/products?" + urlencode({**params, "page": number})

    # Shows sit above the products on the plain catalogue, not on search results.
    live_shows, upcoming_shows = ([], []) if q or tag or page > 1 else shows.home_shows(
        context.db, market.code)
    return render(request, "storefront/home.html", results=results, q=q, tag=tag,
                  last_page=last_page, page_url=page_url, live_shows=live_shows,
                  upcoming_shows=upcoming_shows,
                  reminded_ids=follows.reminded_show_ids(context.db, actor))


@router.get("/shows")
def shows_page(request: Request, actor: MaybeActor, context: Context,
               market: CurrentMarket) -> Response:
    """Every show selling in the market: live now, upcoming (with reminders), replays."""
    return render(request, "storefront/shows.html",
                  shows=shows.directory(context.db, market.code),
                  reminded_ids=follows.reminded_show_ids(context.db, actor))


@router.get("/products/{product_id}")
def product_page(request: Request, product_id: int, actor: MaybeActor, context: Context,
                 market: CurrentMarket, ref: str = "") -> Response:
    """``ref``: the handle of the creator whose share link led here; their click earns them
    the sale within the attribution window. A ref naming no creator is ignored."""
    try:
        product = catalog.get_product(context.db, actor, product_id, market)
    except catalog.NotInMarket as error:
        return render(request, "storefront/not_in_market.html", status_code=404,
                      sold_in=[MARKETS[code] for code in error.markets])
    via = landed_via(request, context.db, actor, ref, Landing(product_id=product.id))
    for_sale = [v for v in product.variants if v.price is not None]
    selected = next((v for v in for_sale if v.available > 0), for_sale[0] if for_sale else None)
    return render(request, "storefront/product.html", product=product, for_sale=for_sale,
                  selected=selected, via=via)
