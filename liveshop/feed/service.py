"""The feed's use cases: taking interaction events in (checked, then queued for the
writer), ranking and paging both tabs, and "not interested". Facts come from the tables of
the domains below (follows and shows from live, products from catalog, the trained
neighbours and events from here); the rules are liveshop/feed/model.py's."""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from liveshop.accounts.orm import User
from liveshop.catalog import service as catalog
from liveshop.catalog.orm import Product, Shop, Variant
from liveshop.catalog.schemas import ProductCard
from liveshop.core.db import Database, utcnow
from liveshop.core.errors import InvalidInput, NotFound
from liveshop.feed import model
from liveshop.feed.ingest import EventWriter, Interaction
from liveshop.feed.model import CardKind, EventKind, Item, ItemType, Scored, Source
from liveshop.feed.orm import FeedDismissal, FeedEvent, ItemNeighbour
from liveshop.feed.schemas import EventIn, FeedCard, FeedPage, Tab
from liveshop.live import shows as live_shows
from liveshop.live.model import ShowStatus
from liveshop.live.orm import CreatorFollow, ShopFollow, Show, ShowReminder
from liveshop.live.schemas import ShowView
from liveshop.markets.model import Market
from liveshop.orders.orm import Order, OrderLine

# How far back each signal looks.
POPULAR_DAYS = 14
SOCIAL_DAYS = 30
HISTORY_EVENTS = 100
# Followers of a followed creator whose purchases and likes count (the most recent).
CO_FOLLOWERS = 150
# Popularity per market is computed at most this often per process.
POPULAR_TTL_SECONDS = 120.0
POPULAR_ITEMS = 150
# A ranked feed is kept this long for its cursor's next pages.
RANKING_TTL_SECONDS = 900.0
RANKINGS_KEPT = 20_000
# Candidates whose facts are read per ranking: the best by their scores before the rules.
SHORTLIST = 120


@dataclass(frozen=True)
class Viewer:
    """Who looks at the feed: a signed-in user, else an anonymous visitor (cookie id)."""

    user_id: int | None
    visitor_id: str | None

    @property
    def key(self) -> str:
        return f"u:{self.user_id}" if self.user_id is not None else f"v:{self.visitor_id}"

    def events(self) -> ColumnElement[bool]:
        """Which interaction events are this viewer's."""
        if self.user_id is not None:
            return FeedEvent.user_id == self.user_id
        return FeedEvent.visitor_id == self.visitor_id


ViewersOf = Callable[[int], int]


@dataclass
class _Ranked:
    entries: list[tuple[str, str]]  # (item key, why)
    made: float


@dataclass
class FeedState:
    """What one app process keeps for the feed: the event writer, popularity per market
    and recent rankings for their cursors, and which item ids are known to exist."""

    writer: EventWriter
    _popular: dict[str, tuple[float, dict[str, float]]] = field(default_factory=dict)
    _rankings: OrderedDict[tuple[str, str, str, int], _Ranked] = field(
        default_factory=OrderedDict)
    _known: dict[str, set[int]] = field(default_factory=lambda: {"product": set(), "show": set()})
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _popular_lock: threading.Lock = field(default_factory=threading.Lock)

    def forget(self, viewer: Viewer) -> None:
        """Drop the viewer's kept rankings ("not interested" changes them)."""
        with self._lock:
            for key in [k for k in self._rankings if k[0] == viewer.key]:
                del self._rankings[key]

    def ranking(self, key: tuple[str, str, str, int]) -> _Ranked | None:
        with self._lock:
            ranked = self._rankings.get(key)
            if ranked is None or time.monotonic() - ranked.made > RANKING_TTL_SECONDS:
                return None
            self._rankings.move_to_end(key)
            return ranked

    def keep(self, key: tuple[str, str, str, int], entries: list[tuple[str, str]]) -> None:
        with self._lock:
            self._rankings[key] = _Ranked(entries, time.monotonic())
            while len(self._rankings) > RANKINGS_KEPT:
                self._rankings.popitem(last=False)


