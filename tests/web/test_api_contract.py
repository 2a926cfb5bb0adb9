"""Contract of the whole API: OpenAPI describes every route, and no bad input gets a 500."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.routing import APIRoute

from liveshop.app import API_PREFIX, API_ROUTERS

BODIES: list[dict[str, Any]] = [
    {},
    {"json": {}},
    {"json": []},
    {"json": {"unexpected": "x", "quantity": -1, "variant_id": "abc", "prices": "x"}},
    {"content": b"{not json", "headers": {"Content-Type": "application/json"}},
    {"content": b"\xff\xfe", "headers": {"Content-Type": "application/json"}},
]
IDS = ["1", "999999", str(2**40), "-1", "abc"]


def api_routes(app: Any) -> list[tuple[str, str]]:
    return sorted(
        (method, API_PREFIX + route.path_format)
        for router in API_ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in (route.methods or set()) - {"HEAD", "OPTIONS"}
    )


def test_openapi_lists_every_api_route_with_a_response_schema(client: Any, app: Any) -> None:
    spec = client.get("/openapi.json").json()
    for method, path in api_routes(app):
        operation = spec["paths"][path][method.lower()]
        success = [code for code in operation["responses"] if code.startswith("2")]
        assert success, f"{method} {path} documents no success response"
        if success[0] != "204":
            content = operation["responses"][success[0]].get("content", {})
            assert "application/json" in content, f"{method} {path} has no response schema"
        for status in ("401", "403", "404", "409", "422"):
            error = operation["responses"][status]["content"]["application/json"]["schema"]
            assert error == {"$ref": "#/components/schemas/ErrorBody"}, (method, path, status)
    assert "HTTPValidationError" not in spec["components"]["schemas"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_no_route_answers_bad_input_with_a_500(app: Any, make_user: Any) -> None:
    admin = make_user("admin")
    failures = []
    for method, path in api_routes(app):
        for raw_id in IDS:
            url = re.sub(r"\{[^}]+\}", raw_id, path)
            for body in BODIES:
                headers = {"Idempotency-Key": f"k-{raw_id}", **body.get("headers", {})}
                kwargs = {k: v for k, v in body.items() if k != "headers"}
                response = admin.request(method, url, headers=headers, **kwargs)
                if response.status_code >= 500:
                    failures.append(f"{method} {url} {body} -> {response.status_code}")
                elif response.status_code >= 400:
                    assert "error" in response.json(), f"{method} {url}: {response.text}"
    assert not failures, "\n".join(failures[:20])


def test_a_405_names_every_method_the_path_supports(client: Any, app: Any) -> None:
    """RFC 9110: a 405 carries ``Allow``. A path served by several routes lists them all, and
    only what OpenAPI says the path has (PATCH /shops/mine is not PATCH /shops/{shop_id})."""
    paths: dict[str, set[str]] = {}
    for method, path in api_routes(app):
        paths.setdefault(path, set()).add(method)
    for path, methods in paths.items():
        url = re.sub(r"\{[^}]+\}", "1", path)
        response = client.request("TRACE", url)
        assert response.status_code == 405, (path, response.text)
        assert response.json()["error"]["code"] == "method_not_allowed"
        assert set(response.headers["Allow"].split(", ")) == methods, path
    assert client.delete("/static/css/site.css").headers["Allow"] == "GET, HEAD"
    assert client.post("/openapi.json").headers["Allow"] == "GET, HEAD"
