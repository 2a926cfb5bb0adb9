"""Live-show use cases. Each owns its transaction and publishes the room event after the
commit, so a viewer never sees a change that was rolled back."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, delete, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, lazyload

from liveshop.accounts.model import Actor, Role
from liveshop.accounts.orm import User
from liveshop.catalog import service as catalog
from liveshop.catalog.access import owned_shop
from liveshop.catalog.orm import Product, Shop, ShopMarket, Variant, VariantPrice
from liveshop.core import media
from liveshop.core.config import Settings
from liveshop.core.db import Base, Database, utcnow
from liveshop.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from liveshop.core.ratelimit import RateLimiter
from liveshop.inventory import service as inventory
from liveshop.inventory.orm import StockLevel
from liveshop.live import model
from liveshop.live.hub import CLOSE_RESYNC, RoomEvents
from liveshop.live.model import ShowStatus, epoch_ms
from liveshop.live.orm import (
    ChatMessage,
    ChatMute,
    CreatorFollow,
    FlashSale,
    Notification,
    ShopBan,
    ShopChatFilter,
    ShopCreator,
    ShopFollow,
    Show,
    ShowModerator,
    ShowPin,
    ShowProduct,
    ShowReminder,
)
from liveshop.live.schemas import (
    ChatView,
    NotificationView,
    SaleIn,
    SaleView,
    ShowCreate,
    ShowStats,
    ShowUpdate,
    ShowView,
)
from liveshop.live.video_link import video_link
from liveshop.markets.model import MARKETS, get_market
from liveshop.orders.orm import Order

# --- access ---


def _show(session: Session, show_id: int, *, lock: bool = False, lineup: bool = True) -> Show:
    """``lineup=False``: its products are loaded only if read (a statement fewer)."""
    query = select(Show).where(Show.id == show_id)
    if lock:
        query = query.with_for_update()
    if not lineup:
        query = query.options(lazyload(Show.lineup))
    show = session.scalars(query).one_or_none()
    if show is None:
        raise NotFound("No such show", field="show_id")
    return show


def _owns_shop(session: Session, actor: Actor, shop_id: int) -> bool:
    # Its markets are not needed here: loaded only if read (chat posts ask, tens a second).
    shop = session.get(Shop, shop_id, options=[lazyload(Shop.markets)])
    return shop is not None and shop.owner_id == actor.user_id


def can_host(session: Session, actor: Actor | None, show: Show) -> bool:
    """An admin, the shop's owner, or the show's host while they hold the shop's creator
    grant: a creator the shop removed hosts nothing of it from that moment."""
    if actor is None:
        return False
    if actor.is_admin:
        return True
    if show.host_id != actor.user_id:
        return _owns_shop(session, actor, show.shop_id)
    return _hosts_for_shop(session, actor.user_id, show.shop_id)


def _hosts_for_shop(session: Session, user_id: int, shop_id: int) -> bool:
    """Whether the user owns the shop or holds its creator grant, in one query."""
    granted = exists().where(ShopCreator.shop_id == Shop.id, ShopCreator.creator_id == user_id)
    return session.scalar(select(Shop.id).where(
        Shop.id == shop_id, or_(Shop.owner_id == user_id, granted))) is not None


def can_moderate(session: Session, actor: Actor | None, show: Show) -> bool:
    if actor is None:
        return False
    if actor.role is Role.MODERATOR or can_host(session, actor, show):
        return True
    return session.get(ShowModerator, (show.id, actor.user_id)) is not None


def _room_rank(session: Session, show: Show, user_id: int, role: str) -> model.RoomRank:
    if role in (Role.ADMIN, Role.MODERATOR):
        return model.RoomRank.STAFF
    shop = session.get(Shop, show.shop_id, options=[lazyload(Shop.markets)])
    if shop is not None and shop.owner_id == user_id:
        return model.RoomRank.OWNER
    if show.host_id == user_id or session.get(ShopCreator, (show.shop_id, user_id)) is not None:
        return model.RoomRank.HOST
    if session.get(ShowModerator, (show.id, user_id)) is not None:
        return model.RoomRank.MODERATOR
    return model.RoomRank.VIEWER


def _ranks(session: Session, show: Show, actor: Actor, target_id: int
           ) -> tuple[model.RoomRank, model.RoomRank]:
    """The actor's rank and the target's in the show's room (NotFound naming ``user_id``)."""
    target = session.get(User, target_id)
    if target is None:
        raise NotFound("No such user", field="user_id")
    return (_room_rank(session, show, actor.user_id, actor.role),
            _room_rank(session, show, target.id, target.role))


def _require_host(session: Session, actor: Actor, show: Show) -> None:
    if not can_host(session, actor, show):
        raise Forbidden("Only the show's host or shop can do this", field="show_id")


def _require_moderator(session: Session, actor: Actor, show: Show) -> None:
    if not can_moderate(session, actor, show):
        raise Forbidden("Only the show's host or moderators can do this", field="show_id")


def markets_of(show: Show) -> list[str]:
    return market_codes(show.markets)


def market_codes(markets: str) -> list[str]:
    """The codes of a show's stored ``markets`` column (",UK,DE,")."""
    return [code for code in markets.strip(",").split(",") if code]


# --- shows ---


