"""The demo seed: complete, consistent, idempotent, and its printed logins work."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from PIL import Image
from sqlalchemy import func, select

from liveshop.accounts.orm import Address, User
from liveshop.admin.orm import AuditEntry, Report
from liveshop.catalog.orm import Product, ProductImage, Shop, ShopMarket, Variant, VariantPrice
from liveshop.core.config import Settings
from liveshop.core.db import Database
from liveshop.demo.catalog import DEMO_PASSWORD, PEOPLE
from liveshop.demo.seed import seed_demo
from liveshop.inventory.orm import StockLevel, StockMovement
from liveshop.markets.model import COUNTRY_TO_MARKET, MARKETS
from liveshop.schema import metadata


def row_counts(db: Database) -> dict[str, int]:
    with db.read() as session:
        return {table.name: session.scalar(select(func.count()).select_from(table)) or 0
                for table in metadata.sorted_tables}


def test_second_seed_changes_nothing_and_prints_the_same_logins(
        db: Database, settings: Settings) -> None:
    first = seed_demo(db, settings)
    counts = row_counts(db)
    second = seed_demo(db, settings)

    assert row_counts(db) == counts
    assert second == first
    for person in PEOPLE:
        assert any(person.email in line and DEMO_PASSWORD in line and person.role in line
                   for line in first)


def test_catalogue_is_complete_and_consistent(db: Database, settings: Settings) -> None:
    seed_demo(db, settings)

    with db.read() as session:
        products = session.scalars(select(Product).where(Product.status == "active")).all()
        assert len(products) >= 30
        shop_markets: dict[int, set[str]] = {}
        for row in session.scalars(select(ShopMarket)):
            shop_markets.setdefault(row.shop_id, set()).add(row.market)
        assert len(shop_markets) >= 4
        assert {"UK", "DE", "FR", "IT", "ES", "US"} <= set().union(*shop_markets.values())
        levels = {level.variant_id: level for level in session.scalars(select(StockLevel))}

        for product in products:
            assert product.images, product.title
            assert product.option1_name is not None and product.description and product.tags
            assert len(product.variants) >= 2, product.title
            for variant in product.variants:
                prices = {price.market: price for price in variant.prices}
                assert set(prices) == shop_markets[product.shop_id], variant.sku
                for market, price in prices.items():
                    assert price.currency == MARKETS[market].currency
                    assert price.amount_minor % 100 == 99
                    assert price.compare_at_minor is None or (
                        price.compare_at_minor > price.amount_minor)
                level = levels[variant.id]
                # The demo's orders (liveshop/demo/journeys.py) are paid: nothing is held.
                assert level.reserved == 0 and level.held == 0
            for image in product.images:
                path = settings.media_dir / image.path
                assert path.is_file(), path
                with Image.open(path) as picture:
                    assert picture.size == (image.width, image.height)
                    picture.load()

        assert session.scalar(select(func.count()).select_from(VariantPrice).where(
            VariantPrice.compare_at_minor.is_not(None))), "some products are on sale"
        received = session.scalar(select(func.sum(StockMovement.quantity)).where(
            StockMovement.kind == "received"))
        assert received == sum(level.available + level.sold for level in levels.values())
        assert session.scalar(select(func.count()).select_from(Variant)) == len(levels)

        buyers = session.scalars(select(User).where(
            User.role == "buyer", User.email.in_([person.email for person in PEOPLE]))).all()
        assert len(buyers) == 2
        for buyer in buyers:
            address = session.scalars(select(Address).where(
                Address.user_id == buyer.id, Address.is_default.is_(True))).one()
            assert address.country in COUNTRY_TO_MARKET
        assert (session.scalar(select(func.count()).select_from(Shop)) or 0) >= 4
        # The back office has something to decide and a history (liveshop/demo/back_office.py).
        open_reports = session.scalars(select(Report.target_type).where(
            Report.status == "open")).all()
        assert {"chat_message", "product"} <= set(open_reports)
        actions = session.scalars(select(AuditEntry.action)).all()
        assert {"report.dismissed", "shop.suspended", "shop.reinstated"} <= set(actions)
        assert session.scalar(select(func.count()).select_from(Shop).where(
            Shop.suspended_at.is_not(None))) == 0


def test_pictures_missing_from_a_new_media_dir_are_drawn_again(
        db: Database, settings: Settings, tmp_path: Path) -> None:
    seed_demo(db, settings)
    moved = settings.model_copy(update={"media_dir": tmp_path / "fresh-media"})

    seed_demo(db, moved)

    with db.read() as session:
        paths = session.scalars(select(ProductImage.path)).all()
    assert paths and all((moved.media_dir / path).is_file() for path in paths)


def test_every_printed_login_works(db: Database, settings: Settings, client: Any) -> None:
    seed_demo(db, settings)

    for person in PEOPLE:
        response = client.post("/api/v1/auth/login",
                               json={"email": person.email, "password": DEMO_PASSWORD})

        assert response.status_code == 200, response.text
        assert response.json()["user"]["role"] == person.role


def test_liveshop_seed_command_runs_in_a_fresh_process(tmp_path: Path) -> None:
    """The CLI imports only the seed; it must still map every table it touches."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = sa.create_engine(url)
    metadata.create_all(engine)
    engine.dispose()
    env = {**os.environ, "LIVESHOP_DATABASE_URL": url,
           "LIVESHOP_MEDIA_DIR": str(tmp_path / "media")}

    result = subprocess.run([sys.executable, "-m", "liveshop.cli", "seed"], env=env,
                            cwd=tmp_path, capture_output=True, text=True, timeout=120)

    assert result.returncode == 0, result.stderr
    assert f"admin@example.com    / {DEMO_PASSWORD} / admin" in result.stdout
