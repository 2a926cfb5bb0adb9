"""Addresses print in the destination country's order; countries are named in the reader's
language (issue 18, defect 10)."""

from __future__ import annotations

from liveshop.markets.addresses import (
    address_lines,
    country_choices,
    country_name,
    country_of_market,
)

LONDON = {"full_name": "Ben Taylor", "line1": "12 Canonbury Road", "line2": "", "city": "London",
          "postcode": "N1 8ED", "country": "GB"}
BERLIN = {"full_name": "Lena Vogel", "line1": "Kastanienallee 7", "city": "Berlin",
          "postcode": "10435", "country": "DE"}
AUSTIN = {"full_name": "Sam Reed", "line1": "500 Congress Ave", "line2": "Suite 2",
          "city": "Austin", "postcode": "78701", "region": "TX", "country": "US"}


def test_the_town_line_follows_the_destination_country() -> None:
    assert address_lines(LONDON) == ["Ben Taylor", "12 Canonbury Road", "London N1 8ED",
                                     "United Kingdom"]
    assert address_lines(BERLIN)[2] == "10435 Berlin"
    assert address_lines(AUSTIN, "en-US") == ["Sam Reed", "500 Congress Ave", "Suite 2",
                                              "Austin, TX 78701", "United States"]
    # Orders stored before addresses had a region still print.
    assert address_lines({**AUSTIN, "region": ""})[3] == "Austin, 78701"
    assert address_lines({**BERLIN, "country": "FR", "city": "Paris", "postcode": "75011"}
                         )[2] == "75011 Paris"


def test_countries_are_named_in_the_readers_language() -> None:
    assert address_lines(BERLIN, "de-DE")[-1] == "Deutschland"
    assert country_name("GB", "fr-FR") == "Royaume-Uni"
    assert country_name("XX") == "XX"
    assert [name for _, name in country_choices(["GB", "DE", "US"], "en-GB")] == [
        "Germany", "United Kingdom", "United States"]


def test_a_new_address_starts_in_the_markets_country() -> None:
    assert country_of_market("UK") == "GB"
    assert country_of_market("DE") == "DE"
