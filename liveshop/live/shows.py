"""Live shows: scheduling, the lineup and its product cards, going live and ending, pins,
and the reads of the show pages. Each use case owns its transaction and records what the
room must be told in it (liveshop/live/events.py): told after the commit, so a viewer never
sees a change that was rolled back."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Select, delete, func, or_, select, update
from sqlalchemy.orm import Session

from liveshop.accounts.model import Actor, Role
from liveshop.accounts.orm import User
from liveshop.catalog import service as catalog
from liveshop.catalog.orm import Product, Shop, ShopMarket, Variant, VariantPrice
from liveshop.core import media
from liveshop.core.config import Settings
from liveshop.core.db import Database, utcnow
from liveshop.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from liveshop.core.events import record
from liveshop.creators import service as creators
from liveshop.inventory.orm import StockLevel
from liveshop.live import model
from liveshop.live.access import (
    can_host,
    can_moderate,
    load_show,
    markets_of,
    require_host,
    require_moderator,
)
from liveshop.live.events import ProductPinned, ShowEnded, ShowWentLive, StockChanged
from liveshop.live.follows import notify_audience
from liveshop.live.frames import CardPrice, ProductCard, VariantCard
from liveshop.live.model import ShowStatus, epoch_ms
from liveshop.live.orm import (
    FlashSale,
    ShopCreator,
    ShopFollow,
    Show,
    ShowPin,
    ShowProduct,
    ShowReminder,
)
from liveshop.live.sales import close_sales, variant_stock
from liveshop.live.schemas import ShowCreate, ShowStats, ShowUpdate, ShowView
from liveshop.markets.model import MARKETS, get_market
from liveshop.orders.orm import Order

OWN_SHOW_SHOPS = "several shops"


def show_views(session: Session, shows: Sequence[Show]) -> list[ShowView]:
    """Views of shows in three queries however many there are (shop names, host names,
    lineup pictures): lists of shows must not cost queries per show."""
    if not shows:
        return []
    shop_of = {shop_id: (name, slug) for shop_id, name, slug in session.execute(
        select(Shop.id, Shop.name, Shop.slug).where(
            Shop.id.in_({show.shop_id for show in shows if show.shop_id}))).all()}
    host_names = dict(session.execute(select(User.id, User.display_name).where(
        User.id.in_({show.host_id for show in shows}))).all())
    # Without a cover, a show is pictured by the first product of its lineup.
    pictures = catalog.first_images(session, {
        show.lineup[0].product_id for show in shows if not show.cover_path and show.lineup})

    def cover_url(show: Show) -> str | None:
        if show.cover_path:
            return media.url_of(show.cover_path)
        picture = pictures.get(show.lineup[0].product_id) if show.lineup else None
        return media.url_of(picture.path) if picture else None

    def shop(show: Show) -> tuple[str, str | None]:
        # A creator's own show sells several shops' products (each card names its shop).
        if show.shop_id is None:
            return OWN_SHOW_SHOPS, None
        return shop_of[show.shop_id]

    return [ShowView(
        id=show.id, shop_id=show.shop_id, shop_name=shop(show)[0], shop_slug=shop(show)[1],
        host_id=show.host_id, host_name=host_names[show.host_id], title=show.title,
        description=show.description, markets=markets_of(show), status=show.status,
        scheduled_at=show.scheduled_at, started_at=show.started_at, ended_at=show.ended_at,
        cover_url=cover_url(show), product_ids=[item.product_id for item in show.lineup],
        url=f"/shows/{show.id}",
    ) for show in shows]


def show_view(session: Session, show: Show) -> ShowView:
    [view] = show_views(session, [show])
    return view


def _check_lineup(session: Session, show: Show, product_ids: list[int]) -> list[int]:
    """The lineup, each product once. A shop's show takes the shop's active products; a
    creator's own show (no shop) takes any shop's active product the host has an active
    affiliate plan for (open, or targeted at them), so a lineup may span several shops."""
    unique = list(dict.fromkeys(product_ids))
    if not unique:
        return []
    if show.shop_id is None:
        found = set(creators.planned_products(session, show.host_id, utcnow(), unique))
        why, code = ("Only products you have an active affiliate plan for can be in your "
                     "show's lineup", "no_affiliate_plan")
    else:
        found = set(session.scalars(select(Product.id).where(
            Product.id.in_(unique), Product.shop_id == show.shop_id,
            Product.status == "active")))
        why, code = "Only the shop's active products can be in the lineup", "invalid"
    for index, product_id in enumerate(unique):
        if product_id not in found:
            raise InvalidInput(why, field=f"product_ids.{index}", code=code)
    return unique


def _show_markets(session: Session, shop: Shop | None, codes: list[str]) -> str:
    """The show's markets as stored (",UK,DE,"). A shop's show sells where the shop ships;
    a creator's own show in any market (each tap is checked against its product's shop)."""
    shipped = {m.market for m in session.scalars(
        select(ShopMarket).where(ShopMarket.shop_id == shop.id))} if shop else None
    markets = []
    for index, code in enumerate(codes):
        market = get_market(code, field=f"markets.{index}")
        if shipped is not None and market.code not in shipped:
            raise InvalidInput(f"The shop does not ship to {market.code}",
                               field=f"markets.{index}")
        markets.append(market.code)
    return "," + ",".join(dict.fromkeys(markets)) + ","


def create_show(db: Database, actor: Actor, data: ShowCreate, cover: media.CleanImage | None = None,
                media_dir: Path | None = None) -> ShowView:
    """Schedule a show; ``cover`` is an already checked image stored under ``media_dir``."""
    with db.transaction() as session:
        shop = None
        if data.shop_id is None:
            if actor.role is not Role.CREATOR:
                raise Forbidden("A show without a shop is a creator's own show",
                                field="shop_id")
        else:
            shop = session.get(Shop, data.shop_id)
            if shop is None:
                raise NotFound("No such shop", field="shop_id")
            invited = session.get(ShopCreator, (shop.id, actor.user_id)) is not None
            if not (shop.owner_id == actor.user_id or actor.is_admin or invited):
                raise Forbidden("Only the shop or a creator it invited can host its shows",
                                field="shop_id")
        markets = _show_markets(session, shop, data.markets)
        if data.scheduled_at.tzinfo is None:
            raise InvalidInput("Give the start time with its time zone", field="scheduled_at")
        show = Show(shop_id=shop.id if shop else None, host_id=actor.user_id,
                    title=data.title.strip(), description=data.description.strip(),
                    markets=markets, scheduled_at=data.scheduled_at,
                    status=ShowStatus.SCHEDULED)
        session.add(show)
        session.flush()
        for position, product_id in enumerate(_check_lineup(session, show, data.product_ids)):
            session.add(ShowProduct(show_id=show.id, product_id=product_id, position=position))
        if cover is not None and media_dir is not None:
            show.cover_path = media.store(media_dir, f"shows/{show.id}", cover)
        session.flush()
        session.refresh(show)
        return show_view(session, show)


def set_cover(db: Database, settings: Settings, actor: Actor, show_id: int,
              data: bytes) -> ShowView:
    cover = media.clean_image(data, settings.max_upload_bytes)
    with db.transaction() as session:
        show = load_show(session, show_id, lock=True)
        require_host(session, actor, show)
        replaced = show.cover_path
        show.cover_path = media.store(settings.media_dir, f"shows/{show.id}", cover)
        view = show_view(session, show)
    if replaced:
        media.remove(settings.media_dir, replaced)
    return view


def update_show(db: Database, actor: Actor, show_id: int, data: ShowUpdate) -> ShowView:
    with db.transaction() as session:
        show = load_show(session, show_id, lock=True)  # see remove_creator
        require_host(session, actor, show)
        if show.status == ShowStatus.ENDED:
            raise Conflict("An ended show cannot change", field="show_id")
        if data.title is not None:
            show.title = data.title.strip()
        if data.description is not None:
            show.description = data.description.strip()
        if data.scheduled_at is not None:
            show.scheduled_at = data.scheduled_at
        if data.product_ids is not None:
            lineup = _check_lineup(session, show, data.product_ids)
            session.execute(delete(ShowProduct).where(ShowProduct.show_id == show.id))
            for position, product_id in enumerate(lineup):
                session.add(ShowProduct(show_id=show.id, product_id=product_id,
                                        position=position))
        session.flush()
        session.refresh(show)
        return show_view(session, show)


def get_show(db: Database, show_id: int) -> ShowView:
    with db.read() as session:
        return show_view(session, load_show(session, show_id))


def _shows_of(market: str | None, shop_id: int | None, host_id: int | None = None
              ) -> Select[Show]:
    """Every listing of shows: never a removed replay nor a suspended shop's show."""
    suspended = select(Shop.id).where(Shop.suspended_at.is_not(None))
    # (NULL NOT IN ... is not true: a creator's own show, with no shop, is named apart.)
    query = select(Show).where(Show.removed_at.is_(None),
                               or_(Show.shop_id.is_(None), Show.shop_id.not_in(suspended)))
    if market:
        query = query.where(Show.markets.contains(f",{market},"))
    if shop_id:
        query = query.where(Show.shop_id == shop_id)
    if host_id:
        query = query.where(Show.host_id == host_id)
    return query