def _show_views(session: Session, shows: Sequence[Show]) -> list[ShowView]:
    """Views of shows in three queries however many there are (shop names, host names,
    lineup pictures): lists of shows must not cost queries per show."""
    if not shows:
        return []
    shop_names = dict(session.execute(select(Shop.id, Shop.name).where(
        Shop.id.in_({show.shop_id for show in shows}))).all())
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

    return [ShowView(
        id=show.id, shop_id=show.shop_id, shop_name=shop_names[show.shop_id],
        host_id=show.host_id, host_name=host_names[show.host_id], title=show.title,
        description=show.description, markets=markets_of(show), status=show.status,
        scheduled_at=show.scheduled_at, started_at=show.started_at, ended_at=show.ended_at,
        cover_url=cover_url(show), product_ids=[item.product_id for item in show.lineup],
        url=f"/shows/{show.id}",
    ) for show in shows]


def _show_view(session: Session, show: Show) -> ShowView:
    [view] = _show_views(session, [show])
    return view


def _check_lineup(session: Session, shop_id: int, product_ids: list[int]) -> list[int]:
    unique = list(dict.fromkeys(product_ids))
    if not unique:
        return []
    found = set(session.scalars(select(Product.id).where(
        Product.id.in_(unique), Product.shop_id == shop_id, Product.status == "active")))
    for index, product_id in enumerate(unique):
        if product_id not in found:
            raise InvalidInput("Only the shop's active products can be in the lineup",
                               field=f"product_ids.{index}")
    return unique


def create_show(db: Database, actor: Actor, data: ShowCreate, cover: media.CleanImage | None = None,
                media_dir: Path | None = None) -> ShowView:
    """Schedule a show; ``cover`` is an already checked image stored under ``media_dir``."""
    with db.transaction() as session:
        shop = session.get(Shop, data.shop_id)
        if shop is None:
            raise NotFound("No such shop", field="shop_id")
        invited = session.get(ShopCreator, (shop.id, actor.user_id)) is not None
        if not (shop.owner_id == actor.user_id or actor.is_admin or invited):
            raise Forbidden("Only the shop or a creator it invited can host its shows",
                            field="shop_id")
        shipped = {m.market for m in session.scalars(
            select(ShopMarket).where(ShopMarket.shop_id == shop.id))}
        markets = []
        for index, code in enumerate(data.markets):
            market = get_market(code, field=f"markets.{index}")
            if market.code not in shipped:
                raise InvalidInput(f"The shop does not ship to {market.code}",
                                   field=f"markets.{index}")
            markets.append(market.code)
        if data.scheduled_at.tzinfo is None:
            raise InvalidInput("Give the start time with its time zone", field="scheduled_at")
        show = Show(shop_id=shop.id, host_id=actor.user_id, title=data.title.strip(),
                    description=data.description.strip(),
                    markets="," + ",".join(dict.fromkeys(markets)) + ",",
                    scheduled_at=data.scheduled_at, status=ShowStatus.SCHEDULED)
        session.add(show)
        session.flush()
        for position, product_id in enumerate(_check_lineup(session, shop.id, data.product_ids)):
            session.add(ShowProduct(show_id=show.id, product_id=product_id, position=position))
        if cover is not None and media_dir is not None:
            show.cover_path = media.store(media_dir, f"shows/{show.id}", cover)
        session.flush()
        session.refresh(show)
        return _show_view(session, show)


def set_cover(db: Database, settings: Settings, actor: Actor, show_id: int,
              data: bytes) -> ShowView:
    cover = media.clean_image(data, settings.max_upload_bytes)
    with db.transaction() as session:
        show = _show(session, show_id, lock=True)
        _require_host(session, actor, show)
        replaced = show.cover_path
        show.cover_path = media.store(settings.media_dir, f"shows/{show.id}", cover)
        view = _show_view(session, show)
    if replaced:
        media.remove(settings.media_dir, replaced)
    return view


def update_show(db: Database, actor: Actor, show_id: int, data: ShowUpdate) -> ShowView:
    with db.transaction() as session:
        show = _show(session, show_id, lock=True)  # see remove_creator
        _require_host(session, actor, show)
        if show.status == ShowStatus.ENDED:
            raise Conflict("An ended show cannot change", field="show_id")
        if data.title is not None:
            show.title = data.title.strip()
        if data.description is not None:
            show.description = data.description.strip()
        if data.scheduled_at is not None:
            show.scheduled_at = data.scheduled_at
        if data.product_ids is not None:
            lineup = _check_lineup(session, show.shop_id, data.product_ids)
            session.execute(delete(ShowProduct).where(ShowProduct.show_id == show.id))
            for position, product_id in enumerate(lineup):
                session.add(ShowProduct(show_id=show.id, product_id=product_id,
                                        position=position))
        session.flush()
        session.refresh(show)
        return _show_view(session, show)


def get_show(db: Database, show_id: int) -> ShowView:
    with db.read() as session:
        return _show_view(session, _show(session, show_id))


def _listed_shows(session: Session, market: str | None, status: str | None,
                  shop_id: int | None, limit: int) -> list[Show]:
    query = select(Show)
    if market:
        query = query.where(Show.markets.contains(f",{market},"))
    if status:
        query = query.where(Show.status == status)
    if shop_id:
        query = query.where(Show.shop_id == shop_id)
    order = Show.started_at.desc() if status == ShowStatus.LIVE else Show.scheduled_at
    return list(session.scalars(query.order_by(order, Show.id).limit(limit)))


def list_shows(db: Database, market: str | None = None, status: str | None = None,
               shop_id: int | None = None, limit: int = 50) -> list[ShowView]:
    with db.read() as session:
        return _show_views(session, _listed_shows(session, market, status, shop_id, limit))


