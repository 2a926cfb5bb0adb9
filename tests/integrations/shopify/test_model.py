"""Reading Shopify's product CSV, without a database: layouts, rows, values, Body (HTML)."""

from __future__ import annotations

import io

import pytest

from liveshop.catalog.model import MAX_SKU_LENGTH, ProductStatus
from liveshop.core.errors import InvalidInput
from liveshop.integrations.shopify.body_html import as_text, sanitise
from liveshop.integrations.shopify.model import (
    FileProblems,
    ProductDraft,
    generated_sku,
    read_products,
)
from tests.integrations.shopify.helpers import FIXTURES


def read(text: str, market: str = "UK") -> tuple[list[ProductDraft], FileProblems]:
    found = FileProblems()
    return list(read_products(io.StringIO(text, newline=""), market, found)), found


def test_fixture_files_are_what_they_claim() -> None:
    classic = (FIXTURES / "classic.csv").read_bytes()
    assert classic.startswith(b"\xef\xbb\xbf") and b"\r\n" in classic
    assert b'"<p>Soft' in classic and b"</p>\n<ul>" in classic   # a quoted line break
    newer = (FIXTURES / "newer.csv").read_bytes()
    assert newer.startswith(b"Title,URL handle,") and b"\r\n" not in newer


def test_bom_crlf_and_quoted_line_breaks_keep_row_numbers() -> None:
    with (FIXTURES / "classic.csv").open(encoding="utf-8-sig", newline="") as text:
        drafts = list(read_products(text, "UK"))
    assert [(d.handle, d.row, d.last_row) for d in drafts] == [
        ("organic-tee", 2, 6), ("enamel-mug", 7, 7), ("wool-scarf", 8, 9), ("old-cap", 10, 10),
        ("draft-bag", 11, 11)]
    # The quoted line break is kept in the cell; Body (HTML) is HTML, where a bare line
    # break is a space (as on the Shopify store).
    assert drafts[1].description == "Camping mug, holds 350 ml."


def test_default_title_means_no_options_and_image_rows_add_pictures() -> None:
    drafts, _ = read(
        "Handle,Title,Option1 Name,Option1 Value,Variant SKU,Variant Price,Image Src\r\n"
        "mug,Mug,Title,Default Title,M-1,5.00,https://x.example/a.jpg\r\n"
        "mug,,,,,,https://x.example/b.jpg\r\n")
    assert drafts[0].option_names == [] and drafts[0].variants[0].options == ()
    assert [image.src for image in drafts[0].images] == ["https://x.example/a.jpg",
                                                         "https://x.example/b.jpg"]


def test_three_options_and_status_with_published() -> None:
    drafts, _ = read(
        "Handle,Title,Published,Status,Option1 Name,Option1 Value,Option2 Name,Option2 Value,"
        "Option3 Name,Option3 Value,Variant SKU,Variant Price\n"
        "a,A,false,active,Size,S,Colour,Red,Fit,Slim,A-1,1\n"
        "b,B,true,archived,,,,,,,B-1,1\n"
        "c,C,,,,,,,,,C-1,1\n"
        "d,D,false,,,,,,,,D-1,1\n")
    assert drafts[0].option_names == ["Size", "Colour", "Fit"]
    assert drafts[0].variants[0].options == ("S", "Red", "Slim")
    assert [d.status for d in drafts] == [ProductStatus.DRAFT, ProductStatus.ARCHIVED,
                                          ProductStatus.ACTIVE, ProductStatus.DRAFT]


def test_values_are_read_exactly_and_problems_name_row_and_column() -> None:
    drafts, _ = read(
        "Handle,Title,Variant SKU,Variant Price,Variant Compare At Price,Variant Grams,"
        "Variant Inventory Qty,Variant Barcode\n"
        "a,A,A-1,19.99,24.5,250.4,-2,8.71E+12\n"
        "b,B,B-1,abc,,,x,\n")
    good, bad = drafts
    variant = good.variants[0]
    assert variant.prices == {"UK": (1999, 2450)} and variant.grams == 250
    assert variant.quantity == 0 and variant.barcode == ""
    assert [str(p) for p in good.problems] == [
        "row 2, Variant Inventory Qty: -2 units (oversold in Shopify) are read as 0",
        "row 2, Variant Barcode: 8.71E+12 is in scientific notation: a spreadsheet dropped its "
        "last digits; not imported (format the column as text and export again)"]
    assert not good.has_errors
    assert [(p.row, p.column, p.message) for p in bad.problems] == [
        (3, "Variant Price", '"abc" is not a price (like 19.99)'),
        (3, "Variant Inventory Qty", '"x" is not a whole number')]


def test_a_handle_whose_rows_are_split_is_reported_not_merged() -> None:
    drafts, found = read("Handle,Title,Variant SKU,Variant Price\n"
                         "a,A,A-1,1\nb,B,B-1,1\na,,A-2,1\n")
    assert [d.handle for d in drafts] == ["a", "b"] and len(drafts[0].variants) == 1
    assert [(p.row, p.column) for p in found.problems] == [(4, "Handle")]


def test_market_price_columns_and_unused_columns() -> None:
    drafts, found = read("Handle,Title,Variant SKU,Variant Price,Price / Germany,"
                         "Compare At Price / Germany,Price / International,Vendor\n"
                         "a,A,A-1,10.00,12.95,15.00,11,Me\n", market="UK")
    assert drafts[0].variants[0].prices == {"UK": (1000, None), "DE": (1295, 1500)}
    assert found.layout is not None
    assert found.layout.unused == ["Price / International", "Vendor"]


def test_a_file_without_handles_is_refused() -> None:
    with pytest.raises(InvalidInput) as refused:
        read("name,price\nx,1\n")
    assert refused.value.field == "file"


def test_generated_skus_are_stable_and_fit() -> None:
    assert generated_sku("wool-scarf", ["Grey"]) == "wool-scarf-grey"
    long = generated_sku("h" * 80, ["Extra Large"])
    assert len(long) <= MAX_SKU_LENGTH and long == generated_sku("h" * 80, ["Extra Large"])


def test_body_html_keeps_formatting_and_drops_what_runs() -> None:
    html = ('<p onclick="steal()">Soft <b>linen</b></p><script>alert(1)</script>'
            '<style>p{}</style><a href="javascript:alert(1)">x</a><img src=x onerror=y>'
            '<iframe src="https://evil.example"></iframe>')
    clean = sanitise(html)
    assert "<b>linen</b>" in clean and "<p>" in clean
    for gone in ("onclick", "script", "alert", "style", "javascript", "onerror", "iframe"):
        assert gone not in clean
    assert as_text("<h2>Care</h2><p>Wash cold.<br>Dry flat.</p><ul><li>A</li><li>B</li></ul>"
                   ) == "Care\n\nWash cold.\nDry flat.\n\n• A\n• B"
