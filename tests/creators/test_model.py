"""Affiliate rules (liveshop/creators/model.py): the worked examples of docs/creators.md,
bad input naming its field, attribution, and properties over random paid lines and refunds."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from liveshop.core.errors import InvalidInput
from liveshop.creators.model import (
    MAX_FEE_BP,
    MAX_RATE_BP,
    MIN_RATE_BP,
    Attribution,
    Click,
    FeeSchedule,
    PaidLine,
    Room,
    Source,
    attribute,
    check_bonus,
    check_fee,
    check_rate,
    line_paid_entry,
    line_refund_entry,
    shipping_paid_entry,
    shipping_refund_entry,
    split_line,
    split_refund,
)
from liveshop.ledger.model import AccountKey, AccountKind, JournalEntry, check_balanced
from liveshop.markets.model import MARKETS

NOW = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)
SELLER, CREATOR, OTHER_CREATOR, BUYER = 10, 20, 21, 30


# --- the worked examples of docs/creators.md ---

def test_a_uk_line_splits_its_vat_inclusive_price() -> None:
    # £24.00 including 20% VAT, a 10% creator rate, the 5% platform fee.
    line = PaidLine.priced(1, shop_id=7, market="UK", line_total=2400, creator_id=CREATOR,
                           rate_bp=1000)
    split = split_line(line)
    assert (split.paid, split.vat, split.net) == (2400, 400, 2000)
    assert (split.commission, split.fee, split.seller) == (200, 100, 1700)
    legs = {leg.account: leg.amount for leg in line_paid_entry(line).legs}
    assert legs == {
        AccountKey.cash("GBP"): 2400,
        AccountKey.vat_payable("UK", "GBP"): -400,
        AccountKey.creator_payable(CREATOR, "GBP"): -200,
        AccountKey.platform_fee_revenue("UK", "GBP"): -100,
        AccountKey.seller_payable(7, "GBP"): -1700,
    }


def test_a_us_line_is_split_before_sales_tax() -> None:
    # $19.99, no tax collected: commission 15% of 1999 = 299.85 -> 300 (half-up).
    line = PaidLine.priced(2, shop_id=7, market="US", line_total=1999, creator_id=CREATOR,
                           rate_bp=1500)
    split = split_line(line)
    assert (split.paid, split.vat, split.commission, split.fee, split.seller) == (
        1999, 0, 300, 100, 1599)
    assert AccountKey.vat_payable("US", "USD") not in {
        leg.account for leg in line_paid_entry(line).legs}


def test_a_partial_refund_claws_back_in_proportion() -> None:
    # A German line of 3 x €19.99 with 19% VAT, 12% commission; the buyer returns one unit.
    line = PaidLine.priced(3, shop_id=7, market="DE", line_total=5997, creator_id=CREATOR,
                           rate_bp=1200)
    whole = split_line(line)
    assert (whole.vat, whole.net, whole.commission, whole.fee, whole.seller) == (
        958, 5039, 605, 252, 4182)
    first = split_refund(line, refunded_before=0, refunded_now=1999)
    assert (first.paid, first.vat, first.commission, first.fee, first.seller) == (
        1999, 319, 202, 84, 1394)
    rest = split_refund(line, refunded_before=1999, refunded_now=3998)
    assert first.commission + rest.commission == whole.commission
    assert first.seller + rest.seller == whole.seller
    legs = {leg.account: leg.amount for leg in line_refund_entry(line, 9, 0, 1999).legs}
    assert legs[AccountKey.creator_payable(CREATOR, "EUR")] == 202  # the clawback
    assert legs[AccountKey.cash("EUR")] == -1999


def test_shipping_goes_to_the_seller_without_commission_or_fee() -> None:
    paid = shipping_paid_entry(5, shop_id=7, market="UK", shipping=499,
                               shipping_tax=MARKETS["UK"].tax_of(499))
    assert {leg.account: leg.amount for leg in paid.legs} == {
        AccountKey.cash("GBP"): 499, AccountKey.vat_payable("UK", "GBP"): -83,
        AccountKey.seller_payable(7, "GBP"): -416}
    back = shipping_refund_entry(5, shop_id=7, market="UK", shipping=499, shipping_tax=83)
    assert sorted(leg.amount for leg in back.legs) == sorted(-leg.amount for leg in paid.legs)
    assert back.source != paid.source


def test_a_bonus_is_paid_from_the_platforms_incentive_budget() -> None:
    line = PaidLine.priced(4, 7, "FR", 1200, creator_id=CREATOR, rate_bp=1000, bonus_bp=500)
    legs = {leg.account: leg.amount for leg in line_paid_entry(line).legs}
    assert legs[AccountKey.creator_payable(CREATOR, "EUR")] == -150  # 10% + 5% of 1000
    assert legs[AccountKey.incentive_expense("FR", "EUR")] == 50
    assert legs[AccountKey.seller_payable(7, "EUR")] == -850  # the bonus is not the seller's


# --- bad input names its field ---

@pytest.mark.parametrize("rate", [0, 99, 8001, 10_000, -100])
def test_rates_outside_1_to_80_percent_are_refused(rate: int) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_rate(rate, field="plans.0.rate_bp")
    assert refused.value.field == "plans.0.rate_bp"
    assert refused.value.code == "rate_out_of_range"


@pytest.mark.parametrize("rate", [MIN_RATE_BP, 1234, MAX_RATE_BP])
def test_rates_from_1_to_80_percent_are_taken(rate: int) -> None:
    assert check_rate(rate) == rate


def test_fees_and_bonuses_are_bounded() -> None:
    assert check_fee(0) == 0 and check_fee(MAX_FEE_BP) == MAX_FEE_BP
    with pytest.raises(InvalidInput) as refused:
        check_fee(MAX_FEE_BP + 1)
    assert refused.value.field == "fee_bp"
    with pytest.raises(InvalidInput) as refused:
        check_bonus(1, MAX_RATE_BP)
    assert refused.value.field == "bonus_bp"
    with pytest.raises(InvalidInput) as refused:
        FeeSchedule({"UK": 500, "DE": 2500})
    assert refused.value.field == "fees_bp.DE"
    assert FeeSchedule().fee_bp("IT") == 500


def test_a_line_refuses_terms_that_do_not_fit() -> None:
    with pytest.raises(InvalidInput) as refused:
        PaidLine(1, 7, "UK", 1000, 167, creator_id=CREATOR, rate_bp=9000)
    assert refused.value.field == "rate_bp"
    with pytest.raises(InvalidInput) as refused:
        PaidLine(1, 7, "UK", 1000, 167, rate_bp=1000)  # a rate with nobody to earn it
    assert refused.value.field == "rate_bp"
    with pytest.raises(InvalidInput) as refused:
        PaidLine(1, 7, "XX", 1000, 0)
    assert refused.value.field == "market"
    line = PaidLine.priced(1, 7, "UK", 1000)
    with pytest.raises(InvalidInput) as refused:
        split_refund(line, refunded_before=600, refunded_now=401)
    assert refused.value.field == "amount"


# --- attribution ---

def test_the_creators_live_room_or_replay_wins_over_clicks() -> None:
    click = Click(OTHER_CREATOR, NOW - timedelta(hours=1))
    live = attribute(buyer_id=BUYER, seller_id=SELLER, room=Room(3, CREATOR), clicks=[click],
                     now=NOW)
    assert (live.creator_id, live.source, live.show_id) == (CREATOR, Source.LIVE_ROOM, 3)
    replay = attribute(buyer_id=BUYER, seller_id=SELLER, room=Room(3, CREATOR, live=False),
                       clicks=[click], now=NOW)
    assert (replay.creator_id, replay.source) == (CREATOR, Source.REPLAY)


def test_the_last_click_within_the_window_wins() -> None:
    clicks = [Click(CREATOR, NOW - timedelta(days=3)),
              Click(OTHER_CREATOR, NOW - timedelta(days=1), Source.SHOWCASE),
              Click(CREATOR, NOW - timedelta(days=8)),
              Click(CREATOR, NOW + timedelta(minutes=1))]  # from a clock ahead: not yet
    won = attribute(buyer_id=BUYER, seller_id=SELLER, room=None, clicks=clicks, now=NOW)
    assert (won.creator_id, won.source) == (OTHER_CREATOR, Source.SHOWCASE)
    narrow = attribute(buyer_id=BUYER, seller_id=SELLER, room=None, clicks=clicks, now=NOW,
                       window=timedelta(hours=12))
    assert narrow.creator_id is None and narrow.source is Source.NONE
    edge = attribute(buyer_id=BUYER, seller_id=SELLER, room=None,
                     clicks=[Click(CREATOR, NOW - timedelta(days=7))], now=NOW)
    assert edge.creator_id == CREATOR  # 7 days to the second still counts


@pytest.mark.parametrize("case", ["seller's own show", "self-referral by link",
                                  "self-referral in own room", "seller's own link"])
def test_nobody_earns_from_their_own_show_purchase_or_shop(case: str) -> None:
    room, clicks, buyer = {
        "seller's own show": (Room(3, SELLER), [Click(CREATOR, NOW)], BUYER),
        "self-referral by link": (None, [Click(CREATOR, NOW)], CREATOR),
        "self-referral in own room": (Room(3, CREATOR), [], CREATOR),
        "seller's own link": (None, [Click(SELLER, NOW)], BUYER),
    }[case]
    result = attribute(buyer_id=buyer, seller_id=SELLER, room=room, clicks=clicks, now=NOW)
    assert result == Attribution(None, Source.NONE, result.why, result.show_id)


def test_the_window_is_bounded() -> None:
    with pytest.raises(InvalidInput) as refused:
        attribute(buyer_id=BUYER, seller_id=SELLER, room=None, clicks=[], now=NOW,
                  window=timedelta(0))
    assert refused.value.field == "attribution_window"


# --- properties over random sequences ---

@dataclass
class Books:
    """The postings of every entry, per account, kept apart from any running total."""

    postings: dict[AccountKey, list[int]]

    def post(self, journal_entry: JournalEntry) -> None:
        check_balanced(journal_entry.legs)
        per_currency: dict[str, int] = defaultdict(int)
        for leg in journal_entry.legs:
            self.postings[leg.account].append(leg.amount)
            per_currency[leg.account.currency] += leg.amount
        assert set(per_currency.values()) <= {0}


LINE = st.builds(
    lambda market, total, creator, rate, bonus, fee: (market, total, creator, rate,
                                                      min(bonus, MAX_RATE_BP - rate), fee),
    st.sampled_from(sorted(MARKETS)),
    st.integers(0, 10**8),
    st.none() | st.integers(1, 4),
    st.integers(MIN_RATE_BP, MAX_RATE_BP),
    st.integers(0, 3000) | st.just(0),
    st.integers(0, MAX_FEE_BP) | st.just(0),
)
# A refund step: which line (index into the paid ones) and which fraction of what is left.
REFUND = st.tuples(st.integers(0, 10**6), st.integers(0, 1000), st.booleans())


@hypothesis_settings(max_examples=300, deadline=None)
@given(lines=st.lists(LINE, min_size=1, max_size=12), refunds=st.lists(REFUND, max_size=30))
def test_every_entry_balances_and_clawbacks_never_exceed_commission(
        lines: list[tuple[str, int, int | None, int, int, int]],
        refunds: list[tuple[int, int, bool]]) -> None:
    books = Books(defaultdict(list))
    paid: list[PaidLine] = []
    for number, (market, total, creator, rate, bonus, fee) in enumerate(lines, start=1):
        line = PaidLine.priced(number, shop_id=number % 3 + 1, market=market,
                               line_total=total, creator_id=creator,
                               rate_bp=rate if creator else 0,
                               bonus_bp=bonus if creator else 0, fee_bp=fee)
        split = split_line(line)
        assert 0 <= split.commission <= split.net and 0 <= split.creator <= split.net
        assert split.seller >= 0 and split.fee >= 0
        assert split.vat + split.commission + split.fee + split.seller == split.paid
        books.post(line_paid_entry(line))
        paid.append(line)

    refunded = [0] * len(paid)
    clawed = [0] * len(paid)
    for refund_id, (pick, per_mille, everything) in enumerate(refunds, start=1):
        index = pick % len(paid)
        line = paid[index]
        left = line.paid - refunded[index]
        amount = left if everything else left * per_mille // 1000
        part = split_refund(line, refunded[index], amount)
        assert min(part.vat, part.commission, part.bonus, part.fee, part.seller) >= 0
        books.post(line_refund_entry(line, refund_id, refunded[index], amount))
        refunded[index] += amount
        clawed[index] += part.commission
        assert clawed[index] <= split_line(line).commission

    for index, line in enumerate(paid):
        if refunded[index] == line.paid:  # refunded in full: every share given back exactly
            assert clawed[index] == split_line(line).commission

    trial: dict[str, int] = defaultdict(int)
    for account, amounts in books.postings.items():
        trial[account.currency] += sum(amounts)
    assert set(trial.values()) <= {0}
    # Only a line's creator is ever credited with its commission, and never more than the
    # commission and bonus of the lines they earned minus what was clawed back.
    for account, amounts in books.postings.items():
        if account.kind is AccountKind.CREATOR_PAYABLE:
            owed = -sum(amounts)
            earned = sum(split_line(line).creator for line in paid
                         if str(line.creator_id) == account.owner.ref
                         and line.currency == account.currency)
            assert 0 <= owed <= earned
