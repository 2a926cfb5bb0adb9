"""The import use cases on SQLite and PostgreSQL: dry run, import, re-import, changed file."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from liveshop.accounts.model import Actor, Role
from liveshop.catalog.orm import Product
from liveshop.core.db import Database
from liveshop.core.errors import Forbidden, InvalidInput
from liveshop.integrations.shopify.orm import ShopifyPendingImage, ShopifyVariantLink
from tests.catalog.helpers import make_shop
from tests.integrations.shopify.helpers import catalog_state, run, variants_by_sku


@pytest.fixture
def seller_shop(make_user: Any) -> tuple[Actor, int]:
    seller = make_user("seller")
    shop = make_shop(seller, markets={"UK": 399, "DE": 499})
    return Actor(seller.id, Role.SELLER), shop["id"]


def test_dry_run_reports_and_writes_nothing(db: Database, seller_shop: Any) -> None:
    actor, shop_id = seller_shop
    report = run(db, actor, shop_id, "classic.csv", dry=True)
    assert (report.created, report.updated, report.unchanged, report.skipped) == (5, 0, 0, 0)
    assert report.created_handles == ["organic-tee", "enamel-mug", "wool-scarf", "old-cap",
                                      "draft-bag"]
    assert report.layout == "older" and report.rows == 10
    barcode = [str(p) for p in report.problems if p.column == "Variant Barcode"]
    assert barcode and barcode[0].startswith("row 4, Variant Barcode: 5.01235E+12 is in "
                                             "scientific notation")
    assert "Vendor" in report.unused_columns
    assert "Price / International" in report.unused_columns
    assert catalog_state(db, shop_id) == []


def test_import_creates_products_through_the_catalog(db: Database, seller_shop: Any) -> None:
    actor, shop_id = seller_shop
    report = run(db, actor, shop_id, "classic.csv")
    assert (report.created, report.skipped) == (5, 0)
    variants = variants_by_sku(db, shop_id)
    assert set(variants) == {"TEE-S-BLK", "TEE-M-BLK", "TEE-S-WHT", "TEE-M-WHT", "MUG-1",
                             "wool-scarf-grey", "wool-scarf-navy", "CAP-1", "BAG-1"}
    with db.read() as session:
        products = {p.title: p for p in session.scalars(select(Product))}
        tee = products["Organic Tee"]
        assert (tee.option1_name, tee.option2_name, tee.status) == ("Size", "Colour", "active")
        assert tee.description == "Soft organic cotton.\n\n• Unisex fit\n• Pre-shrunk"
        assert tee.tags == ",cotton,summer,tees,"
        first = tee.variants[0]
        # Variant Price is the chosen market's; Price / Germany is Germany's, in euros.
        assert sorted((p.market, p.amount_minor, p.compare_at_minor) for p in first.prices) == [
            ("DE", 2795, 3495), ("UK", 2400, 3000)]
        assert first.weight_grams == 180
        mug = products["Enamel Mug"]
        assert mug.option1_name is None and mug.variants[0].option1 is None
        assert products["Wool Scarf"].status == "draft"   # active but not published
        assert products["Old Cap"].status == "archived"
        assert products["Canvas Bag"].status == "draft"
        barcodes = dict(session.execute(select(ShopifyVariantLink.variant_id,
                                               ShopifyVariantLink.barcode)).all())
        assert barcodes[variants["TEE-S-WHT"].id] == ""   # scientific notation: not imported
        assert barcodes[variants["MUG-1"].id] == "0712345678911"
        images = session.scalars(select(ShopifyPendingImage.src)
                                 .where(ShopifyPendingImage.product_id == tee.id)).all()
        assert sorted(images) == [
            "https://cdn.shopify.com/s/files/1/0000/0001/products/tee-black.jpg",
            "https://cdn.shopify.com/s/files/1/0000/0001/products/tee-white.jpg"]
    stock = {row[1]: row[5] for product in catalog_state(db, shop_id) for row in product[6]}
    assert stock["TEE-S-BLK"] == 12 and stock["MUG-1"] == 40
    assert stock["wool-scarf-grey"] == 0   # not tracked in Shopify


def test_same_file_again_changes_nothing(db: Database, seller_shop: Any) -> None:
    actor, shop_id = seller_shop
    run(db, actor, shop_id, "classic.csv")
    before = catalog_state(db, shop_id)
    dry = run(db, actor, shop_id, "classic.csv", dry=True)
    assert (dry.created, dry.updated, dry.unchanged) == (0, 0, 5)
    again = run(db, actor, shop_id, "classic.csv")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 5)
    assert catalog_state(db, shop_id) == before


def test_changed_file_updates_without_duplicates(db: Database, seller_shop: Any) -> None:
    actor, shop_id = seller_shop
    run(db, actor, shop_id, "classic.csv")
    ids = {sku: v.id for sku, v in variants_by_sku(db, shop_id).items()}
    dry = run(db, actor, shop_id, "classic_changed.csv", dry=True)
    assert (dry.created, dry.updated, dry.unchanged) == (0, 2, 3)
    assert dry.updated_handles == {"organic-tee": ["title", "variants"],
                                   "enamel-mug": ["variants"]}
    report = run(db, actor, shop_id, "classic_changed.csv")
    assert (report.created, report.updated, report.unchanged, report.skipped) == (0, 2, 3, 0)
    after = variants_by_sku(db, shop_id)
    assert len(after) == len(ids) + 1 and after["TEE-L-BLK"]
    assert {sku: after[sku].id for sku in ids} == ids   # matched, not recreated
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Product)) == 5
    state = {row[1]: row for product in catalog_state(db, shop_id) for row in product[6]}
    assert state["TEE-S-BLK"][6] == [("DE", 2795, 3495), ("UK", 2200, 3000)]
    assert state["MUG-1"][5] == 45        # 40 before, the file now says 45: 5 received
    titles = [product[1] for product in catalog_state(db, shop_id)]
    assert "Organic Tee (new cut)" in titles
    # And that file once more: nothing.
    before = catalog_state(db, shop_id)
    assert run(db, actor, shop_id, "classic_changed.csv").unchanged == 5
    assert catalog_state(db, shop_id) == before


def test_variants_without_sku_are_matched_by_options(db: Database, seller_shop: Any) -> None:
    actor, shop_id = seller_shop
    run(db, actor, shop_id, "classic.csv")
    scarf = variants_by_sku(db, shop_id)["wool-scarf-navy"].id
    run(db, actor, shop_id, "classic_changed.csv")
    assert variants_by_sku(db, shop_id)["wool-scarf-navy"].id == scarf


def test_bad_values_name_row_and_column(db: Database, seller_shop: Any) -> None:
    actor, shop_id = seller_shop
    report = run(db, actor, shop_id, "bad_values.csv", dry=True)
    errors = {(p.row, p.column): p.message for p in report.errors}
    assert errors[(3, "Variant Price")] == '"abc" is not a price (like 19.99)'
    assert errors[(8, "Variant Grams")] == '"heavy" is not a weight in grams'
    assert errors[(10, "Variant Price")] == "A variant needs a price"
    assert report.skipped_handles == ["organic-tee", "wool-scarf", "old-cap"]
    assert report.created_handles == ["enamel-mug", "draft-bag"]
    imported = run(db, actor, shop_id, "bad_values.csv")
    assert (imported.created, imported.skipped) == (2, 3)
    assert set(variants_by_sku(db, shop_id)) == {"MUG-1", "BAG-1"}


def test_newer_layout(db: Database, seller_shop: Any) -> None:
    actor, shop_id = seller_shop
    report = run(db, actor, shop_id, "newer.csv", market="DE")
    assert (report.layout, report.created, report.skipped) == ("newer", 2, 0)
    variants = variants_by_sku(db, shop_id)
    apron = variants["APR-NAT"]
    # Variant Price is for Germany here (chosen); Price / United Kingdom prices the UK;
    # a compare-at price not above the price is no former price.
    assert sorted((p.market, p.amount_minor, p.compare_at_minor) for p in apron.prices) == [
        ("DE", 3200, None), ("UK", 2800, 3500)]
    assert apron.weight_grams == 310
    with db.read() as session:
        candle = session.scalars(select(Product).where(Product.title == "Beeswax Candle")).one()
        assert candle.status == "draft" and candle.option1_name is None
        apron_product = session.get(Product, apron.product_id)
        assert apron_product is not None
        assert apron_product.description == "Stonewashed linen.\nTwo pockets."
        assert len(session.scalars(select(ShopifyPendingImage).where(
            ShopifyPendingImage.product_id == apron.product_id)).all()) == 3


def test_sku_used_by_another_product_is_a_problem(db: Database, seller_shop: Any,
                                                  make_user: Any) -> None:
    actor, shop_id = seller_shop
    from liveshop.catalog import service as catalog
    from liveshop.catalog.schemas import ProductCreate
    from liveshop.markets.model import MARKETS
    catalog.create_product(db, actor, shop_id, ProductCreate.model_validate({
        "title": "Hand made", "variants": [{"sku": "MUG-1", "prices": {"UK": {"amount": 500}}}]}),
        MARKETS["UK"])
    report = run(db, actor, shop_id, "classic.csv", dry=True)
    assert [(p.row, p.column) for p in report.errors] == [(7, "Variant SKU")]
    assert "MUG-1" in report.errors[0].message
    assert run(db, actor, shop_id, "classic.csv").skipped_handles == ["enamel-mug"]


def test_market_must_be_the_shops_and_shop_the_sellers(db: Database, seller_shop: Any,
                                                       make_user: Any) -> None:
    actor, shop_id = seller_shop
    with pytest.raises(InvalidInput) as refused:
        run(db, actor, shop_id, "classic.csv", market="US", dry=True)
    assert refused.value.field == "market"
    other = Actor(make_user("seller").id, Role.SELLER)
    with pytest.raises(Forbidden):
        run(db, other, shop_id, "classic.csv", dry=True)


def test_bulk_rows_that_break_a_constraint_raise_integrity_error(db: Database,
                                                                  seller_shop: Any) -> None:
    """insert_rows (a COPY on PostgreSQL) fails as an INSERT would, so an import's batch can
    fall back to one product at a time."""
    from sqlalchemy.exc import IntegrityError

    from liveshop.core.db import insert_rows
    from liveshop.inventory.orm import StockLevel

    actor, shop_id = seller_shop
    run(db, actor, shop_id, "classic.csv")
    variant_id = next(iter(variants_by_sku(db, shop_id).values())).id
    with pytest.raises(IntegrityError), db.transaction() as session:
        insert_rows(session, StockLevel, [{"variant_id": variant_id, "available": 0,
                                           "reserved": 0, "sold": 0, "held": 0, "version": 0}])


def test_markets_the_file_does_not_price_get_the_markets_rule(db: Database,
                                                               seller_shop: Any) -> None:
    """The shop ships to the UK and Germany; the mug's row prices the UK alone, so Germany
    gets the price the product form would work out (markets.model.derive_prices)."""
    from liveshop.markets.model import MARKETS, derive_price

    actor, shop_id = seller_shop
    run(db, actor, shop_id, "classic.csv")
    mug = variants_by_sku(db, shop_id)["MUG-1"]
    assert {p.market: p.amount_minor for p in mug.prices} == {
        "UK": 1250, "DE": derive_price(1250, MARKETS["UK"], MARKETS["DE"])}
    # The file's own Price / Germany wins over the rule.
    tee = variants_by_sku(db, shop_id)["TEE-M-BLK"]
    assert {p.market: p.amount_minor for p in tee.prices}["DE"] == 2795
