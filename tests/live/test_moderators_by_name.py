"""A host makes someone a moderator by display name or e-mail address, never by typing a
numeric user id (issue 18, defect 11)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from liveshop.core.db import Database, utcnow
from tests.factories import VariantSpec, create_product, create_shop


def _show(db: Database, host: Any) -> int:
    shop_id = create_shop(db, host.id, {"UK": 399})
    product_id, _ = create_product(db, shop_id, [VariantSpec({"UK": 2000})])
    created = host.post("/api/v1/shows", json={
        "shop_id": shop_id, "title": "Friday drop", "markets": ["UK"],
        "scheduled_at": (utcnow() + timedelta(hours=1)).isoformat(),
        "product_ids": [product_id]})
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def test_a_moderator_is_added_by_name_or_e_mail(make_user: Any, db: Database) -> None:
    host = make_user("seller", name="Hannah Host")
    show_id = _show(db, host)
    mia = make_user("buyer", email="mia.mod@example.com", name="Mia Moderator")
    by_name = host.post(f"/api/v1/shows/{show_id}/moderators", json={"user": "mia moderator"})
    assert by_name.status_code == 200, by_name.text
    assert by_name.json() == {"user_id": mia.id, "display_name": "Mia Moderator"}
    page = host.get(f"/shows/{show_id}/control").text
    assert 'name="user_id"' not in page and "Name or e-mail" in page
    assert f'<li data-user-id="{mia.id}"><span>Mia Moderator</span>' in page

    tom = make_user("buyer", email="tom@example.com", name="Tom")
    by_mail = host.post(f"/api/v1/shows/{show_id}/moderators",
                        json={"user": " TOM@example.com "})
    assert by_mail.json()["user_id"] == tom.id
    assert make_user("buyer").get(f"/shows/{show_id}/control").status_code == 403


def test_an_unknown_or_shared_name_is_refused_naming_the_field(make_user: Any,
                                                              db: Database) -> None:
    host = make_user("seller", name="Hannah Host")
    show_id = _show(db, host)
    missing = host.post(f"/api/v1/shows/{show_id}/moderators", json={"user": "Nobody"})
    assert missing.status_code == 404 and missing.json()["error"]["field"] == "user"
    make_user("buyer", name="Sam Smith")
    make_user("buyer", name="Sam Smith")
    shared = host.post(f"/api/v1/shows/{show_id}/moderators", json={"user": "Sam Smith"})
    assert shared.status_code == 409
    assert shared.json()["error"]["code"] == "ambiguous_user"
    # Only the show's hosts learn whether an account goes by a name.
    stranger = make_user("seller")
    probe = stranger.post(f"/api/v1/shows/{show_id}/moderators", json={"user": "Nobody"})
    assert probe.status_code == 403
