"""Rules of a live show, free of HTTP and SQL."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import IntEnum, StrEnum

from liveshop.core.errors import Conflict, Forbidden, InvalidInput
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
