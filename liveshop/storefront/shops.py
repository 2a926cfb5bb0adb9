"""Shop pages at /{shop_slug}, the address a shop gives out: its banner, what it is about and
where it ships, its products in the visitor's market, its shows (live, upcoming, replays)
and following it.

Its router is included after every other page's (liveshop/app.py), so a shop's page never
hides one of the site's own paths; shops cannot take those slugs either
(liveshop.catalog.model.RESERVED_SLUGS)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from liveshop.catalog import service as catalog
from liveshop.live import follows, shows
from liveshop.markets.model import MARKETS
from liveshop.web.deps import Context, CurrentMarket, MaybeActor
from liveshop.web.templating import render

router = APIRouter()

BANNER_PICTURES = 4


@router.get("/{shop_slug}")
def shop_page(request: Request, shop_slug: str, actor: MaybeActor, context: Context,
              market: CurrentMarket) -> Response:
    shop = catalog.shop_by_slug(context.db, shop_slug)
    products = catalog.shop_products(context.db, None, shop.id, market)
    followers, following = follows.shop_followers(context.db, actor, shop.id)
    ships_here = next((entry for entry in shop.markets if entry.market == market.code), None)
    return render(
        request, "storefront/shop.html", shop=shop, products=products,
        shows=shows.directory(context.db, None, shop.id, limit=12),
        reminded_ids=follows.reminded_show_ids(context.db, actor),
        followers=followers, following=following, ships_here=ships_here,
        ships_to=[MARKETS[entry.market] for entry in shop.markets],
        banner_pictures=[card for card in products if card.image_url][:BANNER_PICTURES],
        is_owner=actor is not None and (actor.user_id == shop.owner_id or actor.is_admin),
    )