def _listed_shows(session: Session, market: str | None, status: str | None,
                  shop_id: int | None, limit: int, host_id: int | None = None) -> list[Show]:
    query = _shows_of(market, shop_id, host_id)
    if status:
        query = query.where(Show.status == status)
    order = Show.started_at.desc() if status == ShowStatus.LIVE else Show.scheduled_at
    return list(session.scalars(query.order_by(order, Show.id).limit(limit)))


def list_shows(db: Database, market: str | None = None, status: str | None = None,
               shop_id: int | None = None, limit: int = 50) -> list[ShowView]:
    with db.read() as session:
        return show_views(session, _listed_shows(session, market, status, shop_id, limit))


def go_live(db: Database, actor: Actor, show_id: int) -> ShowView:
    with db.transaction() as session:
        show = load_show(session, show_id, lock=True)
        require_host(session, actor, show)
        model.ensure_show_transition(show.status, ShowStatus.LIVE)
        shop = session.get(Shop, show.shop_id) if show.shop_id is not None else None
        if shop is not None and shop.suspended_at is not None:
            raise Conflict(f"{shop.name} is suspended: its shows cannot go live",
                           field="show_id", code="shop_suspended")
        now = utcnow()
        show.status, show.started_at = ShowStatus.LIVE, now
        notify_audience(session, show)
        record(session, ShowWentLive(show_id, epoch_ms(now)))
        return show_view(session, show)


