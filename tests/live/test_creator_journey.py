"""A creator reaches everything their role allows from the pages, and meets no dead end: every
link on every page they can reach opens (no 403, no 500), and where they cannot act yet the
page says what to do next."""

from __future__ import annotations

import re
from collections import deque
from datetime import timedelta
from typing import Any
from urllib.parse import urldefrag, urlsplit

from liveshop.core.db import utcnow
from tests.catalog.helpers import make_product, make_shop

HTML = {"Accept": "text/html"}
# Not pages: files, the API, and links that only work as a form's target.
SKIP = ("/static/", "/media/", "/api/", "/hls/", "/logout", "/docs", "/openapi")
LINK = re.compile(r'<a [^>]*href="(/[^"]*)"')


def walk(person: Any, starts: list[str], limit: int = 80) -> dict[str, int]:
    """GET every same-site link reachable from ``starts`` (breadth first, at most
    ``limit`` pages); page -> status."""
    seen: dict[str, int] = {}
    queue = deque(starts)
    while queue and len(seen) < limit:
        url = urldefrag(queue.popleft())[0]
        if url in seen or url.startswith(SKIP):
            continue
        response = person.get(url, headers=HTML, follow_redirects=True)
        seen[url] = response.status_code
        if "text/html" in response.headers.get("content-type", ""):
            for link in LINK.findall(response.text):
                link = link.replace("&amp;", "&")
                if not urlsplit(link).path.startswith(SKIP):
                    queue.append(link)
    return seen


def stage_a_shop(make_user: Any) -> tuple[Any, int]:
    owner = make_user("seller")
    shop = make_shop(owner, markets={"UK": 399})
    product = make_product(owner, shop["id"], prices={"UK": 1999})
    created = owner.post("/api/v1/shows", json={
        "shop_id": shop["id"], "title": "Owner's show", "markets": ["UK"],
        "scheduled_at": (utcnow() + timedelta(days=1)).isoformat(),
        "product_ids": [product["id"]]})
    assert created.status_code == 201, created.text
    return owner, shop["id"]


def test_a_creator_no_shop_invited_yet_meets_no_dead_end(make_user: Any) -> None:
    stage_a_shop(make_user)
    creator = make_user("creator")
    statuses = walk(creator, ["/", "/seller/shows", "/seller/shows/new", "/account"])
    assert "/seller/shows/new" in statuses
    broken = {url: status for url, status in statuses.items() if status >= 400}
    assert not broken, broken

    # A creator may schedule their own show; with no plan open to them yet, the form
    # says what to do next.
    shows = creator.get("/seller/shows", headers=HTML).text
    assert 'href="/seller/shows/new"' in shows
    form = creator.get("/seller/shows/new", headers=HTML).text
    assert "No affiliate plan opens a product to you yet" in form
    assert f'<strong class="creator-number">{creator.id}</strong>' in form
    assert "Open a shop" not in form


def test_an_invited_creator_reaches_the_schedule_form_and_meets_no_dead_end(
        make_user: Any) -> None:
    owner, shop_id = stage_a_shop(make_user)
    creator = make_user("creator")
    owner.put(f"/api/v1/shops/{shop_id}/creators/{creator.id}", json={"commission_percent": 10})
    statuses = walk(creator, ["/", "/seller/shows"])
    assert "/seller/shows/new" in statuses
    broken = {url: status for url, status in statuses.items() if status >= 400}
    assert not broken, broken


def test_a_seller_without_a_shop_is_sent_to_open_one(make_user: Any) -> None:
    seller = make_user("seller")
    page = seller.get("/seller/shows/new", headers=HTML).text
    assert 'href="/seller/shops/new"' in page
    assert seller.get("/seller/shops/new", headers=HTML).status_code == 200
