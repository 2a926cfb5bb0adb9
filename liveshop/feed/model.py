"""The feed's rules, pure: which interactions count how much, what an item may be shown
to a viewer, how sources of candidates mix into one ranking, the shop-diversity and
already-bought rules, each card's "why", and the cursor. No database, no framework: the
service (liveshop/feed/service.py) gathers the facts and asks these functions."""

from __future__ import annotations

import base64
import binascii
import enum
from collections import Counter, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta


class EventKind(enum.StrEnum):
    IMPRESSION = "impression"
    CLICK = "click"
    WATCH = "watch"  # value: seconds watched since the last heartbeat
    LIKE = "like"
    CHAT = "chat"
    ADD_TO_CART = "add_to_cart"
    PURCHASE = "purchase"  # value: units
    FOLLOW = "follow"
    SHARE = "share"
    NOT_INTERESTED = "not_interested"


# What the browser may send; the rest are recorded by the server from domain events (a
# purchase, a follow, a cart line or a chat message the browser could claim falsely).
BROWSER_KINDS = frozenset({EventKind.IMPRESSION, EventKind.CLICK, EventKind.WATCH,
                           EventKind.LIKE, EventKind.SHARE})


class ItemType(enum.StrEnum):
    PRODUCT = "product"
    SHOW = "show"
    SHOP = "shop"
    CREATOR = "creator"


# How much one interaction says about taste, for training (an impression says nothing by
# itself; a purchase the most). Watching counts per minute, capped, so a tab left open
# does not outweigh a purchase.
KIND_WEIGHTS: Mapping[EventKind, float] = {
    EventKind.IMPRESSION: 0.0, EventKind.CLICK: 1.0, EventKind.WATCH: 1.0,
    EventKind.LIKE: 3.0, EventKind.CHAT: 2.0, EventKind.ADD_TO_CART: 4.0,
    EventKind.PURCHASE: 8.0, EventKind.FOLLOW: 5.0, EventKind.SHARE: 3.0,
    EventKind.NOT_INTERESTED: 0.0,
}
MAX_WATCH_MINUTES = 5.0


def interaction_weight(kind: EventKind, value: float) -> float:
    if kind is EventKind.WATCH:
        return KIND_WEIGHTS[kind] * min(max(value, 0.0) / 60.0, MAX_WATCH_MINUTES)
    return KIND_WEIGHTS[kind]


def aggregate_weight(kind: EventKind, count: int, value_sum: float) -> float:
    """``interaction_weight`` of ``count`` events of one kind whose values sum to
    ``value_sum`` (watching capped per event on average)."""
    if kind is EventKind.WATCH:
        return KIND_WEIGHTS[kind] * min(max(value_sum, 0.0) / 60.0, MAX_WATCH_MINUTES * count)
    return KIND_WEIGHTS[kind] * count


# Products and shows share one item space for the item-to-item model: an even code is a
# product, an odd one a show.
def item_code(item_type: ItemType, item_id: int) -> int:
    return item_id * 2 + (1 if item_type is ItemType.SHOW else 0)


def item_of(code: int) -> tuple[ItemType, int]:
    return (ItemType.SHOW if code % 2 else ItemType.PRODUCT), code // 2


# --- bad input ---------------------------------------------------------------------

MAX_BATCH = 100
# An event's own time may be this far behind the server's (a beacon sent when a tab closes
# after a night asleep) or ahead of it (a fast clock), no more.
MAX_EVENT_AGE = timedelta(days=2)
MAX_EVENT_LEAD = timedelta(minutes=5)
MAX_WATCH_SECONDS = 600.0


def time_problem(occurred_at: datetime, now: datetime) -> str | None:
    if occurred_at > now + MAX_EVENT_LEAD:
        return "is in the future"
    if occurred_at < now - MAX_EVENT_AGE:
        return "is too far in the past"
    return None


# --- candidates ----------------------------------------------------------------------

class CardKind(enum.StrEnum):
    LIVE = "live"
    UPCOMING = "upcoming"
    REPLAY = "replay"
    PRODUCT = "product"


class Source(enum.StrEnum):
    FOLLOWED_LIVE = "followed_live"  # a shop or creator the viewer follows is live
    SOCIAL = "social"  # people or creators the viewer follows host, promote, buy, like it
    SIMILAR = "similar"  # item-to-item from what the viewer did
    POPULAR = "popular"  # popular in the viewer's market
    LIVE_NOW = "live_now"  # on air now
    NEW = "new"  # new in the market: the feed of a site with no events yet is not empty


# How much each source's (0..1 normalised) score weighs in the mix.
SOURCE_WEIGHTS: Mapping[Source, float] = {
    Source.FOLLOWED_LIVE: 3.0, Source.SOCIAL: 2.0, Source.SIMILAR: 1.5,
    Source.POPULAR: 0.6, Source.LIVE_NOW: 0.8, Source.NEW: 0.2,
}


