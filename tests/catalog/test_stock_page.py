"""The seller's stock page names each variant, not only its SKU (issue 18, defect 11)."""

from __future__ import annotations

import re
from typing import Any

from liveshop.core.db import Database
from tests.factories import VariantSpec, create_product, create_shop


def test_the_stock_page_names_each_variant(make_user: Any, db: Database) -> None:
    seller = make_user("seller")
    shop_id = create_shop(db, seller.id, name="Variant Shop")
    create_product(db, shop_id, [
        VariantSpec({"UK": 2000}, sku="TEE-S", option1="Small"),
        VariantSpec({"UK": 2000}, sku="TEE-L", option1="Large")], title="Logo Tee")
    page = seller.get(f"/seller/shops/{shop_id}/stock").text
    rows = re.findall(r"<tr>.*?</tr>", page, re.S)[1:]
    assert len(rows) == 2
    assert "Small" in rows[0] and "TEE-S" in rows[0]
    assert "Large" in rows[1] and "TEE-L" in rows[1]
    assert '<td class="stock-variant" data-label="Variant">Small</td>' in page
