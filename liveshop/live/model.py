"""Rules of a live show, free of HTTP and SQL."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import IntEnum, StrEnum

from liveshop.core.errors import Conflict, Forbidden, InvalidInput
from liveshop.core.idempotency import fingerprint
from liveshop.core.inputs import clean_line

PROTOCOL_VERSION = 1
CHAT_MAX_LENGTH = 300
CHAT_HISTORY = 50
# Per-user chat limit on top of any slow mode the host sets.
CHAT_BURST = 5
CHAT_BURST_WINDOW_SECONDS = 10
MAX_MUTE_MINUTES = 24 * 60
MAX_SALE_MINUTES = 120
MAX_SLOW_MODE_SECONDS = 300


class ShowStatus(StrEnum):
    SCHEDULED = "scheduled"
    LIVE = "live"
    ENDED = "ended"


_NEXT = {ShowStatus.SCHEDULED: {ShowStatus.LIVE, ShowStatus.ENDED},
         ShowStatus.LIVE: {ShowStatus.ENDED}, ShowStatus.ENDED: set()}


def ensure_show_transition(current: str, target: ShowStatus) -> None:
    if target not in _NEXT[ShowStatus(current)]:
        raise Conflict(f"A {current} show cannot become {target}", code="illegal_transition",
                       field="status")


class RoomRank(IntEnum):
    """Where a person stands in one show's room. Moderation reaches only down this ladder,
    so a show moderator cannot act against the people who run the room or the platform."""

    VIEWER = 0
    MODERATOR = 1  # appointed to this show by its host
    HOST = 2  # hosts this show, or is a creator the shop invited to host its shows
    OWNER = 3  # owns the show's shop
    STAFF = 4  # a platform admin or moderator


def ensure_may_moderate(actor: RoomRank, target: RoomRank, *, field: str) -> None:
    """Deleting someone's chat message (and the rank part of muting and banning)."""
    if target >= actor:
        raise Forbidden("Moderators can only act on people below them in the room",
                        field=field)


def ensure_may_silence(actor: RoomRank, target: RoomRank) -> None:
    """Mutes and bans. The shop's owner and its hosts run its rooms and are never muted or
    banned there, not even by platform staff (who suspend the account or end the show
    instead); a ban would only lock them out of their own show. Platform staff are not a
    shop's to silence either."""
    if target >= RoomRank.HOST:
        raise Forbidden("The shop's owner, its hosts and platform staff cannot be muted or "
                        "banned in its shows", field="user_id")
    ensure_may_moderate(actor, target, field="user_id")


def clean_chat_text(text: str) -> str:
    """One line of plain text (control characters and line breaks refused, whitespace
    trimmed), length capped. HTML is kept as typed and escaped where it is shown."""
    cleaned = clean_line(text, field="text")
    if not cleaned:
        raise InvalidInput("Write something first", field="text")
    if len(cleaned) > CHAT_MAX_LENGTH:
        raise InvalidInput(f"Messages are at most {CHAT_MAX_LENGTH} characters", field="text")
    return cleaned


_WORDS = re.compile(r"[\w']+", re.UNICODE)


def banned_word_in(text: str, banned: set[str]) -> str | None:
    for word in _WORDS.findall(text.casefold()):
        if word in banned:
            return word
    return None


def normalise_banned_word(word: str) -> str:
    cleaned = word.strip().casefold()
    if not cleaned or not _WORDS.fullmatch(cleaned) or len(cleaned) > 60:
        raise InvalidInput("A banned word is one word of up to 60 letters", field="words")
    return cleaned


@dataclass(frozen=True)
class SaleTerms:
    prices: dict[str, int]
    quantity: int
    per_buyer_limit: int
    duration: timedelta


def validate_sale(prices: dict[str, int], quantity: int, per_buyer_limit: int,
                  duration_seconds: int, show_markets: set[str],
                  regular_prices: dict[str, int]) -> SaleTerms:
    if quantity < 1:
        raise InvalidInput("A sale needs at least one unit", field="quantity")
    if not 1 <= per_buyer_limit <= quantity:
        raise InvalidInput("The per-buyer limit is between 1 and the quantity",
                           field="per_buyer_limit")
    if not 10 <= duration_seconds <= MAX_SALE_MINUTES * 60:
        raise InvalidInput(f"A sale lasts 10 s to {MAX_SALE_MINUTES} min",
                           field="duration_seconds")
    missing = show_markets - set(prices)
    if missing:
        raise InvalidInput(f"Give a sale price for {', '.join(sorted(missing))}",
                           field=f"prices.{sorted(missing)[0]}")
    for market, amount in prices.items():
        if market not in show_markets:
            raise InvalidInput(f"The show does not sell in {market}", field=f"prices.{market}")
        if amount <= 0:
            raise InvalidInput("A sale price is above zero", field=f"prices.{market}")
        regular = regular_prices.get(market)
        if regular is None:
            raise InvalidInput(f"The product has no price in {market}", field=f"prices.{market}")
        if amount >= regular:
            raise InvalidInput("A sale price is below the regular price",
                               field=f"prices.{market}")
    return SaleTerms(dict(prices), quantity, per_buyer_limit, timedelta(seconds=duration_seconds))