def end_show(db: Database, actor: Actor | None, show_id: int) -> ShowView:
    """End the show (actor None: the system, e.g. the publisher never came back)."""
    with db.transaction() as session:
        show = load_show(session, show_id, lock=True)
        if actor is not None:
            require_host(session, actor, show)
        return finish_show(session, show)


def finish_show(session: Session, show: Show) -> ShowView:
    """End ``show`` (loaded locked) inside the caller's transaction: pins closed, its sale
    ended, the room told after the commit. The end of a show by its host, by the system,
    or by a platform admin (liveshop/admin) is this one step."""
    show_id = show.id
    model.ensure_show_transition(show.status, ShowStatus.ENDED)
    now = utcnow()
    show.status, show.ended_at = ShowStatus.ENDED, now
    session.execute(update(ShowPin).where(ShowPin.show_id == show_id,
                                          ShowPin.unpinned_at.is_(None))
                    .values(unpinned_at=now))
    ended = close_sales(session, "ended", FlashSale.show_id == show_id)
    record(session, ShowEnded(show_id))
    record(session, StockChanged.of_variants(
        show_id, variant_stock(session, [sale.variant_id for sale in ended])))
    return show_view(session, show)


def remove_replay(session: Session, show_id: int) -> Show:
    """Take an ended show's replay down inside the caller's transaction (a platform admin,
    liveshop/admin): it leaves every listing and its page is not found. The recording's
    files stay until the operator deletes them (they may be evidence)."""
    show = load_show(session, show_id, lock=True, lineup=False)
    if show.status != ShowStatus.ENDED:
        raise Conflict("Only an ended show has a replay; end the show first",
                       field="show_id", code="not_ended")
    show.removed_at = show.removed_at or utcnow()
    return show


def live_shows_of_shop(session: Session, shop_id: int) -> list[Show]:
    """The shop's shows on air now, locked: a suspension ends each (``finish_show``)."""
    return list(session.scalars(select(Show).where(
        Show.shop_id == shop_id, Show.status == ShowStatus.LIVE
    ).order_by(Show.id).with_for_update()))