def _notify(session: Session, user_ids: set[int], text: str, link: str) -> None:
    for user_id in sorted(user_ids):
        session.add(Notification(user_id=user_id, text=text, link=link))


def go_live(db: Database, events: RoomEvents, actor: Actor, show_id: int) -> ShowView:
    with db.transaction() as session:
        show = _show(session, show_id, lock=True)
        _require_host(session, actor, show)
        model.ensure_show_transition(show.status, ShowStatus.LIVE)
        show.status, show.started_at = ShowStatus.LIVE, utcnow()
        audience = set(session.scalars(
            select(ShopFollow.follower_id).where(ShopFollow.shop_id == show.shop_id)))
        audience |= set(session.scalars(
            select(CreatorFollow.follower_id).where(CreatorFollow.creator_id == show.host_id)))
        audience |= set(session.scalars(
            select(ShowReminder.user_id).where(ShowReminder.show_id == show.id)))
        audience.discard(show.host_id)
        _notify(session, audience, f"Live now: {show.title}", f"/shows/{show.id}")
        view = _show_view(session, show)
    events.broadcast(show_id, {"type": "status", "status": "live",
                               "started_at": epoch_ms(view.started_at or utcnow())})
    return view


def end_show(db: Database, events: RoomEvents, actor: Actor | None, show_id: int) -> ShowView:
    """End the show (actor None: the system, e.g. the publisher never came back)."""
    with db.transaction() as session:
        show = _show(session, show_id, lock=True)
        if actor is not None:
            _require_host(session, actor, show)
        model.ensure_show_transition(show.status, ShowStatus.ENDED)
        now = utcnow()
        show.status, show.ended_at = ShowStatus.ENDED, now
        session.execute(update(ShowPin).where(ShowPin.show_id == show_id,
                                              ShowPin.unpinned_at.is_(None))
                        .values(unpinned_at=now))
        ended = _close_sales(session, "ended", FlashSale.show_id == show_id)
        stock = _variant_stock(session, [sale.variant_id for sale in ended])
        view = _show_view(session, show)
    events.broadcast(show_id, {"type": "status", "status": "ended"})
    _announce_stock(events, show_id, stock)
    return view


# --- product cards ---


def product_cards(session: Session, product_ids: Collection[int],
                  markets: list[str]) -> dict[int, dict[str, Any]]:
    """The cards shown over the video, by product id, in three queries however many
    products (a lineup must not cost queries per product). Prices for every market of the
    show, so one encoded frame serves every viewer; the client shows its own market's price.
    A variant without a price in those markets is left out."""
    titles = dict(session.execute(
        select(Product.id, Product.title).where(Product.id.in_(product_ids))).all())
    variants: dict[int, dict[int, dict[str, Any]]] = {}
    for row in session.execute(
            select(Variant.product_id, Variant.id, Variant.option1, Variant.option2,
                   Variant.option3, VariantPrice.market, VariantPrice.amount_minor,
                   VariantPrice.compare_at_minor, StockLevel.available)
            .join(VariantPrice, VariantPrice.variant_id == Variant.id)
            .outerjoin(StockLevel, StockLevel.variant_id == Variant.id)
            .where(Variant.product_id.in_(titles), VariantPrice.market.in_(markets))
            .order_by(Variant.product_id, Variant.position, Variant.id)):
        label = " / ".join(v for v in (row.option1, row.option2, row.option3) if v)
        variant = variants.setdefault(row.product_id, {}).setdefault(row.id, {
            "id": row.id, "label": label or "Standard", "prices": {},
            "available": row.available or 0})
        variant["prices"][row.market] = {
            "amount": row.amount_minor, "compare_at": row.compare_at_minor,
            "formatted": MARKETS[row.market].format(row.amount_minor)}
    images = catalog.first_images(session, titles)
    return {product_id: {
        "id": product_id, "title": title,
        "image": media.url_of(images[product_id].path) if product_id in images else None,
        "variants": list(variants.get(product_id, {}).values()),
    } for product_id, title in titles.items()}


def product_card(session: Session, product_id: int, markets: list[str]) -> dict[str, Any] | None:
    return product_cards(session, [product_id], markets).get(product_id)


def _lineup_cards(session: Session, show: Show) -> list[dict[str, Any]]:
    product_ids = [item.product_id for item in show.lineup]
    cards = product_cards(session, product_ids, markets_of(show))
    return [cards[product_id] for product_id in product_ids if product_id in cards]


def pin(db: Database, events: RoomEvents, actor: Actor, show_id: int,
        product_id: int | None) -> dict[str, Any] | None:
    with db.transaction() as session:
        show = _show(session, show_id, lock=True)
        _require_host(session, actor, show)
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
    events.broadcast(show_id, {"type": "pin", "product": card})
    return card


def pin_timeline(db: Database, show_id: int) -> list[dict[str, Any]]:
    """When each product was pinned, relative to the show's start (for replays)."""
    with db.read() as session:
        show = _show(session, show_id)
        started = show.started_at or show.scheduled_at
        rows = session.execute(
            select(ShowPin, Product.title).join(Product, Product.id == ShowPin.product_id)
            .where(ShowPin.show_id == show_id).order_by(ShowPin.pinned_at)
        ).all()
        return [{"product_id": pin_row.product_id, "title": title,
                 "offset_seconds": max(0.0, (pin_row.pinned_at - started).total_seconds()),
                 "pinned_at": pin_row.pinned_at.isoformat()}
                for pin_row, title in rows]