def sale_is_open(status: str, remaining: int, ends_at: datetime, now: datetime) -> bool:
    return status == "active" and remaining > 0 and now < ends_at


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def market_codes(markets: str) -> list[str]:
    """The codes of a show's stored ``markets`` column (",UK,DE,")."""
    return [code for code in markets.strip(",").split(",") if code]


# --- buying in a room ---


class SoldOut(Conflict):
    code = "sold_out"


def sold_out() -> SoldOut:
    return SoldOut("Sold out", field="variant_id")


def limit_reached(limit: int) -> Conflict:
    return Conflict(f"The limit is {limit} per buyer for this sale", field="quantity",
                    code="limit_reached")


def tap_fingerprint(show_id: int, variant_id: int, quantity: int, market_code: str) -> str:
    """What a tap asks for, as its Idempotency-Key remembers it: a key reused for another
    tap is refused (422)."""
    return fingerprint("live.buy", {"show": show_id, "variant": variant_id,
                                    "quantity": quantity, "market": market_code})


@dataclass(frozen=True)
class PurchaseTerms:
    """What a tap in a live room buys at, decided once per Idempotency-Key and stored with
    it, so a retry after a crash gets the same terms even if the sale has ended meanwhile.
    ``sale_id`` None: the regular price."""

    # The creator hosting the show earns from its orders; None when the shop hosts itself.
    creator_id: int | None
    sale_id: int | None
    sale_price: int | None


@dataclass(frozen=True)
class RoomForTap:
    """A show as a tap sees it, with the flash sale running on the tapped variant, if any."""

    status: str
    markets: str
    creator_id: int | None
    sale_id: int | None
    per_buyer_limit: int
    prices: dict[str, int]
    remaining: int  # units of the sale left when read
    version: int  # the sale's, when read
    sells_variant: bool  # the variant's product is in the lineup, or it is the sale's
    ships_to: frozenset[str]  # of the markets asked about, those the shop ships to

    def terms(self, market_code: str) -> PurchaseTerms:
        """What a tap in ``market_code`` buys at, or why the room does not sell it."""
        if self.status == ShowStatus.SCHEDULED:
            raise Conflict("Buying opens when the show goes live", field="show_id")
        if not self.sells_variant:
            raise InvalidInput("This show does not sell that product", field="variant_id")
        if market_code not in market_codes(self.markets):
            raise Conflict(f"This show does not sell in {market_code}", field="market")
        if market_code not in self.ships_to:
            raise Conflict(f"The shop does not ship to {market_code}", field="market")
        if self.sale_id is None:
            return PurchaseTerms(self.creator_id, None, None)
        return PurchaseTerms(self.creator_id, self.sale_id, int(self.prices[market_code]))


def one_tap_per_buyer(buyers: Sequence[int]) -> tuple[list[int], list[int]]:
    """The positions of each buyer's first tap, and of the others (a buyer's taps are
    counted against the per-buyer limit one at a time, so the others wait for a later
    round)."""
    seen: set[int] = set()
    firsts: list[int] = []
    later: list[int] = []
    for index, buyer in enumerate(buyers):
        (later if buyer in seen else firsts).append(index)
        seen.add(buyer)
    return firsts, later


@dataclass(frozen=True)
class Fitting:
    """Which taps the units left serve, by position: first come, first served."""

    served: list[int]
    too_many: list[int]  # want more units than are left at all: sold out for them
    later: list[int]  # would fit alone, not after those before them: a later round


def fit_to_units_left(quantities: Sequence[int], remaining: int) -> Fitting:
    """The first taps whose units the ``remaining`` units cover. A tap after the first
    that does not fit waits for a later round rather than let later taps pass it: a unit
    may come back (a declined card) or the taps before it may be refused."""
    served: list[int] = []
    too_many: list[int] = []
    later: list[int] = []
    wanted = 0
    for index, quantity in enumerate(quantities):
        if quantity > remaining:
            too_many.append(index)
        elif not later and wanted + quantity <= remaining:
            wanted += quantity
            served.append(index)
        else:
            later.append(index)
    return Fitting(served, too_many, later)


def within_limit(held: int, quantity: int, limit: int) -> bool:
    """The per-buyer limit: the units a buyer holds of one sale never pass it (the claim
    checks it with the count, in the same conditional statement)."""
    return held + quantity <= limit
