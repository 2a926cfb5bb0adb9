from __future__ import annotations

import pytest

from liveshop.checkout import model
from liveshop.checkout.model import LineInput
from liveshop.core.errors import InvalidInput
from liveshop.markets.model import MARKETS


def test_uk_vat_is_contained_in_the_price() -> None:
    draft = model.price_checkout(MARKETS["UK"], [LineInput(1, 10, 1, 2400)], {10: 0})
    assert (draft.subtotal, draft.tax, draft.total) == (2400, 400, 2400)
    assert draft.tax_inclusive


def test_uk_shipping_carries_vat_too_and_totals_add_up() -> None:
    draft = model.price_checkout(MARKETS["UK"], [LineInput(1, 10, 2, 1200)], {10: 600})
    order = draft.orders[0]
    assert order.lines[0].line_total == 2400 and order.lines[0].tax == 400
    assert (order.subtotal, order.shipping, order.tax, order.total) == (2400, 600, 500, 3000)


def test_de_vat_19_percent() -> None:
    draft = model.price_checkout(MARKETS["DE"], [LineInput(1, 10, 1, 1190)], {10: 0})
    assert draft.tax == 190 and draft.total == 1190


def test_us_has_no_tax_and_prices_are_pre_tax() -> None:
    draft = model.price_checkout(MARKETS["US"], [LineInput(1, 10, 3, 999)], {10: 500})
    assert (draft.subtotal, draft.shipping, draft.tax, draft.total) == (2997, 500, 0, 3497)
    assert not draft.tax_inclusive
    assert "not collected" in model.tax_note(MARKETS["US"])


def test_vat_rounds_half_up_per_line() -> None:
    # 20% contained in 3 minor units is 0.5 -> 1; in 2 it is 0.33 -> 0.
    draft = model.price_checkout(MARKETS["UK"], [LineInput(1, 10, 1, 3), LineInput(2, 10, 1, 2)],
                                 {10: 0})
    assert [line.tax for line in draft.orders[0].lines] == [1, 0]


def test_lines_split_into_one_order_per_shop_with_its_own_shipping() -> None:
    draft = model.price_checkout(
        MARKETS["UK"],
        [LineInput(1, 10, 1, 1000), LineInput(2, 20, 2, 500), LineInput(3, 10, 1, 200)],
        {10: 399, 20: 250},
    )
    assert [o.shop_id for o in draft.orders] == [10, 20]
    assert [o.subtotal for o in draft.orders] == [1200, 1000]
    assert [o.shipping for o in draft.orders] == [399, 250]
    assert draft.total == 1200 + 399 + 1000 + 250
    assert draft.tax == sum(o.tax for o in draft.orders)
    assert all(isinstance(value, int) for value in (draft.subtotal, draft.tax, draft.total))


@pytest.mark.parametrize("quantity", [0, -1, 11])
def test_quantity_must_be_1_to_the_limit(quantity: int) -> None:
    with pytest.raises(InvalidInput) as error:
        model.validate_quantity(quantity, 10, field="items.3.quantity")
    assert error.value.field == "items.3.quantity"
    assert model.validate_quantity(10, 10) == 10


def test_order_numbers_are_human_readable() -> None:
    number = model.new_order_number()
    assert number.startswith("LS-") and len(number) == 9
    assert not set(number[3:]) & set("01ILOU")


def test_ship_to_country_must_belong_to_the_market() -> None:
    assert model.check_ship_to_country(MARKETS["UK"], "gb") == "GB"
    with pytest.raises(InvalidInput) as error:
        model.check_ship_to_country(MARKETS["UK"], "DE")
    assert error.value.field == "address.country"