# --- flash sales ---


def _sale_view(session: Session, sale: FlashSale) -> SaleView:
    variant = session.get(Variant, sale.variant_id)
    assert variant is not None
    return SaleView(id=sale.id, show_id=sale.show_id, variant_id=sale.variant_id,
                    product_id=variant.product_id, title=variant.product.title,
                    prices=dict(sale.prices), quantity=sale.quantity, remaining=sale.remaining,
                    per_buyer_limit=sale.per_buyer_limit, ends_at=sale.ends_at,
                    status=sale.status)


def sale_event(session: Session, sale: FlashSale) -> dict[str, Any]:
    variant = session.get(Variant, sale.variant_id)
    assert variant is not None
    regular = {p.market: p.amount_minor for p in variant.prices}
    label = " / ".join(v for v in (variant.option1, variant.option2, variant.option3) if v)
    return {
        "id": sale.id, "variant_id": sale.variant_id, "product_id": variant.product_id,
        "title": variant.product.title, "variant_label": label or "Standard",
        "prices": {m: {"amount": amount, "formatted": MARKETS[m].format(amount),
                       "regular": regular.get(m),
                       "regular_formatted": MARKETS[m].format(regular[m]) if m in regular
                       else None}
                   for m, amount in sale.prices.items()},
        "quantity": sale.quantity, "remaining": sale.remaining,
        "per_buyer_limit": sale.per_buyer_limit, "ends_at": epoch_ms(sale.ends_at),
        "status": sale.status,
    }


def active_sale(session: Session, show_id: int, now: datetime | None = None) -> FlashSale | None:
    now = now or utcnow()
    return session.scalars(select(FlashSale).where(
        FlashSale.show_id == show_id, FlashSale.status == "active", FlashSale.ends_at > now
    ).order_by(FlashSale.id.desc())).first()


def start_sale(db: Database, events: RoomEvents, actor: Actor, show_id: int,
               data: SaleIn) -> SaleView:
    with db.transaction() as session:
        show = _show(session, show_id, lock=True)
        _require_host(session, actor, show)
        if show.status != ShowStatus.LIVE:
            raise Conflict("Flash sales run while the show is live", field="show_id")
        variant = session.get(Variant, data.variant_id)
        if variant is None or session.get(ShowProduct, (show_id, variant.product_id)) is None:
            raise InvalidInput("Choose a variant of a product in the lineup", field="variant_id")
        if active_sale(session, show_id) is not None:
            raise Conflict("Stop the running flash sale first", code="sale_running",
                           field="variant_id")
        terms = model.validate_sale(
            data.prices, data.quantity, data.per_buyer_limit, data.duration_seconds,
            set(markets_of(show)), {p.market: p.amount_minor for p in variant.prices})
        now = utcnow()
        sale = FlashSale(show_id=show_id, variant_id=variant.id, prices=terms.prices,
                         quantity=terms.quantity, remaining=terms.quantity,
                         per_buyer_limit=terms.per_buyer_limit, starts_at=now,
                         ends_at=now + terms.duration, status="active")
        session.add(sale)
        session.flush()
        # Its units leave ordinary stock now, so every tap the sale accepts can be paid
        # for: a regular purchase cannot take them meanwhile.
        try:
            sale.hold_id = inventory.hold(session, variant.id, terms.quantity,
                                          note=f"flash sale {sale.id}")
        except inventory.OutOfStock:
            available = _variant_stock(session, [variant.id]).get(variant.id, [0])[0]
            raise Conflict(f"Only {available} units are in stock", field="quantity",
                           code="not_enough_stock") from None
        event = sale_event(session, sale)
        view = _sale_view(session, sale)
        stock = _variant_stock(session, [variant.id])
    events.broadcast(show_id, {"type": "sale", "sale": event})
    _announce_stock(events, show_id, stock)
    return view


def stop_sale(db: Database, events: RoomEvents, actor: Actor, show_id: int,
              sale_id: int) -> SaleView:
    with db.transaction() as session:
        show = _show(session, show_id)
        _require_host(session, actor, show)
        sale = session.get(FlashSale, sale_id)
        if sale is None or sale.show_id != show_id:
            raise NotFound("No such flash sale", field="sale_id")
        stopped = _close_sales(session, "stopped", FlashSale.id == sale_id)
        session.refresh(sale)
        if not stopped:
            raise Conflict(f"The sale is already {sale.status}", field="sale_id")
        view = _sale_view(session, sale)
        stock = _variant_stock(session, [sale.variant_id])
    events.broadcast(show_id, {"type": "sale_ended", "sale_id": sale_id, "reason": "stopped"})
    _announce_stock(events, show_id, stock)
    return view


def end_expired_sales(db: Database, events: RoomEvents, now: datetime | None = None) -> int:
    """Close sales whose time ran out, so prices revert for everyone."""
    now = now or utcnow()
    with db.transaction() as session:
        expired = _close_sales(session, "ended", FlashSale.ends_at <= now)
        stock = _variant_stock(session, [sale.variant_id for sale in expired])
    for sale in expired:
        events.broadcast(sale.show_id, {"type": "sale_ended", "sale_id": sale.id,
                                        "reason": "time"})
        _announce_stock(events, sale.show_id, {sale.variant_id: stock[sale.variant_id]})
    return len(expired)