# --- events in ---------------------------------------------------------------------------

def check_events(db: Database, state: FeedState, events: Sequence[EventIn],
                 now: datetime) -> None:
    """Refuse the whole batch, naming the field, at the first event whose time is out of
    bounds or whose item does not exist (ids known to exist are remembered per process)."""
    for index, event in enumerate(events):
        if event.at is not None and (problem := model.time_problem(event.at, now)):
            raise InvalidInput(f"The event's time {problem}", field=f"events.{index}.at")
    wanted: dict[str, set[int]] = {"product": set(), "show": set()}
    for event in events:
        wanted[event.item_type].add(event.item_id)
        if event.show_id is not None:
            wanted["show"].add(event.show_id)
    unknown = {kind: ids - state._known[kind] for kind, ids in wanted.items()}
    if any(unknown.values()):
        with db.read() as session:
            found = {
                "product": set(session.scalars(select(Product.id).where(
                    Product.id.in_(unknown["product"])))) if unknown["product"] else set(),
                "show": set(session.scalars(select(Show.id).where(
                    Show.id.in_(unknown["show"])))) if unknown["show"] else set(),
            }
        with state._lock:
            for kind, ids in found.items():
                state._known[kind] |= ids
        for index, event in enumerate(events):
            if event.item_id in unknown[event.item_type] - found[event.item_type]:
                raise InvalidInput(f"No such {event.item_type}", field=f"events.{index}.item_id")
            if event.show_id in unknown["show"] - found["show"]:
                raise InvalidInput("No such show", field=f"events.{index}.show_id")


def take_events(db: Database, state: FeedState, viewer: Viewer, market: str,
                events: Sequence[EventIn]) -> tuple[int, int]:
    """Check and queue a browser's batch; (accepted, dropped by a full queue)."""
    now = utcnow()
    check_events(db, state, events, now)
    accepted = state.writer.put_many(Interaction(
        EventKind(event.type), event.item_type, event.item_id, user_id=viewer.user_id,
        visitor_id=viewer.visitor_id, show_id=event.show_id, market=market,
        occurred_at=event.at or now, value=event.value) for event in events)
    return accepted, len(events) - accepted


# --- facts for the rules -------------------------------------------------------------------

def _show_kind(show: Show) -> CardKind | None:
    if show.status == ShowStatus.LIVE:
        return CardKind.LIVE
    if show.status == ShowStatus.SCHEDULED:
        return CardKind.UPCOMING
    if show.status == ShowStatus.ENDED and show.started_at is not None:
        return CardKind.REPLAY
    return None


def _show_item(show: Show, suspended: bool) -> Item:
    kind = _show_kind(show)
    at = {CardKind.LIVE: show.started_at, CardKind.UPCOMING: show.scheduled_at,
          CardKind.REPLAY: show.ended_at}.get(kind) if kind else None
    return Item(ItemType.SHOW, show.id, kind or CardKind.REPLAY, show.shop_id,
                frozenset(code for code in show.markets.split(",") if code),
                active=kind is not None, private=show.removed_at is not None,
                shop_suspended=suspended, host_id=show.host_id, at=at or show.scheduled_at)


def _items(session: Session, keys: Iterable[str], market: Market
           ) -> tuple[dict[str, Item], dict[int, ProductCard], dict[int, Show]]:
    """What the rules need of each item, with the product cards and shows read on the way."""
    product_ids: set[int] = set()
    show_ids: set[int] = set()
    for key in keys:
        item_type, item_id = model.parse_item_key(key)
        (product_ids if item_type is ItemType.PRODUCT else show_ids).add(item_id)
    items: dict[str, Item] = {}
    cards = catalog.cards_in_market(session, product_ids, market)
    if cards:
        facts = session.execute(select(Product.id, Product.created_at, Product.tags).where(
            Product.id.in_(cards))).all()
        for product_id, created_at, tags in facts:
            card = cards[product_id]
            item = Item(ItemType.PRODUCT, product_id, CardKind.PRODUCT, card.shop_id,
                        frozenset({market.code}), in_stock=card.in_stock, at=created_at,
                        consumable=",consumable," in (tags or ""))
            items[item.key] = item
    shows: dict[int, Show] = {}
    if show_ids:
        rows = session.execute(select(Show, Shop.suspended_at).join(
            Shop, Shop.id == Show.shop_id).where(Show.id.in_(show_ids))).all()
        for show, suspended_at in rows:
            shows[show.id] = show
            item = _show_item(show, suspended_at is not None)
            items[item.key] = item
    return items, cards, shows