@dataclass(frozen=True)
class Reason:
    source: Source
    # The name in the "why": the followed creator or shop, the market, the watched item.
    subject: str = ""


@dataclass(frozen=True)
class Item:
    """What the rules need to know of a candidate (a product or a show)."""

    item_type: ItemType
    item_id: int
    kind: CardKind
    # None: a creator's own show, selling several shops' products.
    shop_id: int | None
    markets: frozenset[str]
    # Products: active and priced in the market and in stock; shows: listed.
    active: bool = True
    in_stock: bool = True
    private: bool = False
    shop_suspended: bool = False
    host_id: int | None = None
    # When it appeared (a product created, a show scheduled, started or ended): newest first.
    at: datetime | None = None
    consumable: bool = False

    @property
    def key(self) -> str:
        return f"{self.item_type.value}:{self.item_id}"

    @property
    def seller(self) -> tuple[str, int]:
        """Whose card it is, for the shop-diversity rule: its shop, or for a creator's own
        show (no shop), its host."""
        if self.shop_id is not None:
            return ("shop", self.shop_id)
        return ("creator", self.host_id or 0)


def item_key(item_type: ItemType, item_id: int) -> str:
    return f"{item_type.value}:{item_id}"


def parse_item_key(key: str) -> tuple[ItemType, int]:
    kind, _, number = key.partition(":")
    return ItemType(kind), int(number)


def can_show(item: Item, market: str) -> bool:
    """Only what the viewer can buy or watch in their market: never a draft or archived
    product, an out-of-stock one, a private or removed show, or a suspended shop's item,
    whatever a model or a follow says."""
    return (market in item.markets and item.active and not item.private
            and not item.shop_suspended
            and (item.item_type is not ItemType.PRODUCT or item.in_stock))


@dataclass(frozen=True)
class Scored:
    item: Item
    score: float
    reasons: tuple[tuple[float, Reason], ...] = field(default=())

    @property
    def reason(self) -> Reason | None:
        """The strongest contribution: what the card's "why" says."""
        return max(self.reasons, key=lambda pair: pair[0])[1] if self.reasons else None


Signals = Mapping[Source, Mapping[str, tuple[float, str]]]


def _weighted(signals: Signals) -> tuple[dict[str, float], dict[str, list[tuple[float, Reason]]]]:
    """Each source normalised to 0..1 by its best item, weighted, summed per item."""
    totals: dict[str, float] = {}
    reasons: dict[str, list[tuple[float, Reason]]] = {}
    for source, scores in signals.items():
        best = max((score for score, _ in scores.values()), default=0.0)
        if best <= 0:
            continue
        for key, (score, subject) in scores.items():
            if score <= 0:
                continue
            part = SOURCE_WEIGHTS[source] * score / best
            totals[key] = totals.get(key, 0.0) + part
            reasons.setdefault(key, []).append((part, Reason(source, subject)))
    return totals, reasons


def shortlist(signals: Signals, size: int) -> list[str]:
    """The ``size`` best candidates before the rules: only their facts are read (the
    rules can only remove items or lower them, so a feed page is drawn from these)."""
    totals, _ = _weighted(signals)
    return sorted(totals, key=lambda key: -totals[key])[:size]


def mix(items: Mapping[str, Item], signals: Signals, *, market: str,
        dismissed: Iterable[str] = (), dismissed_shops: Mapping[int, int] | None = None
        ) -> list[Scored]:
    """One ranking from every source's scores (key -> (raw score, subject)): each source
    is normalised to 0..1 by its best and weighted (``SOURCE_WEIGHTS``); items the viewer
    may not see or said "not interested" in are left out, and each "not interested" in a
    shop halves that shop's other items. Ties: the newest first, then the id."""
    hidden = set(dismissed)
    totals, reasons = _weighted(signals)
    penalties = dismissed_shops or {}
    ranked = []
    for key, total in totals.items():
        item = items.get(key)
        if item is None or key in hidden or not can_show(item, market):
            continue
        if item.shop_id is not None:
            total *= 0.5 ** penalties.get(item.shop_id, 0)
        ranked.append(Scored(item, total, tuple(reasons[key])))
    ranked.sort(key=lambda s: (-s.score, -(s.item.at.timestamp() if s.item.at else 0),
                               s.item.key))
    return ranked


PER_SHOP = 2
WINDOW = 10


