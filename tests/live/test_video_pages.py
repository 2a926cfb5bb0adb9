"""Video on the show pages: what the player (static/js/player.js), the replay (replay.js) and
the host's stream panel (publisher.js) start from. Playback itself is in tests/e2e/test_video.py."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from liveshop.core.db import Database, utcnow
from liveshop.live.model import epoch_ms
from liveshop.video.orm import VideoStream
from tests.factories import VariantSpec, create_product, create_shop

HLS_SCRIPT = '<script src="/static/vendor/hls.js/hls.min.js"></script>'


class Setup:
    def __init__(self, host: Any, show_id: int, product_id: int, variant_ids: list[int]):
        self.host, self.id, self.product_id, self.variant_ids = (
            host, show_id, product_id, variant_ids)


@pytest.fixture
def show(db: Database, make_user: Any) -> Setup:
    host = make_user("seller", name="Hannah Host")
    shop_id = create_shop(db, host.id, {"UK": 399}, name="Glow Shop")
    product_id, variant_ids = create_product(db, shop_id, [
        VariantSpec(prices={"UK": 2500}, stock=5, option1="M"),
        VariantSpec(prices={"UK": 2700}, stock=0, option1="L")], title="Glow Jacket")
    created = host.post("/api/v1/shows", json={
        "shop_id": shop_id, "title": "Friday drop", "markets": ["UK"],
        "scheduled_at": (utcnow() + timedelta(hours=1)).isoformat(),
        "product_ids": [product_id]})
    assert created.status_code == 201, created.text
    return Setup(host, created.json()["id"], product_id, variant_ids)


def tag(html: str, element_id: str) -> str:
    found = re.search(rf'<[^>]*\bid="{element_id}"[^>]*>', html, re.S)
    assert found, f"no element #{element_id}"
    return found.group(0)


def attribute(html: str, element_id: str, name: str) -> str:
    value = re.search(rf'\b{name}="([^"]*)"', tag(html, element_id))
    assert value, f"#{element_id} has no {name}"
    return value.group(1)


def ended_with_a_pin(show: Setup) -> None:
    base = f"/api/v1/shows/{show.id}"
    assert show.host.post(f"{base}/live").status_code == 200
    assert show.host.put(f"{base}/pin", json={"product_id": show.product_id}).status_code == 200
    assert show.host.post(f"{base}/end").status_code == 200


def test_the_live_room_loads_hls_js_before_its_module_and_waits_for_video(
        show: Setup, client: Any) -> None:
    assert show.host.post(f"/api/v1/shows/{show.id}/live").status_code == 200
    html = client.get(f"/shows/{show.id}").text
    # A classic script runs before any module, so window.Hls exists when player.js reads it.
    assert HLS_SCRIPT in html
    assert html.index(HLS_SCRIPT) < html.index('src="/static/js/room.js" type="module"')
    assert "Waiting for the host's video…" in html
    # The checkout and confirmation sheets of buying.js are in the room.
    for element in ("checkout-sheet", "checkout-form", "address-fields", "card-fields",
                    "confirmation", "confirmation-number", "confirmation-total"):
        assert f'id="{element}"' in html, element


def test_hls_js_is_served_from_node_modules(client: Any) -> None:
    script = client.get("/static/vendor/hls.js/hls.min.js")
    assert script.status_code == 200, "run `make install` (npm ci) first"
    worker = client.get("/static/vendor/hls.js/hls.worker.js")
    assert worker.status_code == 200  # player.js points workerPath at it (CSP: no blob: workers)


def test_a_waiting_page_does_not_load_the_player(show: Setup, client: Any) -> None:
    html = client.get(f"/shows/{show.id}").text
    assert "hls.min.js" not in html and "/static/js/waiting.js" in html


def test_replay_without_a_recording_says_so(show: Setup, client: Any) -> None:
    ended_with_a_pin(show)
    html = client.get(f"/shows/{show.id}").text
    assert attribute(html, "replay-video", "data-playlist") == ""
    assert "There is no recording of this show." in html
    # Nothing to seek: no "Watch from 0:00:00" button that would do nothing.
    assert 'class="pin-seek"' not in html
    assert html.index(HLS_SCRIPT) < html.index('src="/static/js/replay.js" type="module"')


def test_replay_carries_the_recording_and_each_pins_wall_clock_time(
        show: Setup, db: Database, make_user: Any) -> None:
    ended_with_a_pin(show)
    recorded_from = utcnow() - timedelta(minutes=5)
    with db.transaction() as session:
        session.add(VideoStream(show_id=show.id, stream_key="k" * 32, state="ended",
                                recording_started_at=recorded_from))
    buyer = make_user("buyer")
    html = buyer.get(f"/shows/{show.id}").text
    assert attribute(html, "replay", "data-user-id") == str(buyer.id)
    assert attribute(html, "replay", "data-market") == "UK"
    assert (attribute(html, "replay-video", "data-playlist")
            == f"/video/{show.id}/recording/index.m3u8")
    assert attribute(html, "replay-video", "data-poster") == f"/video/{show.id}/poster.jpg"
    assert (int(attribute(html, "replay-video", "data-recording-started-at"))
            == epoch_ms(recorded_from))

    pins = show.host.get(f"/api/v1/shows/{show.id}/pins").json()
    entry = re.search(r'<li class="pin-entry"[^>]*>.*?</li>', html, re.S)
    assert entry, "no pin entry"
    entry_html = entry.group(0)
    assert f'data-product-id="{show.product_id}"' in entry_html
    assert 'class="pin-seek"' in entry_html
    pinned_ms = int(re.search(r'data-pinned-at="(\d+)"', entry_html).group(1))  # type: ignore[union-attr]
    assert abs(pinned_ms - epoch_ms(utcnow())) < 60_000
    assert pins[0]["product_id"] == show.product_id
    # One option per variant priced in the market; the sold-out one cannot be chosen.
    assert (f'<option value="{show.variant_ids[0]}" data-price="£25.00" data-amount="2500">M'
            '</option>') in entry_html
    assert re.search(rf'<option value="{show.variant_ids[1]}"[^>]*disabled>L \(sold out\)',
                     entry_html)
    assert re.search(r'<button type="button" class="button small buy-button">Buy</button>',
                     entry_html)
    assert 'id="checkout-sheet"' in html and 'id="confirmation"' in html


def test_anonymous_replay_buy_asks_to_log_in(show: Setup, client: Any) -> None:
    ended_with_a_pin(show)
    html = client.get(f"/shows/{show.id}").text
    assert attribute(html, "replay", "data-user-id") == ""
    assert (f'<a class="button small buy-button" href="/login?next=/shows/{show.id}">Buy</a>'
            in html)


def test_the_stream_panel_is_for_the_host_only(show: Setup, make_user: Any) -> None:
    url = f"/shows/{show.id}/control"
    html = show.host.get(url).text
    assert attribute(html, "stream-panel", "data-show-id") == str(show.id)
    for element in ("publish-preview", "start-publish", "stop-publish", "publish-status",
                    "publish-error", "rtmp-url", "stream-key", "regenerate-key", "video-state"):
        assert f'id="{element}"' in html, element
    assert 'data-copy="rtmp-url"' in html and 'data-copy="stream-key"' in html
    # The key is fetched by the panel, never written into the page.
    key = show.host.get(f"/api/v1/shows/{show.id}/stream").json()["stream_key"]
    assert key not in show.host.get(url).text

    moderator = make_user("buyer")
    assert show.host.put(f"/api/v1/shows/{show.id}/moderators/{moderator.id}").status_code == 200
    html = moderator.get(url).text
    assert 'id="control"' in html
    assert 'id="stream-panel"' not in html and 'id="start-publish"' not in html