@dataclass(frozen=True)
class _ClosedSale:
    id: int
    show_id: int
    variant_id: int


def _close_sales(session: Session, status: str, *which: ColumnElement[bool]
                 ) -> list[_ClosedSale]:
    """End the running sales ``which`` picks and give their unclaimed units back to ordinary
    stock. One conditional UPDATE reads the units left as it ends each sale, so no claim can
    take one in between; units claimed but not yet paid for stay held until their purchase
    is paid or fails (liveshop/live/settlement.py)."""
    closed = session.execute(
        update(FlashSale).where(FlashSale.status == "active", *which).values(status=status)
        .returning(FlashSale.id, FlashSale.show_id, FlashSale.variant_id, FlashSale.remaining,
                   FlashSale.hold_id)
        .execution_options(synchronize_session=False)).all()
    # In variant order, as checkouts lock stock rows.
    for sale in sorted(closed, key=lambda sale: (sale.variant_id, sale.id)):
        if sale.hold_id is not None:
            inventory.unhold(session, sale.hold_id, sale.remaining,
                             note=f"flash sale {sale.id} {status}")
    return [_ClosedSale(sale.id, sale.show_id, sale.variant_id) for sale in closed]


def _variant_stock(session: Session, variant_ids: Collection[int]) -> dict[int, list[int]]:
    """Units available at regular prices and the stock's version, as room events carry
    them."""
    if not variant_ids:
        return {}
    return {variant_id: [available, version] for variant_id, available, version in
            session.execute(select(StockLevel.variant_id, StockLevel.available,
                                   StockLevel.version)
                            .where(StockLevel.variant_id.in_(set(variant_ids))))}


def _announce_stock(events: RoomEvents, show_id: int, stock: dict[int, list[int]]) -> None:
    if stock:
        events.stock(show_id, {"variants": {str(variant_id): available_and_version
                                            for variant_id, available_and_version
                                            in stock.items()}})


# --- chat and moderation ---


def _chat_view(message: ChatMessage) -> ChatView:
    return ChatView(id=message.id, user_id=message.user_id, author=message.author,
                    text=message.text, at=epoch_ms(message.created_at))


def _is_banned(session: Session, shop_id: int, user_id: int) -> bool:
    return session.get(ShopBan, (shop_id, user_id)) is not None


def _muted_until(session: Session, show_id: int, user_id: int) -> datetime | None:
    return session.scalar(select(func.max(ChatMute.until)).where(
        ChatMute.show_id == show_id, ChatMute.user_id == user_id, ChatMute.until > utcnow()))


def is_banned(db: Database, show_id: int, user_id: int) -> bool:
    with db.read() as session:
        return _is_banned(session, _show(session, show_id).shop_id, user_id)


def post_chat(db: Database, limiter: RateLimiter, events: RoomEvents, actor: Actor,
              show_id: int, text: str) -> ChatView:
    cleaned = model.clean_chat_text(text)
    # Checked in a read, written in a transaction of one INSERT: on SQLite a write
    # transaction holds the database's write lock, which purchases in the room need too.
    # (Under PostgreSQL's read committed the checks never locked anything either.)
    with db.read() as session:
        # Chat is the busiest write of a room: each statement waits for the GIL beside the
        # fan-out, and the tail of its latency is the tail of every viewer's.
        show = _show(session, show_id, lineup=False)
        if show.status != ShowStatus.LIVE:
            raise Conflict("Chat is open while the show is live", field="show_id")
        if _is_banned(session, show.shop_id, actor.user_id):
            raise Forbidden("You are banned from this shop's shows", code="banned", field="text")
        muted = _muted_until(session, show_id, actor.user_id)
        if muted is not None:
            minutes = max(1, round((muted - utcnow()).total_seconds() / 60))
            raise Forbidden(f"You are muted for {minutes} more minute(s)", code="muted",
                            field="text")
        staff = can_moderate(session, actor, show)
        if not staff:
            limiter.hit(f"chat:{show_id}:{actor.user_id}", limit=model.CHAT_BURST,
                        window_seconds=model.CHAT_BURST_WINDOW_SECONDS)
            if show.slow_mode_seconds:
                limiter.hit(f"slow:{show_id}:{actor.user_id}", limit=1,
                            window_seconds=show.slow_mode_seconds)
        banned_words = set(session.scalars(
            select(ShopChatFilter.word).where(ShopChatFilter.shop_id == show.shop_id)))
        if model.banned_word_in(cleaned, banned_words):
            raise InvalidInput("That message contains a word this shop does not allow",
                               field="text", code="banned_word")
    with db.transaction() as session:
        message = ChatMessage(show_id=show_id, user_id=actor.user_id,
                              author=actor.display_name, text=cleaned, created_at=utcnow())
        session.add(message)
        session.flush()
        view = _chat_view(message)
    events.chat(show_id, view.model_dump())
    return view


def recent_chat(session: Session, show_id: int) -> list[ChatView]:
    rows = session.scalars(select(ChatMessage).where(
        ChatMessage.show_id == show_id, ChatMessage.deleted_at.is_(None)
    ).order_by(ChatMessage.id.desc()).limit(model.CHAT_HISTORY)).all()
    return [_chat_view(row) for row in reversed(rows)]