def _weights(rows: Iterable[tuple[str, str, int, int, float]]) -> dict[str, float]:
    """(kind, item_type, item_id, events, value sum) rows to a score per item key."""
    scores: dict[str, float] = {}
    for kind, item_type, item_id, count, value in rows:
        if item_type not in (ItemType.PRODUCT, ItemType.SHOW):
            continue
        weight = model.aggregate_weight(EventKind(kind), int(count), float(value or 0))
        if weight > 0:
            key = model.item_key(ItemType(item_type), int(item_id))
            scores[key] = scores.get(key, 0.0) + weight
    return scores


def _grouped(*conditions: ColumnElement[bool]) -> Select[str, str, int, int, float]:
    """Events per kind and item: what ``_weights`` scores."""
    return (select(FeedEvent.kind, FeedEvent.item_type, FeedEvent.item_id, func.count(),
                   func.sum(FeedEvent.value))
            .where(*conditions)
            .group_by(FeedEvent.kind, FeedEvent.item_type, FeedEvent.item_id))


def popular(db: Database, state: FeedState, market: str) -> dict[str, float]:
    """The market's most interacted-with items of the last weeks (cold start: needs no
    training), kept per process for ``POPULAR_TTL_SECONDS``."""
    kept = state._popular.get(market)
    if kept is not None and time.monotonic() - kept[0] < POPULAR_TTL_SECONDS:
        return kept[1]
    # One request computes it; the others at that moment wait for it (or, when an older
    # result exists, use that meanwhile) rather than all reading every recent event.
    if kept is not None and state._popular_lock.locked():
        return kept[1]
    with state._popular_lock:
        kept = state._popular.get(market)
        if kept is not None and time.monotonic() - kept[0] < POPULAR_TTL_SECONDS:
            return kept[1]
        since = utcnow() - timedelta(days=POPULAR_DAYS)
        with db.read() as session:
            scores = _weights(session.execute(_grouped(
                FeedEvent.market == market, FeedEvent.occurred_at >= since)).all())
        best = dict(sorted(scores.items(), key=lambda pair: -pair[1])[:POPULAR_ITEMS])
        state._popular[market] = (time.monotonic(), best)
        return best


@dataclass
class _Signals:
    by_source: dict[Source, dict[str, tuple[float, str]]] = field(default_factory=dict)

    def add(self, source: Source, key: str, score: float, subject: str) -> None:
        scores = self.by_source.setdefault(source, {})
        old = scores.get(key)
        scores[key] = (score + (old[0] if old else 0.0), old[1] if old else subject)


def _follows(session: Session, user_id: int) -> tuple[dict[int, str], dict[int, str]]:
    """Followed creators and shops, with their names."""
    creators = dict(session.execute(select(User.id, User.display_name).join(
        CreatorFollow, CreatorFollow.creator_id == User.id).where(
        CreatorFollow.follower_id == user_id)).all())
    shops = dict(session.execute(select(Shop.id, Shop.name).join(
        ShopFollow, ShopFollow.shop_id == Shop.id).where(
        ShopFollow.follower_id == user_id)).all())
    return creators, shops