def product_cards(session: Session, product_ids: Collection[int],
                  markets: list[str]) -> dict[int, ProductCard]:
    """The cards shown over the video, by product id, in three queries however many
    products (a lineup must not cost queries per product). Prices for every market of the
    show, so one encoded frame serves every viewer; the client shows its own market's price.
    A variant without a price in those markets is left out."""
    products = {product_id: (title, shop_id, shop_name)
                for product_id, title, shop_id, shop_name in session.execute(
        select(Product.id, Product.title, Product.shop_id, Shop.name)
        .join(Shop, Shop.id == Product.shop_id).where(Product.id.in_(product_ids))).all()}
    variants: dict[int, dict[int, VariantCard]] = {}
    for row in session.execute(
            select(Variant.product_id, Variant.id, Variant.option1, Variant.option2,
                   Variant.option3, VariantPrice.market, VariantPrice.amount_minor,
                   VariantPrice.compare_at_minor, StockLevel.available)
            .join(VariantPrice, VariantPrice.variant_id == Variant.id)
            .outerjoin(StockLevel, StockLevel.variant_id == Variant.id)
            .where(Variant.product_id.in_(products), VariantPrice.market.in_(markets))
            .order_by(Variant.product_id, Variant.position, Variant.id)):
        label = " / ".join(v for v in (row.option1, row.option2, row.option3) if v)
        variant = variants.setdefault(row.product_id, {}).setdefault(row.id, VariantCard(
            id=row.id, label=label or "Standard", prices={}, available=row.available or 0))
        variant["prices"][row.market] = CardPrice(
            amount=row.amount_minor, compare_at=row.compare_at_minor,
            formatted=MARKETS[row.market].format(row.amount_minor))
    images = catalog.first_images(session, products)
    return {product_id: ProductCard(
        id=product_id, shop_id=shop_id, shop_name=shop_name, title=title,
        image=media.url_of(images[product_id].path) if product_id in images else None,
        variants=list(variants.get(product_id, {}).values()),
    ) for product_id, (title, shop_id, shop_name) in products.items()}


def product_card(session: Session, product_id: int, markets: list[str]) -> ProductCard | None:
    return product_cards(session, [product_id], markets).get(product_id)


def lineup_cards(session: Session, show: Show) -> list[ProductCard]:
    product_ids = [item.product_id for item in show.lineup]
    cards = product_cards(session, product_ids, markets_of(show))
    return [cards[product_id] for product_id in product_ids if product_id in cards]


def pin(db: Database, actor: Actor, show_id: int, product_id: int | None
        ) -> ProductCard | None:
    with db.transaction() as session:
        show = load_show(session, show_id, lock=True)
        require_host(session, actor, show)
        if show.status == ShowStatus.ENDED:
            raise Conflict("The show has ended", field="show_id")
        if product_id is not None and session.get(ShowProduct, (show_id, product_id)) is None:
            raise InvalidInput("Pin a product from the show's lineup", field="product_id")
        now = utcnow()
        session.execute(update(ShowPin).where(ShowPin.show_id == show_id,
                                              ShowPin.unpinned_at.is_(None))
                        .values(unpinned_at=now))
        show.pinned_product_id = product_id
        card = None
        if product_id is not None:
            session.add(ShowPin(show_id=show_id, product_id=product_id, pinned_at=now))
            card = product_card(session, product_id, markets_of(show))
        record(session, ProductPinned(show_id, card))
        return card


def pin_timeline(db: Database, show_id: int) -> list[dict[str, Any]]:
    """When each product was pinned, relative to the show's start (for replays)."""
    with db.read() as session:
        show = load_show(session, show_id)
        started = show.started_at or show.scheduled_at
        rows = session.execute(
            select(ShowPin, Product.title).join(Product, Product.id == ShowPin.product_id)
            .where(ShowPin.show_id == show_id).order_by(ShowPin.pinned_at)
        ).all()
        return [{"product_id": pin_row.product_id, "title": title,
                 "offset_seconds": max(0.0, (pin_row.pinned_at - started).total_seconds()),
                 "pinned_at": pin_row.pinned_at.isoformat()}
                for pin_row, title in rows]


def show_stats(db: Database, actor: Actor, show_id: int, viewers: int) -> ShowStats:
    """Orders and revenue of a show so far, for its host and moderators."""
    with db.read() as session:
        require_moderator(session, actor, load_show(session, show_id))
        rows = session.execute(
            select(Order.currency, func.count(), func.sum(Order.total))
            .where(Order.show_id == show_id,
                   Order.status.in_(("paid", "shipped", "delivered")))
            .group_by(Order.currency)).all()
    return ShowStats(viewers=viewers, orders=sum(int(count) for _, count, _ in rows),
                     revenue={currency: int(total or 0) for currency, _, total in rows})


@dataclass(frozen=True)
class ShowPage:
    show: ShowView
    lineup: list[ProductCard]
    can_host: bool
    can_moderate: bool
    reminded: bool
    following: bool