def delete_message(db: Database, events: RoomEvents, actor: Actor, show_id: int,
                   message_id: int) -> None:
    with db.transaction() as session:
        show = _show(session, show_id)
        _require_moderator(session, actor, show)
        message = session.get(ChatMessage, message_id)
        if message is None or message.show_id != show_id:
            raise NotFound("No such message", field="message_id")
        if message.user_id != actor.user_id:
            actor_rank, author_rank = _ranks(session, show, actor, message.user_id)
            model.ensure_may_moderate(actor_rank, author_rank, field="message_id")
        if message.deleted_at is None:
            message.deleted_at, message.deleted_by = utcnow(), actor.user_id
    events.broadcast(show_id, {"type": "chat_deleted", "ids": [message_id]})


def mute(db: Database, events: RoomEvents, actor: Actor, show_id: int, user_id: int,
         minutes: int) -> datetime:
    with db.transaction() as session:
        show = _show(session, show_id)
        _require_moderator(session, actor, show)
        model.ensure_may_silence(*_ranks(session, show, actor, user_id))
        until = utcnow() + timedelta(minutes=minutes)
        session.add(ChatMute(show_id=show_id, user_id=user_id, until=until,
                             by_id=actor.user_id))
    events.to_user(show_id, user_id, {"type": "muted", "until": epoch_ms(until)})
    return until


def ban(db: Database, events: RoomEvents, actor: Actor, show_id: int, user_id: int) -> None:
    with db.transaction() as session:
        show = _show(session, show_id)
        _require_moderator(session, actor, show)
        model.ensure_may_silence(*_ranks(session, show, actor, user_id))
        if _is_banned(session, show.shop_id, user_id):
            return
        session.add(ShopBan(shop_id=show.shop_id, user_id=user_id, by_id=actor.user_id))
        # A banned moderator moderates none of the shop's shows: else they could lift it.
        session.execute(delete(ShowModerator).where(
            ShowModerator.user_id == user_id,
            ShowModerator.show_id.in_(select(Show.id).where(Show.shop_id == show.shop_id))))
        banned_ids = list(session.scalars(select(ChatMessage.id).where(
            ChatMessage.show_id == show_id, ChatMessage.user_id == user_id,
            ChatMessage.deleted_at.is_(None))))
        session.execute(update(ChatMessage).where(ChatMessage.id.in_(banned_ids))
                        .values(deleted_at=utcnow(), deleted_by=actor.user_id))
    events.to_user(show_id, user_id, {"type": "banned"}, disconnect=True)
    if banned_ids:
        events.broadcast(show_id, {"type": "chat_deleted", "ids": banned_ids})


def unban(db: Database, actor: Actor, show_id: int, user_id: int) -> None:
    with db.transaction() as session:
        show = _show(session, show_id)
        _require_moderator(session, actor, show)
        session.execute(delete(ShopBan).where(ShopBan.shop_id == show.shop_id,
                                              ShopBan.user_id == user_id))


def set_slow_mode(db: Database, events: RoomEvents, actor: Actor, show_id: int,
                  seconds: int) -> None:
    if not 0 <= seconds <= model.MAX_SLOW_MODE_SECONDS:
        raise InvalidInput("Slow mode is 0 to 300 seconds", field="seconds")
    with db.transaction() as session:
        show = _show(session, show_id)
        _require_moderator(session, actor, show)
        show.slow_mode_seconds = seconds
    events.broadcast(show_id, {"type": "slow_mode", "seconds": seconds})


def set_moderator(db: Database, actor: Actor, show_id: int, user_id: int, on: bool) -> None:
    with db.transaction() as session:
        show = _show(session, show_id, lock=True)  # see remove_creator
        _require_host(session, actor, show)
        if session.get(User, user_id) is None:
            raise NotFound("No such user", field="user_id")
        _toggle(session, ShowModerator, (show_id, user_id), on,
                lambda: ShowModerator(show_id=show_id, user_id=user_id))


def set_banned_words(db: Database, actor: Actor, shop_id: int, words: list[str]) -> list[str]:
    cleaned = sorted({model.normalise_banned_word(word) for word in words})
    with db.transaction() as session:
        owned_shop(session, actor, shop_id)
        session.execute(delete(ShopChatFilter).where(ShopChatFilter.shop_id == shop_id))
        session.add_all(ShopChatFilter(shop_id=shop_id, word=word) for word in cleaned)
    return cleaned


# --- follows, reminders, notifications ---


def _toggle(session: Session, model: type[Base], key: tuple[int, int], on: bool,
            make: Callable[[], Base]) -> None:
    """Make the row with this primary key exist (``on``) or not. Repeating a request is
    harmless, even two identical ones at once: the loser's insert is rolled back to a
    savepoint."""
    existing = session.get(model, key)
    if on and existing is None:
        try:
            with session.begin_nested():
                session.add(make())
        except IntegrityError:
            pass  # the concurrent twin stored it first
    elif not on and existing is not None:
        session.delete(existing)


def follow_shop(db: Database, actor: Actor, shop_id: int, on: bool = True) -> None:
    with db.transaction() as session:
        if session.get(Shop, shop_id) is None:
            raise NotFound("No such shop", field="shop_id")
        _toggle(session, ShopFollow, (actor.user_id, shop_id), on,
                lambda: ShopFollow(follower_id=actor.user_id, shop_id=shop_id))


def follow_creator(db: Database, actor: Actor, creator_id: int, on: bool = True) -> None:
    with db.transaction() as session:
        creator = session.get(User, creator_id)
        if creator is None or creator.role not in (Role.CREATOR, Role.SELLER):
            raise NotFound("No such creator", field="creator_id")
        _toggle(session, CreatorFollow, (actor.user_id, creator_id), on,
                lambda: CreatorFollow(follower_id=actor.user_id, creator_id=creator_id))


