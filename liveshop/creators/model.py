"""Affiliate rules: rates, attribution, commission, clawbacks, platform fees, and the journal
entries a paid or refunded order line produces. Pure: no HTTP, no SQL, integer minor units.

docs/creators.md states the same rules with worked examples.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from urllib.parse import urlencode

from liveshop.core.errors import Conflict, InvalidInput
from liveshop.core.money import divide_half_up
from liveshop.ledger.model import AccountKey, JournalEntry, SourceKey, entry
from liveshop.markets.model import MARKETS, Market, get_market

BASIS_POINTS = 10_000  # 100%
# An affiliate plan's commission: 1% to 80% of the line's net price (TikTok Shop's bounds).
MIN_RATE_BP = 100
MAX_RATE_BP = 8_000
# The platform's fee per market. At most 20%: with a commission of at most 80% the seller's
# share of a line is never negative.
DEFAULT_FEE_BP = 500
MAX_FEE_BP = 2_000
# A share link or showcase click earns the sale for this long (configurable per platform).
DEFAULT_ATTRIBUTION_WINDOW = timedelta(days=7)
MAX_ATTRIBUTION_WINDOW = timedelta(days=90)

# Sources of journal entries (ledger SourceKey kinds): one entry per source, ever.
LINE_PAID = "order_line_paid"
LINE_REFUNDED = "order_line_refunded"
SHIPPING_PAID = "order_shipping_paid"
SHIPPING_REFUNDED = "order_shipping_refunded"


# --- rates and fees ---

def check_rate(rate_bp: int, field: str = "rate_bp") -> int:
    """A commission rate in basis points, 1% (100) to 80% (8000)."""
    if not _is_int(rate_bp) or not MIN_RATE_BP <= rate_bp <= MAX_RATE_BP:
        raise InvalidInput(
            f"A commission rate is {MIN_RATE_BP} to {MAX_RATE_BP} basis points "
            f"(1% to 80%), not {rate_bp!r}", field=field, code="rate_out_of_range")
    return rate_bp


def percent_to_bp(text: str, field: str = "rate_percent") -> int:
    """A rate typed as a percentage ("12", "12.5", "12,5 %") in basis points, checked."""
    cleaned = text.strip().rstrip("%").strip().replace(",", ".")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or value * 100 != int(value * 100):
        raise InvalidInput("Give the rate as a percentage, e.g. 12 or 12.5", field=field,
                           code="rate_out_of_range")
    return check_rate(int(value * 100), field=field)


def check_bonus(bonus_bp: int, rate_bp: int, field: str = "bonus_bp") -> int:
    """A platform-funded creator bonus on top of the seller's rate: the two together stay
    within the 80% a rate may be, so a creator never earns more than the line's net."""
    if not _is_int(bonus_bp) or bonus_bp < 0 or rate_bp + bonus_bp > MAX_RATE_BP:
        raise InvalidInput(
            f"A bonus is 0 to {MAX_RATE_BP - rate_bp} basis points on a rate of {rate_bp} "
            f"(rate and bonus together at most {MAX_RATE_BP}), not {bonus_bp!r}",
            field=field, code="bonus_out_of_range")
    return bonus_bp


def check_fee(fee_bp: int, field: str = "fee_bp") -> int:
    """A platform fee in basis points, 0 (a fee holiday) to 20%."""
    if not _is_int(fee_bp) or not 0 <= fee_bp <= MAX_FEE_BP:
        raise InvalidInput(f"A platform fee is 0 to {MAX_FEE_BP} basis points (0% to 20%), "
                           f"not {fee_bp!r}", field=field, code="fee_out_of_range")
    return fee_bp


def check_window(window: timedelta, field: str = "attribution_window") -> timedelta:
    if not timedelta(0) < window <= MAX_ATTRIBUTION_WINDOW:
        raise InvalidInput(f"An attribution window is more than nothing and at most "
                           f"{MAX_ATTRIBUTION_WINDOW.days} days", field=field)
    return window


