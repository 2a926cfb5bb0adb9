"""The issue's scenario: a new buyer follows a creator whose followers bought product P;
the buyer's For-you feed ranks P and the creator's live show in its first five, and the
Following tab shows the show first. Purchases and follows go through the real API, so
their interaction events come from the domain events after commit."""

from __future__ import annotations

from typing import Any

from tests.factories import VariantSpec, create_product, create_shop
from tests.feed.conftest import buy, schedule_show, writer_of


def keys(page: dict[str, Any]) -> list[str]:
    return [card["key"] for card in page["items"]]


def test_followers_purchases_and_the_followed_live_show_lead_the_feed(
        app: Any, db: Any, make_user: Any) -> None:
    nina = make_user("seller", name="Nina Live")
    nina_shop = create_shop(db, nina.id, name="Nina's Studio")
    jacket, _ = create_product(db, nina_shop, title="Glow Jacket")
    show_id = schedule_show(nina, nina_shop, [jacket], title="Nina's Friday drop", live=True)

    # Product P, of another shop, is what Nina's followers buy.
    other = make_user("seller", name="Kiez Kollektiv")
    kiez = create_shop(db, other.id, name="Kiez Kollektiv")
    p, [p_variant] = create_product(db, kiez, [VariantSpec({"UK": 1500, "DE": 1700}, 50)],
                                    title="Linen Tote")
    # Noise: six popular products of six shops, bought by people who follow nobody.
    crowd = [make_user("buyer") for _ in range(2)]
    for n in range(6):
        seller = make_user("seller", name=f"Seller {n}")
        shop = create_shop(db, seller.id, name=f"Shop {n}")
        _, [variant] = create_product(db, shop, [VariantSpec({"UK": 999, "DE": 999}, 50)],
                                      title=f"Best seller {n}")
        for person in crowd:
            buy(person, variant)
    for _ in range(3):
        follower = make_user("buyer")
        assert follower.put(f"/api/v1/creators/{nina.id}/follow").status_code == 200
        buy(follower, p_variant)

    newcomer = make_user("buyer")
    assert newcomer.put(f"/api/v1/creators/{nina.id}/follow").status_code == 200
    writer_of(app).flush()

    for_you = newcomer.get("/api/v1/feed", params={"tab": "for_you"})
    assert for_you.status_code == 200, for_you.text
    top_five = keys(for_you.json())[:5]
    assert f"product:{p}" in top_five, for_you.json()
    assert f"show:{show_id}" in top_five, for_you.json()
    cards = {card["key"]: card for card in for_you.json()["items"]}
    assert cards[f"show:{show_id}"]["why"] == "Nina Live, whom you follow, is live"
    assert cards[f"product:{p}"]["why"] == "Because you follow Nina Live"
    assert cards[f"show:{show_id}"]["viewers"] == 0

    following = newcomer.get("/api/v1/feed", params={"tab": "following"}).json()
    assert keys(following)[0] == f"show:{show_id}"
    assert following["items"][0]["kind"] == "live"

    page = newcomer.get("/")
    assert page.status_code == 200
    assert "Nina Live, whom you follow, is live" in page.text
    assert "Linen Tote" in page.text
