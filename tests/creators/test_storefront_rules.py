"""The pure rules of a creator's storefront: handles, share links' refs, rates typed as
percentages, deciding a sample request once; and attribution by share-link clicks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from liveshop.core.errors import Conflict, InvalidInput
from liveshop.creators.model import (
    Click,
    Room,
    SampleStatus,
    Source,
    attribute,
    check_handle,
    decide_sample,
    derive_handle,
    parse_ref,
    percent_to_bp,
    share_link,
)

NOW = datetime(2026, 12, 3, 18, 0, tzinfo=UTC)
BUYER, SELLER, NINA, KAI = 1, 2, 20, 21


@pytest.mark.parametrize(("name", "taken", "handle"), [
    ("Nina Live", (), "ninalive"),
    ("Nina Live", ("ninalive",), "ninalive2"),
    ("Nina Live", ("ninalive", "ninalive2"), "ninalive3"),
    ("Zoë Müller-Schmidt", (), "zoemullerschmidt"),
    ("李", (), "creator7"),
    ("A very long display name that goes on and on", (), "averylongdisplaynamethatgo"),
])
def test_a_handle_is_derived_from_the_name_and_never_taken(name: str, taken: tuple[str, ...],
                                                           handle: str) -> None:
    derived = derive_handle(name, 7, taken)
    assert derived == handle
    assert check_handle(derived) == derived


@pytest.mark.parametrize(("ref", "handle"), [
    ("ninalive", "ninalive"), ("@NinaLive", "ninalive"), (" ninalive ", "ninalive"),
    ("", None), (None, None), ("ab", None), ("x" * 31, None), ("nina live", None),
    ("<script>", None), ("nina%00", None), ("../admin", None),
])
def test_a_ref_names_a_handle_or_nothing(ref: str | None, handle: str | None) -> None:
    assert parse_ref(ref) == handle


def test_a_share_link_carries_the_ref() -> None:
    assert share_link("/products/7", "ninalive") == "/products/7?ref=ninalive"


@pytest.mark.parametrize(("text", "bp"), [("12", 1200), ("12.5", 1250), ("12,5 %", 1250),
                                          ("1", 100), ("80", 8000), ("0.01", None),
                                          ("81", None), ("abc", None), ("", None),
                                          ("nan", None), ("inf", None), ("1.005", None)])
def test_a_rate_typed_as_a_percentage(text: str, bp: int | None) -> None:
    if bp is None:
        with pytest.raises(InvalidInput) as refused:
            percent_to_bp(text, "rate_percent")
        assert refused.value.field == "rate_percent"
    else:
        assert percent_to_bp(text) == bp


def test_a_sample_request_is_decided_once() -> None:
    assert decide_sample("requested", approve=True) is SampleStatus.APPROVED
    assert decide_sample("requested", approve=False) is SampleStatus.DECLINED
    for decided in ("approved", "declined"):
        with pytest.raises(Conflict) as refused:
            decide_sample(decided, approve=True)
        assert refused.value.field == "request_id"


def test_the_room_outranks_a_share_link_click_and_the_last_click_wins() -> None:
    clicks = [Click(NINA, NOW - timedelta(days=2)), Click(KAI, NOW - timedelta(hours=1))]
    assert attribute(buyer_id=BUYER, seller_id=SELLER, room=None, clicks=clicks,
                     now=NOW).creator_id == KAI
    in_room = attribute(buyer_id=BUYER, seller_id=SELLER, room=Room(5, NINA), clicks=clicks,
                        now=NOW)
    assert (in_room.creator_id, in_room.source) == (NINA, Source.LIVE_ROOM)
    # The seller's own show earns nothing, however recent a creator's click.
    assert attribute(buyer_id=BUYER, seller_id=SELLER, room=Room(5, SELLER), clicks=clicks,
                     now=NOW).creator_id is None


def test_the_window_is_configurable_and_self_referral_earns_nothing() -> None:
    old = [Click(NINA, NOW - timedelta(days=8))]
    assert attribute(buyer_id=BUYER, seller_id=SELLER, room=None, clicks=old,
                     now=NOW).creator_id is None
    assert attribute(buyer_id=BUYER, seller_id=SELLER, room=None, clicks=old, now=NOW,
                     window=timedelta(days=30)).creator_id == NINA
    own = [Click(BUYER, NOW - timedelta(hours=1))]
    assert attribute(buyer_id=BUYER, seller_id=SELLER, room=None, clicks=own,
                     now=NOW).creator_id is None
