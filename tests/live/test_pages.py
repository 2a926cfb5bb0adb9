"""Live-show HTML pages: the show page in each state, the control room's access rules, the
seller's schedule form, notifications and the home strip. Markup contracts that room.js,
control.js and the browser test rely on are asserted here."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from liveshop.accounts.model import Actor, Role
from liveshop.core.db import Database, utcnow
from liveshop.live import follows, pages, shows
from liveshop.notifications import service as notices
from liveshop.web.templating import templates
from tests.factories import VariantSpec, create_product, create_shop

XSS = "<script>alert(1)</script>"


class ShowSetup:
    def __init__(self, host: Any, show_id: int, shop_id: int, product_id: int,
                 variant_ids: list[int]):
        self.host, self.id, self.shop_id = host, show_id, shop_id
        self.product_id, self.variant_ids = product_id, variant_ids


@pytest.fixture
def scheduled(db: Database, make_user: Any) -> ShowSetup:
    host = make_user("seller", name="Hannah Host")
    shop_id = create_shop(db, host.id, {"UK": 399, "DE": 499}, name="Glow Shop")
    product_id, variant_ids = create_product(db, shop_id, [
        VariantSpec(prices={"UK": 2500, "DE": 2900}, stock=7, option1="M")],
        title=f"Jacket {XSS}")
    created = host.post("/api/v1/shows", json={
        "shop_id": shop_id, "title": f"Friday drop {XSS}", "markets": ["UK", "DE"],
        "scheduled_at": (utcnow() + timedelta(hours=2)).isoformat(),
        "product_ids": [product_id]})
    assert created.status_code == 201, created.text
    return ShowSetup(host, created.json()["id"], shop_id, product_id, variant_ids)


def attribute(html: str, element_id: str, name: str) -> str:
    tag = re.search(rf'<[^>]*\bid="{element_id}"[^>]*>', html, re.S)
    assert tag, f"no element #{element_id}"
    value = re.search(rf'\b{name}="([^"]*)"', tag.group(0))
    assert value, f"#{element_id} has no {name}"
    return value.group(1)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found
    return found.group(1)


def test_scheduled_show_is_a_waiting_page_with_a_server_time_countdown(
        scheduled: ShowSetup, make_user: Any) -> None:
    viewer = make_user("buyer")
    page = viewer.get(f"/shows/{scheduled.id}")
    assert page.status_code == 200
    html = page.text
    scheduled_at = int(attribute(html, "waiting", "data-scheduled-at"))
    server_time = int(attribute(html, "waiting", "data-server-time"))
    assert 2 * 3600 * 1000 - 60_000 < scheduled_at - server_time <= 2 * 3600 * 1000
    assert 'id="countdown"' in html and "Hannah Host" in html and "Glow Shop" in html
    assert attribute(html, "remind", "data-on") == "0"
    assert 'id="room"' not in html and "/static/js/waiting.js" in html

    assert viewer.put(f"/api/v1/shows/{scheduled.id}/reminder").status_code == 200
    assert viewer.put(f"/api/v1/shops/{scheduled.shop_id}/follow").status_code == 200
    html = viewer.get(f"/shows/{scheduled.id}").text
    assert attribute(html, "remind", "data-on") == "1"
    assert attribute(html, "follow", "data-on") == "1"


def test_anonymous_visitors_are_asked_to_log_in_for_a_reminder(scheduled: ShowSetup,
                                                               client: Any) -> None:
    html = client.get(f"/shows/{scheduled.id}").text
    assert f'href="/login?next=/shows/{scheduled.id}"' in html
    assert 'id="remind"' not in html


def test_live_show_renders_the_room_with_its_data_attributes(scheduled: ShowSetup,
                                                             make_user: Any) -> None:
    assert scheduled.host.post(f"/api/v1/shows/{scheduled.id}/live").status_code == 200
    viewer = make_user("buyer")
    html = viewer.get(f"/shows/{scheduled.id}").text
    assert attribute(html, "room", "data-show-id") == str(scheduled.id)
    assert attribute(html, "room", "data-user-id") == str(viewer.id)
    assert attribute(html, "room", "data-market") in ("UK", "DE")
    assert f'class="video-slot" data-show-id="{scheduled.id}"' in html
    for element in ("pinned-card", "sale-banner", "chat-list", "chat-form", "heart-button",
                    "checkout-sheet", "confirmation", "viewer-count"):
        assert f'id="{element}"' in html, element
    assert "/static/js/room.js" in html


def test_the_room_carries_what_the_server_needs_to_quote_a_tap(
        scheduled: ShowSetup, client: Any) -> None:
    """The room asks the server what a tap charges (GET /api/v1/buy-now/quote) for its shop
    and market; it carries no copy of the pricing rule (no VAT rate, no shipping fee)."""
    assert scheduled.host.post(f"/api/v1/shows/{scheduled.id}/live").status_code == 200
    for language in ("en-GB", "de-DE"):
        html = client.get(f"/shows/{scheduled.id}", headers={"Accept-Language": language}).text
        assert attribute(html, "room", "data-shop-id") == str(scheduled.shop_id)
        assert attribute(html, "room", "data-ships") == "true"
        assert "data-vat-bp" not in html and "data-shipping" not in html


def test_anonymous_room_has_sign_in_links_instead_of_chat(scheduled: ShowSetup,
                                                          client: Any) -> None:
    assert scheduled.host.post(f"/api/v1/shows/{scheduled.id}/live").status_code == 200
    html = client.get(f"/shows/{scheduled.id}").text
    assert attribute(html, "room", "data-user-id") == ""
    assert attribute(html, "room", "data-login-url") == f"/login?next=/shows/{scheduled.id}"
    assert 'id="chat-form"' not in html and "Log in to chat" in html


def test_the_room_prices_in_a_market_the_show_sells_in(scheduled: ShowSetup,
                                                       client: Any) -> None:
    assert scheduled.host.post(f"/api/v1/shows/{scheduled.id}/live").status_code == 200
    html = client.get(f"/shows/{scheduled.id}", headers={"Accept-Language": "en-US"}).text
    assert attribute(html, "room", "data-market") == "UK"  # the show does not sell in US
    assert attribute(html, "room", "data-currency") == "GBP"


def test_ended_show_is_a_replay_page_with_the_pin_timeline(scheduled: ShowSetup,
                                                           client: Any) -> None:
    host = scheduled.host
    assert host.post(f"/api/v1/shows/{scheduled.id}/live").status_code == 200
    assert host.put(f"/api/v1/shows/{scheduled.id}/pin",
                    json={"product_id": scheduled.product_id}).status_code == 200
    assert host.post(f"/api/v1/shows/{scheduled.id}/end").status_code == 200
    html = client.get(f"/shows/{scheduled.id}").text
    assert "This show has ended" in html
    assert f'<div class="video-slot" data-show-id="{scheduled.id}">' in html
    timeline = html[html.index('id="pin-timeline"'):]
    assert f'data-product-id="{scheduled.product_id}"' in timeline
    assert f'href="/products/{scheduled.product_id}"' in timeline
    assert re.search(r'class="pin-offset">0:00:0\d<', timeline)
    assert "/static/js/room.js" not in html


def test_titles_are_escaped_on_every_page(scheduled: ShowSetup, client: Any) -> None:
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    pages_html = [client.get(f"/shows/{scheduled.id}").text,
                  scheduled.host.get(f"/shows/{scheduled.id}/control").text,
                  scheduled.host.get("/seller/shows").text]
    assert scheduled.host.post(f"/api/v1/shows/{scheduled.id}/live").status_code == 200
    pages_html.append(client.get(f"/shows/{scheduled.id}").text)
    for html in pages_html:
        assert XSS not in html
        assert escaped in html
    assert f"Jacket {escaped}" in pages_html[0]  # the lineup's product title too


def test_control_room_is_for_host_and_moderators_only(scheduled: ShowSetup, make_user: Any,
                                                      client: Any) -> None:
    url = f"/shows/{scheduled.id}/control"
    stranger = make_user("seller")
    assert stranger.get(url).status_code == 403
    assert client.get(url, headers={"Accept": "text/html"},
                      follow_redirects=False).headers["location"].startswith("/login")

    host_html = scheduled.host.get(url)
    assert host_html.status_code == 200
    html = host_html.text
    assert attribute(html, "control", "data-can-host") == "1"
    for element in ("go-live", "end-show", "sale-form", "orders-list", "stat-revenue",
                    "slow-mode", "moderator-form", "chat-list"):
        assert f'id="{element}"' in html, element
    assert f'class="button small pin-button" data-product-id="{scheduled.product_id}"' in html
    assert 'name="price_UK"' in html and 'name="price_DE"' in html

    moderator = make_user("buyer")
    assert scheduled.host.put(
        f"/api/v1/shows/{scheduled.id}/moderators/{moderator.id}").status_code == 200
    html = moderator.get(url).text
    assert attribute(html, "control", "data-can-host") == "0"
    assert 'id="slow-mode"' in html and 'id="chat-list"' in html
    assert 'id="go-live"' not in html and 'id="sale-form"' not in html


def test_schedule_form_creates_a_show_in_utc(db: Database, make_user: Any) -> None:
    seller = make_user("seller")
    shop_id = create_shop(db, seller.id, {"UK": 399, "DE": 499}, name="Form Shop")
    product_id, _ = create_product(db, shop_id, title="Listed Tee")
    create_product(db, shop_id, title="Draft Tee", status="draft")
    form = seller.get("/seller/shows/new")
    assert form.status_code == 200
    assert "Listed Tee" in form.text and "Draft Tee" not in form.text
    assert 'name="markets" value="UK"' in form.text
    assert 'name="markets" value="US"' not in form.text

    created = seller.post("/seller/shows", data={
        "csrf_token": csrf_of(form.text), "shop_id": str(shop_id), "title": "Evening drop",
        "description": "New tees", "scheduled_at": "2030-05-01T20:00", "tz_offset": "-120",
        "markets": ["UK"], "product_ids": [str(product_id)]}, follow_redirects=False)
    assert created.status_code == 303, created.text
    show = shows.list_shows(db, shop_id=shop_id)[0]
    assert created.headers["location"] == f"/seller/shows?created={show.id}"
    assert show.title == "Evening drop" and show.markets == ["UK"]
    assert show.product_ids == [product_id]
    assert show.scheduled_at == datetime(2030, 5, 1, 18, 0, tzinfo=UTC)
    listing = seller.get(created.headers["location"]).text
    assert f'href="/shows/{show.id}/control"' in listing and "Your show is scheduled" in listing


def test_schedule_form_shows_errors_and_keeps_the_input(db: Database, make_user: Any) -> None:
    seller = make_user("seller")
    shop_id = create_shop(db, seller.id, {"UK": 399}, name="Form Shop")
    form = seller.get("/seller/shows/new").text
    refused = seller.post("/seller/shows", data={
        "csrf_token": csrf_of(form), "shop_id": str(shop_id), "title": "Kept title",
        "scheduled_at": "2030-05-01T20:00", "tz_offset": "0", "markets": ["DE"]})
    assert refused.status_code == 422
    assert "does not ship to DE" in refused.text and 'value="Kept title"' in refused.text
    no_time = seller.post("/seller/shows", data={
        "csrf_token": csrf_of(form), "shop_id": str(shop_id), "title": "T",
        "scheduled_at": "", "markets": ["UK"]})
    assert no_time.status_code == 422 and "start" in no_time.text
    forged = seller.post("/seller/shows", data={
        "shop_id": str(shop_id), "title": "T", "scheduled_at": "2030-05-01T20:00",
        "markets": ["UK"]})
    assert forged.status_code == 403
    assert shows.list_shows(db, shop_id=shop_id) == []


def test_another_sellers_shop_cannot_be_used(db: Database, make_user: Any) -> None:
    owner, other = make_user("seller"), make_user("seller")
    shop_id = create_shop(db, owner.id, {"UK": 399})
    form = other.get("/seller/shows/new").text
    refused = other.post("/seller/shows", data={
        "csrf_token": csrf_of(form), "shop_id": str(shop_id), "title": "Mine now",
        "scheduled_at": "2030-05-01T20:00", "markets": ["UK"]})
    assert refused.status_code == 403
    assert shows.list_shows(db, shop_id=shop_id) == []
    assert make_user("buyer").get("/seller/shows").status_code == 403


def test_local_time_conversion() -> None:
    assert pages.local_to_utc("2030-01-01T00:30", "60") == datetime(2030, 1, 1, 1, 30,
                                                                    tzinfo=UTC)
    assert pages.local_to_utc("2030-01-01T00:30", "") == datetime(2030, 1, 1, 0, 30,
                                                                  tzinfo=UTC)
    for bad_time, offset in (("tomorrow", "0"), ("2030-01-01T00:30", "x"),
                             ("2030-01-01T00:30", "100000")):
        with pytest.raises(Exception) as raised:
            pages.local_to_utc(bad_time, offset)
        assert getattr(raised.value, "status", None) == 422


def test_notifications_page_lists_a_show_going_live_as_new(
        scheduled: ShowSetup, make_user: Any, db: Database) -> None:
    fan = make_user("buyer")
    assert fan.put(f"/api/v1/shops/{scheduled.shop_id}/follow").status_code == 200
    assert scheduled.host.post(f"/api/v1/shows/{scheduled.id}/live").status_code == 200
    actor = Actor(fan.id, Role.BUYER, "Fan")
    assert notices.unread_count(db, actor) == 1
    html = fan.get("/notifications").text
    assert f'href="/shows/{scheduled.id}"' in html and 'class="unread"' in html
    # Marked read by the page once seen (tests/notifications/test_order_notices.py).
    assert notices.unread_count(db, actor) == 1


def test_home_strip_lists_live_shows_then_upcoming(db: Database, scheduled: ShowSetup,
                                                   make_user: Any) -> None:
    later = scheduled.host.post("/api/v1/shows", json={
        "shop_id": scheduled.shop_id, "title": "Later show", "markets": ["UK"],
        "scheduled_at": (utcnow() + timedelta(days=1)).isoformat()}).json()
    elsewhere = scheduled.host.post("/api/v1/shows", json={
        "shop_id": scheduled.shop_id, "title": "German show", "markets": ["DE"],
        "scheduled_at": (utcnow() + timedelta(days=1)).isoformat()}).json()
    assert scheduled.host.post(f"/api/v1/shows/{scheduled.id}/live").status_code == 200
    live, upcoming = shows.home_shows(db, "UK")
    assert [s.id for s in live] == [scheduled.id]
    assert [s.id for s in upcoming] == [later["id"]]
    assert elsewhere["id"] not in [s.id for s in live + upcoming]

    fan = make_user("buyer")
    assert fan.put(f"/api/v1/shows/{later['id']}/reminder").status_code == 200
    fan_actor = Actor(fan.id, Role.BUYER, "Fan")
    reminded = follows.reminded_show_ids(db, fan_actor)
    assert reminded == {later["id"]}
    html = templates.get_template("live/_home_shows.html").render(
        live_shows=live, upcoming_shows=upcoming, reminded_ids=reminded, actor=fan_actor)
    assert html.index("Live now") < html.index("Upcoming")
    assert "&lt;script&gt;" in html and XSS not in html
    assert f'data-show-id="{later["id"]}" data-on="1"' in html
    anonymous = templates.get_template("live/_home_shows.html").render(
        live_shows=[], upcoming_shows=upcoming, actor=None)
    assert "Live now" not in anonymous
    assert f'href="/login?next=/shows/{later["id"]}"' in anonymous


def test_seller_list_has_shows_of_my_shops_hosted_by_others(db: Database,
                                                            scheduled: ShowSetup) -> None:
    owner = Actor(scheduled.host.id, Role.SELLER, "Hannah Host")
    assert [s.id for s in shows.my_shows(db, owner)] == [scheduled.id]
    page = shows.show_page(db, owner, scheduled.id)
    assert page.can_host and page.can_moderate and not page.reminded
    assert [card["id"] for card in page.lineup] == [scheduled.product_id]