def _followed_shows(session: Session, creators: Collection[int], shops: Collection[int],
                    market: str, limit: int = 60) -> list[Show]:
    if not creators and not shops:
        return []
    whose = Show.host_id.in_(creators) | Show.shop_id.in_(shops)
    listed = Show.removed_at.is_(None) & Show.markets.contains(f",{market},")
    found: list[Show] = []
    for status in (ShowStatus.LIVE, ShowStatus.SCHEDULED, ShowStatus.ENDED):
        order = Show.scheduled_at if status == ShowStatus.SCHEDULED else Show.id.desc()
        query = select(Show).where(whose, listed, Show.status == status)
        if status == ShowStatus.ENDED:
            query = query.where(Show.started_at.is_not(None))
        found += session.scalars(query.order_by(order).limit(limit))
    return found


def _followed_name(show: Show, creators: dict[int, str], shops: dict[int, str]) -> str:
    """Whom the viewer follows that a show is from: its host, else its shop ("" for none)."""
    return creators.get(show.host_id) or (shops.get(show.shop_id, "") if show.shop_id else "")


def _social(session: Session, signals: _Signals, user_id: int, market: str,
            creators: dict[int, str], shops: dict[int, str]) -> None:
    """What the creators and shops the viewer follows host and promote, and what they and
    their other followers buy, add to carts and like."""
    for show in _followed_shows(session, creators, shops, market):
        subject = _followed_name(show, creators, shops)
        key = model.item_key(ItemType.SHOW, show.id)
        if show.status == ShowStatus.LIVE:
            signals.add(Source.FOLLOWED_LIVE, key, 1.0, subject)
        else:
            signals.add(Source.SOCIAL, key, 1.0, subject)
        if show.host_id in creators:  # what they promote
            for line in show.lineup:
                signals.add(Source.SOCIAL, model.item_key(ItemType.PRODUCT, line.product_id),
                            0.5, subject)
    for product_id, shop_id in session.execute(
            select(Product.id, Product.shop_id).where(
                Product.shop_id.in_(shops), Product.status == "active")
            .order_by(Product.id.desc()).limit(30)) if shops else ():
        signals.add(Source.SOCIAL, model.item_key(ItemType.PRODUCT, product_id), 0.3,
                    shops[shop_id])
    if not creators:
        return
    since = utcnow() - timedelta(days=SOCIAL_DAYS)
    strong = (EventKind.PURCHASE, EventKind.ADD_TO_CART, EventKind.LIKE)
    subject = creators[min(creators)]
    people = set(creators) | set(session.scalars(
        select(CreatorFollow.follower_id).where(
            CreatorFollow.creator_id.in_(creators), CreatorFollow.follower_id != user_id)
        .order_by(CreatorFollow.created_at.desc()).limit(CO_FOLLOWERS)))
    rows = session.execute(_grouped(
        FeedEvent.user_id.in_(people), FeedEvent.kind.in_([k.value for k in strong]),
        FeedEvent.occurred_at >= since)).all()
    for key, score in _weights(rows).items():
        signals.add(Source.SOCIAL, key, score, subject)


def _history(session: Session, viewer: Viewer) -> dict[str, float]:
    """The viewer's recent interactions with products and shows, weighted."""
    rows = session.execute(
        select(FeedEvent.kind, FeedEvent.item_type, FeedEvent.item_id, FeedEvent.value)
        .where(viewer.events(),
               FeedEvent.item_type.in_([ItemType.PRODUCT.value, ItemType.SHOW.value]))
        .order_by(FeedEvent.occurred_at.desc()).limit(HISTORY_EVENTS)).all()
    return _weights((kind, item_type, item_id, 1, value)
                    for kind, item_type, item_id, value in rows)