@dataclass(frozen=True)
class FeeSchedule:
    """The platform fee of each market, in basis points (an admin sets them)."""

    fees_bp: Mapping[str, int] = field(
        default_factory=lambda: dict.fromkeys(MARKETS, DEFAULT_FEE_BP))

    def __post_init__(self) -> None:
        for market, fee_bp in self.fees_bp.items():
            get_market(market, field="fees_bp")
            check_fee(fee_bp, field=f"fees_bp.{market}")

    def fee_bp(self, market: str) -> int:
        return self.fees_bp.get(market, DEFAULT_FEE_BP)


def commission_on(net: int, rate_bp: int) -> int:
    """``rate_bp`` of a net amount, rounded half-up to the minor unit."""
    return divide_half_up(net * rate_bp, BASIS_POINTS)


# --- attribution ---

class Source(StrEnum):
    """Where a sale came from, strongest first."""

    LIVE_ROOM = "live_room"
    REPLAY = "replay"
    SHARE_LINK = "share_link"
    SHOWCASE = "showcase"
    NONE = "none"


CLICK_SOURCES = frozenset({Source.SHARE_LINK, Source.SHOWCASE})


@dataclass(frozen=True)
class Room:
    """The live room (or its replay) a line was bought in, and who hosted it."""

    show_id: int
    host_id: int
    live: bool = True  # False: bought while watching the replay


@dataclass(frozen=True)
class Click:
    """A buyer's click on a creator's share link (``?ref=``) or showcase."""

    creator_id: int
    at: datetime
    via: Source = Source.SHARE_LINK

    def __post_init__(self) -> None:
        if self.via not in CLICK_SOURCES:
            raise InvalidInput("A click comes from a share link or a showcase", field="via")


@dataclass(frozen=True)
class Attribution:
    creator_id: int | None
    source: Source
    why: str
    show_id: int | None = None


def attribute(*, buyer_id: int, seller_id: int, room: Room | None, clicks: Iterable[Click],
              now: datetime, window: timedelta = DEFAULT_ATTRIBUTION_WINDOW) -> Attribution:
    """Which creator, if any, a line bought now earns commission for.

    A purchase in a live room or its replay belongs to the room: its host earns it, unless
    the host is the seller (their own show earns nothing). Otherwise the buyer's last click
    on a creator's share link or showcase within ``window`` wins. Whoever wins, nobody earns
    from their own purchase (self-referral) or from their own shop's sale. Whether the
    creator has an active plan for the product (and its rate) is the caller's question.
    """
    check_window(window)
    if room is not None:
        source = Source.LIVE_ROOM if room.live else Source.REPLAY
        if room.host_id == seller_id:
            return Attribution(None, Source.NONE, "bought in the seller's own show",
                               room.show_id)
        return _unless_own(Attribution(room.host_id, source, f"bought in show {room.show_id}",
                                       room.show_id), buyer_id, seller_id)
    recent = [click for click in clicks if now - window <= click.at <= now]
    if not recent:
        return Attribution(None, Source.NONE, "no show and no click within the window")
    last = max(recent, key=lambda click: click.at)
    return _unless_own(Attribution(last.creator_id, last.via,
                                   f"last click on {last.at.isoformat()}"),
                       buyer_id, seller_id)


def _unless_own(candidate: Attribution, buyer_id: int, seller_id: int) -> Attribution:
    if candidate.creator_id == buyer_id:
        return Attribution(None, Source.NONE, "self-referral: the creator is the buyer",
                           candidate.show_id)
    if candidate.creator_id == seller_id:
        return Attribution(None, Source.NONE, "the creator is the seller", candidate.show_id)
    return candidate


# --- handles, share links, samples ---

# A creator's handle: their page's address (/@handle) and their share links' ``ref``.
HANDLE_PATTERN = re.compile(r"[a-z0-9_]{3,30}")
HANDLE_MAX = 30


def check_handle(handle: str, field: str = "handle") -> str:
    """3 to 30 lower-case letters, digits or underscores."""
    if not isinstance(handle, str) or not HANDLE_PATTERN.fullmatch(handle):
        raise InvalidInput("A handle is 3 to 30 lower-case letters, digits or underscores",
                           field=field, code="bad_handle")
    return handle