def show_page(db: Database, actor: Actor | None, show_id: int) -> ShowPage:
    """The show with its lineup cards and what this visitor may do and has chosen."""
    with db.read() as session:
        show = load_show(session, show_id)
        if show.removed_at is not None and not (actor is not None and actor.is_admin):
            raise NotFound("No such show", field="show_id")
        user_id = actor.user_id if actor else None
        return ShowPage(
            show=show_view(session, show), lineup=lineup_cards(session, show),
            can_host=can_host(session, actor, show),
            can_moderate=can_moderate(session, actor, show),
            reminded=user_id is not None
            and session.get(ShowReminder, (show.id, user_id)) is not None,
            following=user_id is not None and show.shop_id is not None
            and session.get(ShopFollow, (user_id, show.shop_id)) is not None,
        )


def my_shows(db: Database, actor: Actor, limit: int = 100) -> list[ShowView]:
    """Shows that the actor's shops run or that the actor hosts for a shop whose creator
    grant they hold (as :func:`can_host` decides), the most recently scheduled first."""
    with db.read() as session:
        owned = select(Shop.id).where(Shop.owner_id == actor.user_id)
        hosting = Show.host_id == actor.user_id
        if not actor.is_admin:
            hosting &= Show.shop_id.is_(None) | Show.shop_id.in_(select(
                ShopCreator.shop_id).where(ShopCreator.creator_id == actor.user_id))
        shows = session.scalars(select(Show).where(
            hosting | Show.shop_id.in_(owned)
        ).order_by(Show.scheduled_at.desc(), Show.id.desc()).limit(limit))
        return show_views(session, list(shows))


def coming_up(session: Session, shop_ids: Sequence[int], limit: int) -> list[ShowView]:
    """The shops' shows that are live, then those scheduled, soonest first: what the seller
    does next. A building block, in the caller's transaction."""
    if not shop_ids:
        return []
    shows = session.scalars(select(Show).where(
        Show.shop_id.in_(shop_ids),
        Show.status.in_([ShowStatus.LIVE.value, ShowStatus.SCHEDULED.value]),
    ).order_by((Show.status == ShowStatus.LIVE.value).desc(), Show.scheduled_at, Show.id)
        .limit(limit))
    return show_views(session, list(shows))


def home_shows(db: Database, market_code: str, limit: int = 12
               ) -> tuple[list[ShowView], list[ShowView]]:
    """For the home page: shows live now, then upcoming ones, selling in the market."""
    with db.read() as session:
        live = _listed_shows(session, market_code, ShowStatus.LIVE, None, limit)
        upcoming = _listed_shows(session, market_code, ShowStatus.SCHEDULED, None, limit)
        views = show_views(session, live + upcoming)
        return views[:len(live)], views[len(live):]


@dataclass(frozen=True)
class ShowDirectory:
    live: list[ShowView]
    upcoming: list[ShowView]
    # Ended shows that went live, the latest first: their pages play the recording.
    replays: list[ShowView]


def directory(db: Database, market_code: str | None = None, shop_id: int | None = None,
              limit: int = 24, host_id: int | None = None) -> ShowDirectory:
    """Shows live now, upcoming and to replay, selling in the market (every market when
    None), of one shop (every market its shows sell in) or hosted by one creator, in one
    read."""
    with db.read() as session:
        live = _listed_shows(session, market_code, ShowStatus.LIVE, shop_id, limit, host_id)
        upcoming = _listed_shows(session, market_code, ShowStatus.SCHEDULED, shop_id, limit,
                                 host_id)
        replays = list(session.scalars(
            _shows_of(market_code, shop_id, host_id)
            .where(Show.status == ShowStatus.ENDED, Show.started_at.is_not(None))
            .order_by(Show.ended_at.desc(), Show.id.desc()).limit(limit)))
        views = show_views(session, live + upcoming + replays)
        return ShowDirectory(views[:len(live)], views[len(live):len(live) + len(upcoming)],
                             views[len(live) + len(upcoming):])


def lineup_candidates(db: Database, shop_id: int | None, actor: Actor
                      ) -> list[tuple[int, str]]:
    """(id, title) of what a lineup may hold: the shop's active products, or for a
    creator's own show (``shop_id`` None) the products their affiliate plans open to them,
    titled with their shop and rate."""
    with db.read() as session:
        if shop_id is None:
            return [(product.product_id, f"{product.title} · {product.shop_name} · "
                                         f"{product.rate_bp / 100:g}%")
                    for product in creators.planned_products(
                        session, actor.user_id, utcnow()).values()]
        return [(row.id, row.title) for row in session.execute(
            select(Product.id, Product.title).where(
                Product.shop_id == shop_id, Product.status == "active").order_by(Product.title))]