def _similar(session: Session, signals: _Signals, history: Mapping[str, float]) -> None:
    """Item-to-item: the trained neighbours of what the viewer did, summed by weight; the
    "why" names the item that contributed most."""
    if not history:
        return
    codes = {model.item_code(*model.parse_item_key(key)): weight
             for key, weight in history.items()}
    best_source: dict[str, tuple[float, int]] = {}
    scores: dict[str, float] = {}
    for item_code, neighbour, score in session.execute(
            select(ItemNeighbour.item_code, ItemNeighbour.neighbour_code, ItemNeighbour.score)
            .where(ItemNeighbour.item_code.in_(codes))).all():
        if neighbour in codes:
            continue
        key = model.item_key(*model.item_of(neighbour))
        part = codes[item_code] * score
        scores[key] = scores.get(key, 0.0) + part
        if part > best_source.get(key, (0.0, 0))[0]:
            best_source[key] = (part, item_code)
    if not scores:
        return
    names = _names(session, {code for _, code in best_source.values()})
    for key, score in scores.items():
        signals.add(Source.SIMILAR, key, score, names.get(best_source[key][1], ""))


def _names(session: Session, codes: Collection[int]) -> dict[int, str]:
    """Titles of products and shows, by item code (for "Because you watched ...")."""
    product_ids = [model.item_of(c)[1] for c in codes if model.item_of(c)[0] is ItemType.PRODUCT]
    show_ids = [model.item_of(c)[1] for c in codes if model.item_of(c)[0] is ItemType.SHOW]
    names = {model.item_code(ItemType.PRODUCT, i): title for i, title in session.execute(
        select(Product.id, Product.title).where(Product.id.in_(product_ids)))}
    names |= {model.item_code(ItemType.SHOW, i): title for i, title in session.execute(
        select(Show.id, Show.title).where(Show.id.in_(show_ids)))}
    return names


def _live_now(session: Session, signals: _Signals, market: str, viewers_of: ViewersOf) -> None:
    for show_id in session.scalars(select(Show.id).where(
            Show.status == ShowStatus.LIVE, Show.removed_at.is_(None),
            Show.markets.contains(f",{market},")).limit(50)):
        signals.add(Source.LIVE_NOW, model.item_key(ItemType.SHOW, show_id),
                    1.0 + math.log1p(viewers_of(show_id)), "")


NEW_ITEMS = 60


def _new(session: Session, signals: _Signals, market: str) -> None:
    """The newest products and the next shows (newest and soonest score most): what a
    newcomer's feed holds before anyone interacted with anything."""
    rows = session.execute(select(Product.id, Shop.name).join(Shop, Shop.id == Product.shop_id)
                           .where(Product.status == "active")
                           .order_by(Product.id.desc()).limit(NEW_ITEMS)).all()
    for rank, (product_id, shop_name) in enumerate(rows):
        signals.add(Source.NEW, model.item_key(ItemType.PRODUCT, product_id),
                    1.0 - rank / (2 * NEW_ITEMS), shop_name)
    upcoming = session.execute(select(Show.id, Shop.name).join(Shop, Shop.id == Show.shop_id)
                               .where(Show.status == ShowStatus.SCHEDULED,
                                      Show.removed_at.is_(None),
                                      Show.markets.contains(f",{market},"))
                               .order_by(Show.scheduled_at).limit(12)).all()
    for rank, (show_id, shop_name) in enumerate(upcoming):
        signals.add(Source.NEW, model.item_key(ItemType.SHOW, show_id), 1.0 - rank / 24,
                    shop_name)


def _dismissals(session: Session, viewer: Viewer) -> tuple[set[str], dict[int, int]]:
    keys: set[str] = set()
    shops: dict[int, int] = {}
    for item_type, item_id, shop_id in session.execute(
            select(FeedDismissal.item_type, FeedDismissal.item_id, FeedDismissal.shop_id)
            .where(FeedDismissal.viewer == viewer.key)):
        keys.add(model.item_key(ItemType(item_type), item_id))
        shops[shop_id] = shops.get(shop_id, 0) + 1
    return keys, shops


def _bought(session: Session, user_id: int | None) -> set[int]:
    if user_id is None:
        return set()
    return set(session.scalars(
        select(Variant.product_id).join(OrderLine, OrderLine.variant_id == Variant.id)
        .join(Order, Order.id == OrderLine.order_id)
        .where(Order.buyer_id == user_id,
               Order.status.in_(("paid", "shipped", "delivered")))))