def remind_me(db: Database, actor: Actor, show_id: int, on: bool = True) -> None:
    with db.transaction() as session:
        show = _show(session, show_id)
        if show.status != ShowStatus.SCHEDULED:
            raise Conflict("Reminders are for upcoming shows", field="show_id")
        _toggle(session, ShowReminder, (show_id, actor.user_id), on,
                lambda: ShowReminder(show_id=show_id, user_id=actor.user_id))


def notifications(db: Database, actor: Actor, mark_read: bool = False
                  ) -> list[NotificationView]:
    with db.transaction() as session:
        rows = session.scalars(select(Notification).where(
            Notification.user_id == actor.user_id).order_by(Notification.id.desc()).limit(50)
        ).all()
        views = [NotificationView(id=n.id, text=n.text, link=n.link, created_at=n.created_at,
                                  read=n.read_at is not None) for n in rows]
        if mark_read:
            session.execute(update(Notification).where(
                Notification.user_id == actor.user_id, Notification.read_at.is_(None))
                .values(read_at=utcnow()))
        return views


def unread_count(db: Database, actor: Actor) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(Notification).where(
            Notification.user_id == actor.user_id, Notification.read_at.is_(None))) or 0


# --- the room snapshot ---


def room_snapshot(db: Database, settings: Settings, show_id: int, market: str) -> dict[str, Any]:
    """The part of the snapshot that is the same for every viewer of the room in ``market``
    (shared by joiners: liveshop/live/snapshots.py). ``server_time``, ``viewers`` and ``you``
    are each joiner's own."""
    with db.read() as session:
        show = _show(session, show_id)
        markets = markets_of(show)
        sale = active_sale(session, show_id)
        return {
            "type": "snapshot", "v": model.PROTOCOL_VERSION,
            "market": market if market in markets else markets[0],
            "show": {**_show_view(session, show).model_dump(mode="json"),
                     "slow_mode_seconds": show.slow_mode_seconds},
            "pinned": product_card(session, show.pinned_product_id, markets)
            if show.pinned_product_id else None,
            "sale": sale_event(session, sale) if sale else None,
            "lineup": _lineup_cards(session, show),
            "chat": [message.model_dump() for message in recent_chat(session, show_id)],
            "video": video_link().room_view(session, settings.hls_base_url, show_id),
        }


ANONYMOUS_VIEWER: dict[str, Any] = {
    "user_id": None, "name": None, "can_chat": False, "can_moderate": False,
    "can_host": False, "muted_until": None,
}


def room_viewer(db: Database, show_id: int, actor: Actor) -> dict[str, Any]:
    """The snapshot's ``you``: what this signed-in viewer may do in the room."""
    with db.read() as session:
        show = _show(session, show_id)
        muted = _muted_until(session, show_id, actor.user_id)
        return {
            "user_id": actor.user_id, "name": actor.display_name,
            "can_chat": not _is_banned(session, show.shop_id, actor.user_id),
            "can_moderate": can_moderate(session, actor, show),
            "can_host": can_host(session, actor, show),
            "muted_until": epoch_ms(muted) if muted else None,
        }


def show_stats(db: Database, actor: Actor, show_id: int, viewers: int) -> ShowStats:
    """Orders and revenue of a show so far, for its host and moderators."""
    with db.read() as session:
        _require_moderator(session, actor, _show(session, show_id))
        rows = session.execute(
            select(Order.currency, func.count(), func.sum(Order.total))
            .where(Order.show_id == show_id,
                   Order.status.in_(("paid", "shipped", "delivered")))
            .group_by(Order.currency)).all()
    return ShowStats(viewers=viewers, orders=sum(int(count) for _, count, _ in rows),
                     revenue={currency: int(total or 0) for currency, _, total in rows})


# --- what the show pages need ---


@dataclass(frozen=True)
class ShowPage:
    show: ShowView
    lineup: list[dict[str, Any]]
    can_host: bool
    can_moderate: bool
    reminded: bool
    following: bool


def show_page(db: Database, actor: Actor | None, show_id: int) -> ShowPage:
    """The show with its lineup cards and what this visitor may do and has chosen."""
    with db.read() as session:
        show = _show(session, show_id)
        user_id = actor.user_id if actor else None
        return ShowPage(
            show=_show_view(session, show), lineup=_lineup_cards(session, show),
            can_host=can_host(session, actor, show),
            can_moderate=can_moderate(session, actor, show),
            reminded=user_id is not None
            and session.get(ShowReminder, (show.id, user_id)) is not None,
            following=user_id is not None
            and session.get(ShopFollow, (user_id, show.shop_id)) is not None,
        )


def my_shows(db: Database, actor: Actor, limit: int = 100) -> list[ShowView]:
    """Shows that the actor's shops run or that the actor hosts for a shop whose creator
    grant they hold (as :func:`can_host` decides), the most recently scheduled first."""
    with db.read() as session:
        owned = select(Shop.id).where(Shop.owner_id == actor.user_id)
        hosting = Show.host_id == actor.user_id
        if not actor.is_admin:
            hosting &= Show.shop_id.in_(select(ShopCreator.shop_id).where(
                ShopCreator.creator_id == actor.user_id))
        shows = session.scalars(select(Show).where(
            hosting | Show.shop_id.in_(owned)
        ).order_by(Show.scheduled_at.desc(), Show.id.desc()).limit(limit))
        return _show_views(session, list(shows))


