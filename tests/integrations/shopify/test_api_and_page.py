"""POST /api/v1/shops/{id}/imports, the seller's import page and the CLI."""

from __future__ import annotations

import re
from typing import Any

from typer.testing import CliRunner

from liveshop.cli import app as cli
from tests.catalog.helpers import make_shop
from tests.integrations.shopify.helpers import FIXTURES


def _post(seller: Any, shop_id: int, name: str, key: str, dry_run: bool = False,
          market: str = "UK") -> Any:
    return seller.post(
        f"/api/v1/shops/{shop_id}/imports", headers={"Idempotency-Key": key},
        data={"market": market, "dry_run": "true" if dry_run else "false"},
        files={"file": (name, (FIXTURES / name).read_bytes(), "text/csv")})


def test_api_dry_run_import_and_retry(make_user: Any) -> None:
    seller = make_user("seller")
    shop = make_shop(seller, markets={"UK": 399, "DE": 499})
    dry = _post(seller, shop["id"], "bad_values.csv", "k0", dry_run=True)
    assert dry.status_code == 200, dry.text
    problem = next(p for p in dry.json()["problems"] if p["row"] == 3)
    assert problem == {"row": 3, "column": "Variant Price", "error": True,
                       "message": '"abc" is not a price (like 19.99)'}
    assert seller.get(f"/api/v1/shops/{shop['id']}/products").json() == []

    first = _post(seller, shop["id"], "classic.csv", "k1")
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["status"] == "done" and body["report"]["created"] == 5
    assert body["rows_done"] == body["rows_total"] == 10
    retried = _post(seller, shop["id"], "classic.csv", "k1")
    assert retried.status_code == 200 and retried.headers["Idempotent-Replayed"] == "true"
    assert retried.json()["id"] == body["id"]
    assert len(seller.get(f"/api/v1/shops/{shop['id']}/products").json()) == 5
    # Another key, the same file: a new run that changes nothing.
    again = _post(seller, shop["id"], "classic.csv", "k2")
    assert again.json()["report"]["unchanged"] == 5
    assert seller.get(f"/api/v1/imports/{body['id']}").json()["report"]["created"] == 5


def test_api_bad_input_names_the_field(make_user: Any) -> None:
    seller = make_user("seller")
    shop = make_shop(seller, markets={"UK": 399})
    no_key = seller.post(f"/api/v1/shops/{shop['id']}/imports", data={"market": "UK"},
                         files={"file": ("a.csv", b"Handle\n", "text/csv")})
    assert no_key.status_code == 422
    assert no_key.json()["error"]["field"] == "Idempotency-Key"
    market = _post(seller, shop["id"], "classic.csv", "k3", market="DE")
    assert (market.status_code, market.json()["error"]["field"]) == (422, "market")
    not_csv = seller.post(f"/api/v1/shops/{shop['id']}/imports",
                          headers={"Idempotency-Key": "k4"}, data={"market": "UK"},
                          files={"file": ("x.csv", b"name,price\nx,1\n", "text/csv")})
    assert (not_csv.status_code, not_csv.json()["error"]["field"]) == (422, "file")
    latin1 = seller.post(f"/api/v1/shops/{shop['id']}/imports",
                         headers={"Idempotency-Key": "k5"},
                         data={"market": "UK", "dry_run": "true"},
                         files={"file": ("x.csv", "Handle,Title\nx,Caf\xe9\n".encode("latin-1"),
                                         "text/csv")})
    assert (latin1.status_code, latin1.json()["error"]["field"]) == (422, "file")
    other = make_user("seller")
    assert _post(other, shop["id"], "classic.csv", "k6").status_code == 403


def test_page_upload_dry_run_then_confirm(make_user: Any) -> None:
    seller = make_user("seller")
    shop = make_shop(seller, markets={"UK": 399, "DE": 499})
    page = seller.get(f"/seller/shops/{shop['id']}/import")
    assert page.status_code == 200 and "Product export (CSV)" in page.text
    csrf = seller.http.headers["X-CSRF-Token"]
    checked = seller.post(f"/seller/shops/{shop['id']}/import",
                          data={"csrf_token": csrf, "market": "UK"},
                          files={"file": ("bad_values.csv",
                                          (FIXTURES / "bad_values.csv").read_bytes(),
                                          "text/csv")})
    assert checked.status_code == 200
    assert "What the import will do" in checked.text and "Variant Price" in checked.text
    assert "&#34;abc&#34; is not a price" in checked.text or '"abc" is not a price' in (
        checked.text)
    assert seller.get(f"/api/v1/shops/{shop['id']}/products").json() == []
    token = re.search(r'name="token" value="([^"]+)"', checked.text)
    assert token
    done = seller.post(f"/seller/shops/{shop['id']}/import/confirm",
                       data={"csrf_token": csrf, "market": "UK", "token": token.group(1)})
    assert done.status_code == 200 and ">Imported</h2>" in done.text
    assert len(seller.get(f"/api/v1/shops/{shop['id']}/products").json()) == 2
    forged = seller.post(f"/seller/shops/{shop['id']}/import/confirm",
                         data={"csrf_token": csrf, "market": "UK", "token": "../../etc"})
    assert forged.status_code == 422


def test_cli_dry_run_then_import(make_user: Any, settings: Any, monkeypatch: Any) -> None:
    seller = make_user("seller")
    shop = make_shop(seller, markets={"UK": 399})
    monkeypatch.setenv("LIVESHOP_DATABASE_URL", settings.database_url)
    from liveshop.core.config import get_settings
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        path = str(FIXTURES / "classic.csv")
        dry = runner.invoke(cli, ["import-shopify", path, "--shop", str(shop["id"]),
                                  "--market", "UK", "--dry-run"])
        assert dry.exit_code == 0, dry.output
        assert "5 products would be created" in dry.output
        assert seller.get(f"/api/v1/shops/{shop['id']}/products").json() == []
        done = runner.invoke(cli, ["import-shopify", path, "--shop", str(shop["id"]),
                                   "--market", "UK"])
        assert done.exit_code == 0, done.output
        assert "5 products were created" in done.output
        assert len(seller.get(f"/api/v1/shops/{shop['id']}/products").json()) == 5
    finally:
        get_settings.cache_clear()


def test_api_file_that_is_no_csv_is_a_422(make_user: Any) -> None:
    seller = make_user("seller")
    shop = make_shop(seller, markets={"UK": 399})
    # One cell of more than a million characters is no spreadsheet's export.
    huge = b"Handle,Title\nx," + b"a" * 1_000_001 + b"\n"
    refused = seller.post(f"/api/v1/shops/{shop['id']}/imports",
                          headers={"Idempotency-Key": "k7"},
                          data={"market": "UK", "dry_run": "true"},
                          files={"file": ("x.csv", huge, "text/csv")})
    assert (refused.status_code, refused.json()["error"]["field"]) == (422, "file")
