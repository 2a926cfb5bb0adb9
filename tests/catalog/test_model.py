from __future__ import annotations

import pytest

from liveshop.catalog import model
from liveshop.catalog.model import VariantInput
from liveshop.core.errors import InvalidInput
from liveshop.markets.model import MARKETS


def field_of(call: object) -> str | None:
    with pytest.raises(InvalidInput) as caught:
        call()  # type: ignore[operator]
    return caught.value.field


def test_tags_are_trimmed_lowercased_unique_and_stored_with_commas() -> None:
    tags = model.normalise_tags(["  Summer ", "summer", "Linen  Shirt", ""])
    assert tags == ["summer", "linen shirt"]
    assert model.join_tags(tags) == ",summer,linen shirt,"
    assert model.split_tags(",summer,linen shirt,") == tags
    assert model.join_tags([]) == ""


def test_tag_limits_name_the_field() -> None:
    assert field_of(lambda: model.normalise_tags([f"t{i}" for i in range(21)])) == "tags"
    assert field_of(lambda: model.normalise_tags(["ok", "a,b"])) == "tags.1"
    assert len(model.normalise_tags([f"t{i}" for i in range(20)])) == 20


def test_option_names_at_most_three_and_distinct() -> None:
    assert model.check_option_names([" Size ", "Colour"]) == ["Size", "Colour"]
    assert field_of(lambda: model.check_option_names(["a", "b", "c", "d"])) == "options"
    assert field_of(lambda: model.check_option_names(["Size", "size"])) == "options.1"


def variant(sku: str, *options: str, **prices: tuple[int, int | None]) -> VariantInput:
    return VariantInput(sku=sku, options=options, weight_grams=100, prices=prices)


def test_variants_need_one_value_per_option_unique_combinations_and_skus() -> None:
    names = ["Size", "Colour"]
    ok = model.check_variants(names, [variant("A", "M", "Red", DE=(2299, None)),
                                      variant("B", "L", "Red", DE=(2299, 2999))])
    assert ok[1].prices[0].currency == "EUR" and ok[1].prices[0].compare_at == 2999
    one_value = [variant("A", "M")]
    assert field_of(lambda: model.check_variants(names, one_value)) == "variants.0.options"
    assert field_of(lambda: model.check_variants(
        names, [variant("A", "M", "Red"), variant("B", "m", "red")])) == "variants.1.options"
    assert field_of(lambda: model.check_variants(
        names, [variant("A", "M", "Red"), variant("a", "L", "Red")])) == "variants.1.sku"
    assert field_of(lambda: model.check_variants(names, [variant(" ", "M", "Red")])) == (
        "variants.0.sku")
    assert field_of(lambda: model.check_variants(names, [])) == "variants"


def test_price_rules() -> None:
    assert model.check_price("us", 1000, None, "p").currency == "USD"
    assert field_of(lambda: model.check_price("DE", 0, None, "p")) == "p.amount"
    assert field_of(lambda: model.check_price("DE", 1000, 1000, "p")) == "p.compare_at"
    assert field_of(lambda: model.check_price("XX", 1000, None, "p")) == "p"
    assert field_of(lambda: model.check_variants(
        ["Size"], [variant("A", "S"), variant("B", "M", FR=(-5, None))])) == (
        "variants.1.prices.FR.amount")


def test_major_units_parse_exactly() -> None:
    assert model.parse_major("4.99", "EUR", "f") == 499
    assert model.parse_major("4,99", "EUR", "f") == 499
    assert model.parse_major(" 12 ", "GBP", "f") == 1200
    assert model.parse_major("0.1", "USD", "f") == 10
    for bad in ("4.999", "1e3", "abc", "", "NaN"):
        assert field_of(lambda bad=bad: model.parse_major(bad, "EUR", "f")) == "f"
    assert model.format_major(499, "EUR") == "4.99"
    assert model.format_major(None, "EUR") == ""


def test_shop_markets_and_display_notes() -> None:
    assert model.check_shop_markets([("de", 499), ("US", 0)]) == {"DE": 499, "US": 0}
    assert field_of(lambda: model.check_shop_markets([("DE", 1), ("de", 2)])) == (
        "markets.1.market")
    assert field_of(lambda: model.check_shop_markets([("DE", -1)])) == "markets.0.shipping"
    assert model.tax_note(MARKETS["DE"]) == "incl. 19% VAT"
    assert model.tax_note(MARKETS["US"]) == "plus applicable sales tax"
    assert [model.stock_label(n) for n in (0, 3, 50)] == ["Sold out", "Only 3 left", "In stock"]
    assert model.slugify("Café Über Shop!") == "cafe-uber-shop"


def test_without_options_only_one_variant_fits() -> None:
    assert field_of(lambda: model.check_variants([], [variant("A"), variant("B")])) == (
        "variants.1.options")
