from __future__ import annotations

import pytest

from liveshop.core.money import Money, divide_half_up


def test_money_adds_within_one_currency_only() -> None:
    assert Money(199, "GBP") + Money(1, "GBP") == Money(200, "GBP")
    with pytest.raises(ValueError):
        Money(1, "GBP") + Money(1, "EUR")


def test_money_refuses_floats_and_unknown_currencies() -> None:
    with pytest.raises(TypeError):
        Money(1.5, "GBP")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Money(1, "XXX")


@pytest.mark.parametrize(("money", "locale", "text"), [
    (Money(123456, "GBP"), "en-GB", "£1,234.56"),
    (Money(123456, "EUR"), "de-DE", "1.234,56 €"),
    (Money(5, "USD"), "en-US", "$0.05"),
    (Money(-250, "EUR"), "fr-FR", "-2,50 €"),
])
def test_format(money: Money, locale: str, text: str) -> None:
    assert money.format(locale) == text


@pytest.mark.parametrize(("num", "den", "expected"), [
    (5, 2, 3), (4, 2, 2), (7, 3, 2), (-5, 2, -3), (1, 3, 0), (2, 3, 1),
])
def test_divide_half_up(num: int, den: int, expected: int) -> None:
    assert divide_half_up(num, den) == expected