# --- ranking -------------------------------------------------------------------------------

def rank_for_you(db: Database, state: FeedState, viewer: Viewer, market: Market,
                 viewers_of: ViewersOf) -> list[Scored]:
    signals = _Signals()
    for key, score in popular(db, state, market.code).items():
        signals.add(Source.POPULAR, key, score, market.name)
    with db.read() as session:
        if viewer.user_id is not None:
            creators, shops = _follows(session, viewer.user_id)
            _social(session, signals, viewer.user_id, market.code, creators, shops)
        _similar(session, signals, _history(session, viewer))
        _live_now(session, signals, market.code, viewers_of)
        _new(session, signals, market.code)
        dismissed, dismissed_shops = _dismissals(session, viewer)
        keys = model.shortlist(signals.by_source, SHORTLIST + len(dismissed))
        items, _, _ = _items(session, keys, market)
        bought = _bought(session, viewer.user_id)
    return model.rank_for_you(items, signals.by_source, market=market.code,
                              dismissed=dismissed, dismissed_shops=dismissed_shops,
                              bought=bought)


def rank_following(db: Database, viewer: Viewer, market: Market) -> list[Scored]:
    if viewer.user_id is None:
        return []
    with db.read() as session:
        creators, shops = _follows(session, viewer.user_id)
        keys = {model.item_key(ItemType.SHOW, show.id)
                for show in _followed_shows(session, creators, shops, market.code)}
        if shops:
            keys |= {model.item_key(ItemType.PRODUCT, product_id) for product_id in
                     session.scalars(select(Product.id).where(
                         Product.shop_id.in_(shops), Product.status == "active")
                         .order_by(Product.id.desc()).limit(60))}
        items, _, shows = _items(session, keys, market)
        dismissed, _ = _dismissals(session, viewer)
    ranked = model.rank_following(items.values(), market.code, dismissed)
    named = []
    for scored in ranked:
        show = shows.get(scored.item.item_id) if scored.item.item_type is ItemType.SHOW else None
        subject = _followed_name(show, creators, shops) if show else ""
        named.append(model.with_subject(scored, subject) if subject else scored)
    return named


# --- pages ---------------------------------------------------------------------------------

def feed_page(db: Database, state: FeedState, viewer: Viewer, market: Market, tab: Tab,
              cursor: str | None, viewers_of: ViewersOf) -> FeedPage:
    """One page of a tab. The first page ranks the feed as of now and keeps the ranking;
    a cursor's page reads the kept ranking (or ranks again as of the cursor's moment, in
    another process), so arriving items never repeat or push cards between pages. Every
    card is checked against the rules again as it is shown."""
    if cursor:
        position = model.Cursor.decode(cursor)
        if position is None:
            raise InvalidInput("Not a cursor this feed gave out", field="cursor")
    else:
        position = model.Cursor(int(time.time() * 1000), 0)
    ranking_key = (viewer.key, tab, market.code, position.as_of)
    ranked = state.ranking(ranking_key)
    if ranked is None:
        scored = (rank_for_you(db, state, viewer, market, viewers_of) if tab == "for_you"
                  else rank_following(db, viewer, market))
        as_of = datetime.fromtimestamp(position.as_of / 1000, tz=utcnow().tzinfo)
        entries = [(s.item.key, model.why(s.reason, s.item.kind)) for s in scored
                   if s.item.item_type is not ItemType.PRODUCT or s.item.at is None
                   or s.item.at <= as_of][:model.MAX_ITEMS]
        state.keep(ranking_key, entries)
        ranked = state.ranking(ranking_key) or _Ranked(entries, time.monotonic())
    window = ranked.entries[position.offset:position.offset + model.PAGE_SIZE]
    end = position.offset + len(window)
    next_cursor = (model.Cursor(position.as_of, end).encode()
                   if end < len(ranked.entries) else None)
    return FeedPage(tab=tab, items=cards(db, viewer, market, window, viewers_of),
                    next_cursor=next_cursor)