def home_shows(db: Database, market_code: str, limit: int = 12
               ) -> tuple[list[ShowView], list[ShowView]]:
    """For the home page: shows live now, then upcoming ones, selling in the market."""
    with db.read() as session:
        live = _listed_shows(session, market_code, ShowStatus.LIVE, None, limit)
        upcoming = _listed_shows(session, market_code, ShowStatus.SCHEDULED, None, limit)
        views = _show_views(session, live + upcoming)
        return views[:len(live)], views[len(live):]


def reminded_show_ids(db: Database, actor: Actor | None) -> set[int]:
    if actor is None:
        return set()
    with db.read() as session:
        return set(session.scalars(
            select(ShowReminder.show_id).where(ShowReminder.user_id == actor.user_id)))


def invite_creator(db: Database, actor: Actor, shop_id: int, creator_id: int,
                   commission_bp: int) -> None:
    """Let a creator host the shop's shows, earning ``commission_bp`` of their orders."""
    if not 0 <= commission_bp <= 5000:
        raise InvalidInput("Commission is 0% to 50%", field="commission_percent")
    with db.transaction() as session:
        owned_shop(session, actor, shop_id)
        creator = session.get(User, creator_id)
        if creator is None or creator.role != Role.CREATOR.value:
            raise NotFound("No such creator", field="creator_id")
        existing = session.get(ShopCreator, (shop_id, creator_id))
        if existing is None:
            session.add(ShopCreator(shop_id=shop_id, creator_id=creator_id,
                                    commission_bp=commission_bp))
        else:
            existing.commission_bp = commission_bp


def remove_creator(db: Database, events: RoomEvents, settings: Settings, actor: Actor,
                   shop_id: int, creator_id: int) -> None:
    """End the creator's grant, and with it every host power over the shop's shows.

    In the same transaction each show of the shop that the creator hosts and that has not
    ended is handed back to the shop's owner: its running flash sale is stopped (the
    creator set its price and size), its stream key is replaced and a publisher streaming
    with the old key is cut off (through the video link: liveshop/live/video_link.py), and the
    creator's moderator seats on the shows they hosted go too. A live show stays live under
    the shop: its viewers and orders stay, and the shop publishes with the new key or ends
    it (a cut-off video waits the reconnect grace period, as after any drop). Orders made
    before keep their creator."""
    video = video_link()
    with db.transaction() as session:
        shop = session.get(Shop, shop_id)
        if shop is None or (shop.owner_id != actor.user_id and not actor.is_admin):
            raise Forbidden("This shop belongs to another seller", field="shop_id")
        session.execute(delete(ShopCreator).where(ShopCreator.shop_id == shop_id,
                                                  ShopCreator.creator_id == creator_id))
        # Locked: a host action of the creator's under way (host actions that change a show
        # lock it first) finishes before, and one that comes later finds the show handed
        # back and is refused.
        hosted = session.execute(select(Show.id, Show.status).where(
            Show.shop_id == shop_id, Show.host_id == creator_id
        ).order_by(Show.id).with_for_update()).all()
        session.execute(delete(ShowModerator).where(
            ShowModerator.user_id == creator_id,
            ShowModerator.show_id.in_([show_id for show_id, _ in hosted])))
        handed_back = [show_id for show_id, status in hosted if status != ShowStatus.ENDED]
        if not handed_back:
            return
        session.execute(update(Show).where(Show.id.in_(handed_back))
                        .values(host_id=shop.owner_id))
        stopped = session.execute(select(FlashSale.id, FlashSale.show_id).where(
            FlashSale.show_id.in_(handed_back), FlashSale.status == "active")).all()
        if stopped:
            session.execute(update(FlashSale).where(FlashSale.id.in_([id_ for id_, _ in stopped]))
                            .values(status="stopped"))
        cut_off = video.hand_over(session, handed_back)
        owner = session.get_one(User, shop.owner_id)
        host = {"type": "host", "host_id": owner.id, "host_name": owner.display_name}
    for sale_id, show_id in stopped:
        events.broadcast(show_id, {"type": "sale_ended", "sale_id": sale_id,
                                   "reason": "stopped"})
    for show_id in handed_back:
        events.broadcast(show_id, host)
        # The creator's sockets were staff (orders, host controls): they reconnect for a
        # snapshot of what they may do now.
        events.to_user(show_id, creator_id, host, disconnect=True, close_code=CLOSE_RESYNC)
    for show_id in cut_off:
        events.broadcast(show_id, video.cut_off_event(settings.hls_base_url, show_id))


def hostable_shop_ids(db: Database, actor: Actor) -> list[int]:
    """Shops whose shows the actor may schedule: their own, and those that invited them."""
    with db.read() as session:
        owned = set(session.scalars(select(Shop.id).where(Shop.owner_id == actor.user_id)))
        invited = set(session.scalars(
            select(ShopCreator.shop_id).where(ShopCreator.creator_id == actor.user_id)))
        return sorted(owned | invited)


def lineup_candidates(db: Database, shop_id: int) -> list[tuple[int, str]]:
    """(id, title) of the shop's active products: what a lineup may hold."""
    with db.read() as session:
        return [(row.id, row.title) for row in session.execute(
            select(Product.id, Product.title).where(
                Product.shop_id == shop_id, Product.status == "active").order_by(Product.title))]
