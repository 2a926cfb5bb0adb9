"""Inputs a person never meant (NUL bytes in names, a weight of 10¹² grams, ids beyond the
column) are refused at the schema with a 422 naming the field, on both databases; and every
field of every request body, and every parameter, declares its bounds in OpenAPI, so a new
one without them fails here."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, get_args

import pytest
from fastapi import params
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import BaseModel

from liveshop.app import API_PREFIX, API_ROUTERS
from liveshop.core.inputs import MAX_INTEGER, JsonInput
from tests.catalog.helpers import make_product, make_shop, product_body
from tests.security.conftest import ADDRESS

HTML = {"Accept": "text/html"}

# Bounded another way, so no maxLength/maximum is needed; each says why.
EXEMPT_FIELDS: set[tuple[str, str]] = set()
# Strings that are parsed, not stored as typed: a timestamp; an uploaded file, whose size
# LIVESHOP_MAX_UPLOAD_BYTES caps.
EXEMPT_FORMATS = {"date-time", "binary"}
ALTERNATIVES = re.compile(r"\^\((\w+\|)*\w+\)\$")


def unbounded(schema: dict[str, Any], where: str, components: dict[str, Any]
              ) -> Iterator[str]:
    """Where under ``schema`` a string has no maxLength, or an integer no minimum or maximum."""
    if "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    for key in ("anyOf", "oneOf", "allOf"):
        for option in schema.get(key, []):
            yield from unbounded(option, where, components)
    kind = schema.get("type")
    if kind == "object":
        for name, field in schema.get("properties", {}).items():
            yield from unbounded(field, f"{where}.{name}", components)
        if isinstance(schema.get("additionalProperties"), dict):
            yield from unbounded(schema["additionalProperties"], f"{where}.*", components)
            yield from unbounded(schema.get("propertyNames", {"type": "string"}),
                                 f"{where}.<key>", components)
    elif kind == "array":
        yield from unbounded(schema.get("items", {}), f"{where}[]", components)
    elif kind == "string":
        fixed = "enum" in schema or "const" in schema or ALTERNATIVES.fullmatch(
            schema.get("pattern", ""))
        parsed = schema.get("format") in EXEMPT_FORMATS or "contentMediaType" in schema
        if "maxLength" not in schema and not fixed and not parsed:
            yield f"{where}: a string without maxLength"
    elif kind in ("integer", "number"):
        if "maximum" not in schema:
            yield f"{where}: a number without maximum"
        if "minimum" not in schema and "exclusiveMinimum" not in schema:
            yield f"{where}: a number without minimum"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_every_request_field_declares_its_bounds(app: Any) -> None:
    """Bodies, and query, path and header parameters: a generated client learns from OpenAPI
    what the server will take (ids inside the id column, a search of at most 100
    characters), and a fuzzer that sends what OpenAPI allows finds no 422."""
    spec = app.openapi()
    components = spec["components"]["schemas"]
    problems = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            route = f"{method.upper()} {path}"
            found: list[str] = []
            for content in operation.get("requestBody", {}).get("content", {}).values():
                found += unbounded(content["schema"], "body", components)
            for parameter in operation.get("parameters", []):
                found += unbounded(parameter["schema"],
                                   f"{parameter['in']}.{parameter['name']}", components)
            problems += [f"{route} {problem}" for problem in found
                         if (route, problem.split(":")[0]) not in EXEMPT_FIELDS]
    assert not problems, "\n".join(problems)


def refused(response: Any, field: str) -> str:
    """The 422 answer naming ``field``; returns its message."""
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("invalid", field), error
    message: str = error["message"]
    return message


@pytest.fixture
def seller(make_user: Any) -> Any:
    return make_user("seller")


def test_nul_in_a_shop_name_is_refused_naming_the_field(seller: Any) -> None:
    message = refused(seller.post("/api/v1/shops", json={"name": "Night\x00Market"}), "name")
    assert message == "name: Text cannot contain control characters (found U+0000)"
    shop = make_shop(seller)
    refused(seller.patch(f"/api/v1/shops/{shop['id']}", json={"name": "Two\nlines"}), "name")
    assert seller.get("/api/v1/shops/mine").json()[0]["name"] == "Tee Shop"


def test_the_shop_form_refuses_it_too(seller: Any) -> None:
    token = re.search(r'name="csrf_token" value="([^"]+)"',
                      seller.get("/seller", headers=HTML).text)
    assert token is not None
    page = seller.post("/seller/shops", data={"csrf_token": token.group(1),
                                              "name": "Night\x00Market"})
    assert page.status_code == 422
    assert "name: Text cannot contain control characters (found U+0000)" in page.text
    assert seller.get("/api/v1/shops/mine").json() == []


def test_names_are_stored_trimmed_and_composed(seller: Any) -> None:
    # "e" + a combining accent, as some keyboards send it: stored as the one letter "é".
    created = seller.post("/api/v1/shops", json={"name": "  Cafe\u0301 Bleu\t",
                                                 "description": "Open\r\n\tdaily\r\n"})
    assert created.status_code == 201, created.text
    assert (created.json()["name"], created.json()["description"]) == (
        "Caf\u00e9 Bleu", "Open\n\tdaily")


def test_nul_in_a_product_title_or_description_is_refused(seller: Any) -> None:
    shop = make_shop(seller)
    url = f"/api/v1/shops/{shop['id']}/products"
    refused(seller.post(url, json=product_body(title="Linen\x00Shirt")), "title")
    refused(seller.post(url, json=product_body(description="Soft\x00linen")), "description")
    body = product_body()
    body["variants"][1]["options"] = ["M\x00"]
    refused(seller.post(url, json=body), "variants.1.options.0")
    product = make_product(seller, shop["id"])
    refused(seller.patch(f"/api/v1/products/{product['id']}", json={"tags": ["a\x00b"]}),
            "tags.0")


def test_a_weight_of_a_million_tonnes_is_refused(seller: Any) -> None:
    shop = make_shop(seller)
    body = product_body()
    body["variants"][0]["weight_grams"] = 10**12
    refused(seller.post(f"/api/v1/shops/{shop['id']}/products", json=body),
            "variants.0.weight_grams")
    product = make_product(seller, shop["id"])
    replacement = {"variants": [{**body["variants"][0], "weight_grams": 1_000_001}]}
    refused(seller.put(f"/api/v1/products/{product['id']}/variants", json=replacement),
            "variants.0.weight_grams")


def test_a_price_beyond_the_column_is_refused(seller: Any) -> None:
    """Already refused by the catalog's rules (catalog.model.MAX_AMOUNT) before the schema
    carried the bound: kept so that the bound and the field named stay."""
    shop = make_shop(seller)
    body = product_body(prices={"DE": MAX_INTEGER + 1})
    refused(seller.post(f"/api/v1/shops/{shop['id']}/products", json=body),
            "variants.0.prices.DE.amount")
    refused(seller.post("/api/v1/shops", json={
        "name": "Dear", "markets": [{"market": "DE", "shipping": MAX_INTEGER + 1}]}),
        "markets.0.shipping")


def test_an_id_beyond_the_column_is_refused(make_user: Any) -> None:
    buyer = make_user()
    refused(buyer.post("/api/v1/cart/items", json={"variant_id": MAX_INTEGER + 1}),
            "variant_id")
    refused(buyer.post("/api/v1/checkouts", json={"address_id": 2**40},
                       headers={"Idempotency-Key": "k1"}), "address_id")


def test_nul_in_an_address_line_is_refused(make_user: Any) -> None:
    buyer = make_user()
    refused(buyer.post("/api/v1/me/addresses", json={**ADDRESS, "line1": "1 High\x00Street"}),
            "line1")
    refused(buyer.post("/api/v1/checkouts", json={"address": {**ADDRESS, "city": "Lon\x00"}},
                       headers={"Idempotency-Key": "k2"}), "address.city")
    assert buyer.get("/api/v1/me/addresses").json() == []


def test_nul_in_a_display_name_is_refused(app: Any) -> None:
    with TestClient(app) as http:
        response = http.post("/api/v1/auth/signup", json={
            "email": "ann@example.com", "password": "correct-horse-battery",
            "display_name": "Ann\x00"})
        refused(response, "display_name")


def test_nul_in_a_shipping_carrier_is_refused(seller: Any) -> None:
    # Checked before the order is even looked up.
    refused(seller.post("/api/v1/orders/1/ship", json={"carrier": "DHL\x00",
                                                       "tracking_number": "1"}), "carrier")


def test_a_search_with_a_nul_is_refused(client: TestClient) -> None:
    refused(client.get("/api/v1/products", params={"q": "linen\x00"}), "q")
    assert client.get("/", params={"q": "linen\x00"}).status_code == 422
    long_search = client.get("/", params={"q": "linen " * 50}, headers=HTML)
    assert long_search.status_code == 200  # a long search is cut short, not refused


def test_the_login_form_answers_an_address_no_one_has(client: TestClient) -> None:
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert token is not None
    for email in ("a" * 300 + "@example.com", "ann\x00@example.com"):
        page = client.post("/login", data={"csrf_token": token.group(1), "email": email,
                                           "password": "whatever-it-is"})
        assert page.status_code == 422 and "Wrong email or password" in page.text


def test_every_request_body_takes_json_types_only(app: Any) -> None:
    """A JSON body's model derives from JsonInput: ``0`` is no ``false``, ``"5"`` no ``5`` and
    a number no date, as OpenAPI says (liveshop/core/inputs.py). (Forms send text only.)"""
    lax = sorted(f"{method} {API_PREFIX}{route.path_format}: {body.__name__}"
                 for router in API_ROUTERS for route in router.routes
                 if isinstance(route, APIRoute) and route.body_field is not None
                 and not isinstance(route.body_field.field_info, params.Form)
                 for body in _models_in(route.body_field.field_info.annotation)
                 if not issubclass(body, JsonInput)
                 for method in route.methods)
    assert not lax, "\n".join(lax)


def _models_in(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    for argument in get_args(annotation):
        yield from _models_in(argument)


def test_json_types_are_not_coerced(make_user: Any) -> None:
    buyer = make_user()
    refused(buyer.post("/api/v1/me/addresses", json={**ADDRESS, "is_default": 0}),
            "is_default")
    refused(buyer.post("/api/v1/cart/items", json={"variant_id": "1"}), "variant_id")
    refused(buyer.post("/api/v1/cart/items", json={"variant_id": True}), "variant_id")
    seller = make_user("seller")
    shop = make_shop(seller)
    refused(seller.post("/api/v1/shows", json={
        "shop_id": shop["id"], "title": "Launch", "scheduled_at": 0, "markets": ["UK"]}),
        "scheduled_at")