def cards(db: Database, viewer: Viewer, market: Market, entries: Sequence[tuple[str, str]],
          viewers_of: ViewersOf) -> list[FeedCard]:
    """The cards of ranked entries (key, why), dropping any that may no longer be shown
    (sold out, suspended, taken down since it was ranked)."""
    with db.read() as session:
        items, product_cards, shows = _items(session, [key for key, _ in entries], market)
        views = {view.id: view for view in live_shows.show_views(session, list(shows.values()))}
        reminded: set[int] = set()
        followed: set[int] = set()
        if viewer.user_id is not None and views:
            reminded = set(session.scalars(select(ShowReminder.show_id).where(
                ShowReminder.user_id == viewer.user_id, ShowReminder.show_id.in_(views))))
            followed = set(session.scalars(select(CreatorFollow.creator_id).where(
                CreatorFollow.follower_id == viewer.user_id,
                CreatorFollow.creator_id.in_({v.host_id for v in views.values()}))))
    out = []
    for key, why in entries:
        item = items.get(key)
        if item is None or not model.can_show(item, market.code):
            continue
        if item.item_type is ItemType.PRODUCT:
            out.append(_product_card(product_cards[item.item_id], why))
        else:
            out.append(_show_card(views[item.item_id], item, why, reminded, followed,
                                  viewers_of))
    return out


def _product_card(card: ProductCard, why: str) -> FeedCard:
    price = card.price_formatted and (f"from {card.price_formatted}" if card.price_varies
                                      else card.price_formatted)
    return FeedCard(key=model.item_key(ItemType.PRODUCT, card.id), item_type="product",
                    item_id=card.id, kind="product", title=card.title,
                    url=f"/products/{card.id}", image_url=card.image_url,
                    shop_id=card.shop_id, shop_name=card.shop_name, host_id=None,
                    host_name=None, why=why, price_formatted=price, in_stock=card.in_stock)


def _show_card(view: ShowView, item: Item, why: str, reminded: set[int], followed: set[int],
               viewers_of: ViewersOf) -> FeedCard:
    live = item.kind is CardKind.LIVE
    return FeedCard(key=item.key, item_type="show", item_id=view.id, kind=item.kind.value,
                    title=view.title, url=view.url, image_url=view.cover_url,
                    shop_id=view.shop_id, shop_name=view.shop_name, host_id=view.host_id,
                    host_name=view.host_name, why=why,
                    viewers=viewers_of(view.id) if live else None,
                    starts_at=view.scheduled_at if item.kind is CardKind.UPCOMING else None,
                    reminded=view.id in reminded, following_host=view.host_id in followed)


# --- not interested ------------------------------------------------------------------------

def not_interested(db: Database, state: FeedState, viewer: Viewer, item_type: ItemType,
                   item_id: int) -> None:
    """Hide the item from the viewer's feed for good and rank its shop lower; repeating it
    changes nothing."""
    with db.transaction() as session:
        if item_type is ItemType.PRODUCT:
            shop_id = session.scalar(select(Product.shop_id).where(Product.id == item_id))
        else:
            shop_id = session.scalar(select(Show.shop_id).where(Show.id == item_id))
        if shop_id is None:
            raise NotFound(f"No such {item_type.value}", field="item_id")
        exists = session.scalar(select(FeedDismissal.id).where(
            FeedDismissal.viewer == viewer.key, FeedDismissal.item_type == item_type.value,
            FeedDismissal.item_id == item_id))
        if exists is None:
            session.add(FeedDismissal(viewer=viewer.key, item_type=item_type.value,
                                      item_id=item_id, shop_id=shop_id))
    state.forget(viewer)
    state.writer.put(Interaction(EventKind.NOT_INTERESTED, item_type, item_id,
                                 user_id=viewer.user_id, visitor_id=viewer.visitor_id,
                                 shop_id=shop_id))