def diversify(ranked: Sequence[Scored], per_shop: int = PER_SHOP,
              window: int = WINDOW) -> list[Scored]:
    """At most ``per_shop`` items of one shop in any ``window`` consecutive cards: each
    place takes the best remaining item whose shop has room in the last ``window - 1``
    places. When no remaining item has room (a market with only a shop or two), the best
    remaining one takes the place: the feed never ends early for want of other shops."""
    remaining = list(ranked)
    placed: list[Scored] = []
    recent: deque[tuple[str, int]] = deque(maxlen=window - 1)
    while remaining:
        counts = Counter(recent)
        index = next((i for i, s in enumerate(remaining)
                      if counts[s.item.seller] < per_shop), 0)
        chosen = remaining.pop(index)
        placed.append(chosen)
        recent.append(chosen.item.seller)
    return placed


TOP = 10


def bought_out_of_top(ranked: Sequence[Scored], bought: Iterable[int],
                      top: int = TOP) -> list[Scored]:
    """No product the viewer already bought (unless consumable) among the first ``top``:
    such items move to just after them, in their order."""
    owned = set(bought)

    def already_bought(scored: Scored) -> bool:
        item = scored.item
        return (item.item_type is ItemType.PRODUCT and item.item_id in owned
                and not item.consumable)

    fresh = [s for s in ranked if not already_bought(s)]
    again = [s for s in ranked if already_bought(s)]
    return fresh[:top] + again + fresh[top:]


def rank_for_you(items: Mapping[str, Item], signals: Signals, *, market: str,
                 dismissed: Iterable[str] = (), dismissed_shops: Mapping[int, int] | None = None,
                 bought: Iterable[int] = ()) -> list[Scored]:
    """The For-you order: mixed, then diversified by shop, then already-bought moved down
    (diversity once more, as the move may have brought two shops' items together)."""
    mixed = mix(items, signals, market=market, dismissed=dismissed,
                dismissed_shops=dismissed_shops)
    return diversify(bought_out_of_top(diversify(mixed), bought))


FOLLOWING_ORDER = (CardKind.LIVE, CardKind.UPCOMING, CardKind.PRODUCT, CardKind.REPLAY)


def rank_following(items: Iterable[Item], market: str, dismissed: Iterable[str] = ()
                   ) -> list[Scored]:
    """The Following order: live now first, then upcoming shows (soonest first), then new
    products and replays together, newest first."""
    hidden = set(dismissed)
    visible = [item for item in items if can_show(item, market) and item.key not in hidden]

    def order(item: Item) -> tuple[int, float, str]:
        stamp = item.at.timestamp() if item.at else 0.0
        if item.kind is CardKind.LIVE:
            return 0, -stamp, item.key
        if item.kind is CardKind.UPCOMING:
            return 1, stamp, item.key
        return 2, -stamp, item.key

    return [Scored(item, 0.0, ((1.0, Reason(Source.FOLLOWED_LIVE)),)
                   if item.kind is CardKind.LIVE else ())
            for item in sorted(visible, key=order)]


def why(reason: Reason | None, kind: CardKind) -> str:
    """The card's one line on why it is there."""
    if reason is None:
        return ""
    subject = reason.subject
    if reason.source is Source.FOLLOWED_LIVE:
        return f"{subject}, whom you follow, is live" if subject else "Live from whom you follow"
    if reason.source is Source.SOCIAL:
        return f"Because you follow {subject}" if subject else "Liked by people you follow"
    if reason.source is Source.SIMILAR:
        return f"Because you watched {subject}" if subject else "Like what you watched"
    if reason.source is Source.POPULAR:
        return f"Popular in {subject}" if subject else "Popular now"
    if reason.source is Source.NEW:
        if kind is CardKind.UPCOMING:
            return f"Coming up from {subject}" if subject else "Coming up"
        return f"New from {subject}" if subject else "New"
    return "Live now" if kind is CardKind.LIVE else "On now"


def with_subject(scored: Scored, subject: str) -> Scored:
    """``scored`` with its strongest reason naming ``subject``."""
    reason = scored.reason
    if reason is None:
        return scored
    return replace(scored, reasons=((1e9, Reason(reason.source, subject)),))


# --- cursor ----------------------------------------------------------------------------

PAGE_SIZE = 10
MAX_ITEMS = 200


@dataclass(frozen=True)
class Cursor:
    """Where the next page starts in a feed ranked as of ``as_of``: the ranking is kept
    (or rebuilt as of that moment), so items arriving meanwhile neither repeat nor shift
    what the next page holds."""

    as_of: int  # ms since the epoch
    offset: int

    def encode(self) -> str:
        return base64.urlsafe_b64encode(f"{self.as_of}.{self.offset}".encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor | None:
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
            as_of, offset = (int(part) for part in raw.split("."))
        except (ValueError, binascii.Error, UnicodeDecodeError):
            return None
        if as_of < 0 or not 0 <= offset <= MAX_ITEMS:
            return None
        return cls(as_of, offset)