def parse_ref(ref: str | None) -> str | None:
    """The handle a share link's ``ref`` names, or None when it cannot be one (empty, too
    long, other characters): such a value is ignored on pages, and refused by the API."""
    if not ref:
        return None
    candidate = ref.strip().lower().removeprefix("@")
    return candidate if HANDLE_PATTERN.fullmatch(candidate) else None


def derive_handle(display_name: str, user_id: int, taken: Collection[str]) -> str:
    """A free handle from a name ("Nina Live" -> "ninalive"), else ``creator<id>``; a
    number is added while it is taken ("ninalive2")."""
    ascii_name = unicodedata.normalize("NFKD", display_name).encode("ascii", "ignore").decode()
    stem = re.sub(r"[^a-z0-9]+", "", ascii_name.lower())[:HANDLE_MAX - 4]
    if len(stem) < 3:
        stem = f"creator{user_id}"[:HANDLE_MAX - 4]
    handle, number = stem, 1
    while handle in taken:
        number += 1
        handle = f"{stem}{number}"
    return handle


def share_link(path: str, handle: str) -> str:
    """A page's address with the creator's ref: ``/products/7?ref=ninalive``."""
    return f"{path}?{urlencode({'ref': handle})}"


class SampleStatus(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    DECLINED = "declined"


def decide_sample(status: str, approve: bool) -> SampleStatus:
    """A request is decided once: approved or declined, never both, never twice."""
    if status != SampleStatus.REQUESTED:
        raise Conflict(f"This sample request was {status} already", field="request_id",
                       code="sample_decided")
    return SampleStatus.APPROVED if approve else SampleStatus.DECLINED


class MarketplaceSort(StrEnum):
    RATE = "rate"  # highest commission first
    SALES = "sales"  # most units sold in the last 30 days first


# --- splitting a paid line ---

@dataclass(frozen=True)
class PaidLine:
    """An order line as paid, with the terms in force at payment (the order line keeps them).

    ``line_total`` and ``tax`` are the order line's: in tax-inclusive markets (UK, EU) the
    total contains the VAT ``tax``; in the US the total is before sales tax, which liveshop
    does not collect (``tax`` is 0, markets/model.py)."""

    line_id: int
    shop_id: int
    market: str
    line_total: int
    tax: int
    creator_id: int | None = None
    rate_bp: int = 0
    bonus_bp: int = 0
    fee_bp: int = DEFAULT_FEE_BP
    # The part of the line a platform-funded voucher paid instead of the buyer
    # (liveshop/incentives): the seller, creator and tax are still on the full price.
    discount: int = 0

    def __post_init__(self) -> None:
        get_market(self.market)
        if not _is_int(self.line_total) or self.line_total < 0:
            raise InvalidInput("A line total is a non-negative amount", field="line_total")
        if not _is_int(self.tax) or not 0 <= self.tax <= self.line_total:
            raise InvalidInput("A line's tax is between 0 and its total", field="tax")
        if not _is_int(self.discount) or not 0 <= self.discount <= self.line_total:
            raise InvalidInput("A line's discount is between 0 and its total",
                               field="discount")
        if self.creator_id is None:
            if self.rate_bp or self.bonus_bp:
                raise InvalidInput("A line without a creator earns no commission",
                                   field="rate_bp")
        else:
            check_rate(self.rate_bp)
            check_bonus(self.bonus_bp, self.rate_bp)
        check_fee(self.fee_bp)

    @classmethod
    def priced(cls, line_id: int, shop_id: int, market: str, line_total: int, *,
               creator_id: int | None = None, rate_bp: int = 0, bonus_bp: int = 0,
               fee_bp: int = DEFAULT_FEE_BP, discount: int = 0) -> PaidLine:
        """A line whose tax is the market's on its total, as checkout prices it
        (``Market.tax_of``, checkout/model.py ``price_line``)."""
        return cls(line_id, shop_id, market, line_total, get_market(market).tax_of(line_total),
                   creator_id, rate_bp, bonus_bp, fee_bp, discount)

    @property
    def market_rules(self) -> Market:
        return MARKETS[self.market]

    @property
    def currency(self) -> str:
        return self.market_rules.currency

    @property
    def paid(self) -> int:
        """What the buyer paid for the line (sales tax is added only where it is added on
        top of the price, which no market liveshop serves does today)."""
        return self.line_total + (0 if self.market_rules.tax_inclusive else self.tax)

    @property
    def net(self) -> int:
        """The line's price without VAT or sales tax: what commission and fee are on."""
        return self.paid - self.tax


@dataclass(frozen=True)
class LineSplit:
    """Who gets what of a line's price (or of a refund of it): paid = vat + net, and
    net = commission + fee + seller. The bonus comes on top, from the platform's budget;
    ``discount`` is the part of ``paid`` the platform's voucher budget paid, not the buyer."""

    paid: int
    vat: int
    commission: int
    bonus: int
    fee: int
    seller: int
    discount: int = 0

    @property
    def net(self) -> int:
        return self.paid - self.vat

    @property
    def creator(self) -> int:
        return self.commission + self.bonus


def split_line(line: PaidLine) -> LineSplit:
    """Commission and fee are taken from the seller's side of the net price; VAT goes to
    the market's tax authority whole. The seller's share is what is left."""
    net = line.net
    commission = commission_on(net, line.rate_bp)
    bonus = commission_on(net, line.bonus_bp)
    fee = commission_on(net, line.fee_bp)
    return LineSplit(line.paid, line.tax, commission, bonus, fee, net - commission - fee,
                     line.discount)


def split_refund(line: PaidLine, refunded_before: int, refunded_now: int) -> LineSplit:
    """What a refund of ``refunded_now`` takes back from each share, after
    ``refunded_before`` had been refunded on the line: in proportion to the amount, to the
    minor unit. Computed as the difference of the cumulative shares, so partial refunds that
    add up to the whole line take back exactly each share, and never more: a clawback never
    exceeds the commission earned."""
    if not _is_int(refunded_before) or not _is_int(refunded_now) or refunded_before < 0 \
            or refunded_now < 0 or refunded_before + refunded_now > line.paid:
        raise InvalidInput(f"A line of {line.paid} cannot refund {refunded_now} more after "
                           f"{refunded_before}", field="amount", code="over_refund")
    whole = split_line(line)
    before = _refunded_shares(whole, refunded_before)
    after = _refunded_shares(whole, refunded_before + refunded_now)
    return LineSplit(*(a - b for a, b in zip(_fields(after), _fields(before), strict=True)))


def _refunded_shares(whole: LineSplit, refunded: int) -> LineSplit:
    # Two-way splits nested one in another: VAT | net, then commission | rest, then
    # fee | seller. Each share of a two-way split grows by 0 or 1 per unit refunded, so the
    # other (the remainder) never shrinks either: every share rises monotonically from 0 to
    # its whole as the refunds add up to the line.
    vat = _share(whole.vat, whole.paid, refunded)
    net = refunded - vat
    commission = _share(whole.commission, whole.net, net)
    bonus = _share(whole.bonus, whole.net, net)
    rest = net - commission
    fee = _share(whole.fee, whole.net - whole.commission, rest)
    return LineSplit(refunded, vat, commission, bonus, fee, rest - fee,
                     refunded - buyer_part(whole.paid, whole.discount, 0, refunded))


def buyer_part(paid: int, discount: int, refunded_before: int, refunded_now: int) -> int:
    """What the buyer gets back when ``refunded_now`` of a line's price ``paid`` is refunded
    after ``refunded_before``: the refund less the voucher's share of it, which goes back to
    the platform (the refund entry's cash leg, ``split_refund``)."""
    return refunded_now - (_share(discount, paid, refunded_before + refunded_now)
                           - _share(discount, paid, refunded_before))


def _share(part: int, whole: int, amount: int) -> int:
    return 0 if whole == 0 else divide_half_up(part * amount, whole)


def _fields(split: LineSplit) -> tuple[int, ...]:
    return (split.paid, split.vat, split.commission, split.bonus, split.fee, split.seller,
            split.discount)


# --- journal entries ---

def line_paid_entry(line: PaidLine) -> JournalEntry:
    """buyer's payment received = VAT payable + creator payable + platform fee + seller
    payable (commission and fee out of the seller's side); a bonus moves from the platform's
    incentive expense to the creator, and a voucher's discount too, in the buyer's place:
    the buyer's payment is the price less the discount, every share is on the full price."""
    split = split_line(line)
    return entry(SourceKey(LINE_PAID, str(line.line_id)),
                 _legs(line, split, sign=1), memo=f"order line {line.line_id} paid")


def line_refund_entry(line: PaidLine, refund_id: int, refunded_before: int,
                      refunded_now: int) -> JournalEntry:
    """The paid entry's legs in reverse, for the refunded proportion: the buyer's money
    leaves cash, and VAT, commission (the clawback), bonus, fee and the seller's share are
    taken back. A clawback after a payout leaves the creator's account negative; the next
    payout nets it."""
    split = split_refund(line, refunded_before, refunded_now)
    return entry(SourceKey(LINE_REFUNDED, f"{refund_id}:{line.line_id}"),
                 _legs(line, split, sign=-1),
                 memo=f"refund {refund_id} of order line {line.line_id}")


def shipping_paid_entry(order_id: int, shop_id: int, market: str, shipping: int,
                        shipping_tax: int) -> JournalEntry:
    """Shipping goes to the seller whole (no commission, no fee), its VAT to the market."""
    paid = _shipping_paid(market, shipping, shipping_tax)
    return entry(SourceKey(SHIPPING_PAID, str(order_id)),
                 _shipping_legs(shop_id, market, paid, shipping_tax, sign=1),
                 memo=f"order {order_id} shipping paid")


def shipping_refund_entry(order_id: int, shop_id: int, market: str, shipping: int,
                          shipping_tax: int) -> JournalEntry:
    """Shipping is refunded whole or not at all (orders/model.py ``plan_refund``), once."""
    paid = _shipping_paid(market, shipping, shipping_tax)
    return entry(SourceKey(SHIPPING_REFUNDED, str(order_id)),
                 _shipping_legs(shop_id, market, paid, shipping_tax, sign=-1),
                 memo=f"order {order_id} shipping refunded")


def _legs(line: PaidLine, split: LineSplit, sign: int) -> list[tuple[AccountKey, int]]:
    currency, market = line.currency, line.market
    legs = [
        (AccountKey.cash(currency), sign * (split.paid - split.discount)),
        (AccountKey.incentive_expense(market, currency), sign * split.discount),
        (AccountKey.vat_payable(market, currency), -sign * split.vat),
        (AccountKey.platform_fee_revenue(market, currency), -sign * split.fee),
        (AccountKey.seller_payable(line.shop_id, currency), -sign * split.seller),
    ]
    if line.creator_id is not None:
        creator = AccountKey.creator_payable(line.creator_id, currency)
        legs += [(creator, -sign * split.commission),
                 (creator, -sign * split.bonus),
                 (AccountKey.incentive_expense(market, currency), sign * split.bonus)]
    return legs


def _shipping_paid(market: str, shipping: int, shipping_tax: int) -> int:
    rules = get_market(market)
    if not _is_int(shipping) or shipping < 0:
        raise InvalidInput("Shipping is a non-negative amount", field="shipping")
    if not _is_int(shipping_tax) or not 0 <= shipping_tax <= shipping:
        raise InvalidInput("Shipping's tax is between 0 and the shipping", field="tax")
    return shipping + (0 if rules.tax_inclusive else shipping_tax)


def _shipping_legs(shop_id: int, market: str, paid: int, tax: int, sign: int
                   ) -> list[tuple[AccountKey, int]]:
    currency = MARKETS[market].currency
    return [(AccountKey.cash(currency), sign * paid),
            (AccountKey.vat_payable(market, currency), -sign * tax),
            (AccountKey.seller_payable(shop_id, currency), -sign * (paid - tax))]


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
