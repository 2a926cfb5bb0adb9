from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import DEFAULT_PASSWORD
from tests.html import csrf_from


def signup_form(client: TestClient, **fields: str) -> Any:
    token = csrf_from(client.get("/signup").text)
    form = {"csrf_token": token, "email": "eve@example.com", "password": DEFAULT_PASSWORD,
            "display_name": "Eve", "role": "seller", **fields}
    return client.post("/signup", data=form, follow_redirects=False)


def test_signup_page_logs_in_and_header_shows_seller_links(client: TestClient) -> None:
    response = signup_form(client)
    assert response.status_code == 303
    home = client.get("/account")
    assert home.status_code == 200
    assert "eve@example.com" in home.text and 'href="/seller"' in home.text


def test_form_post_without_csrf_token_is_refused(client: TestClient) -> None:
    client.get("/signup")
    response = client.post("/signup", data={"email": "x@example.com", "password": "p" * 12,
                                            "display_name": "X"})
    assert response.status_code == 403


def test_signup_errors_are_shown_in_the_form(client: TestClient) -> None:
    response = signup_form(client, password="short")
    assert response.status_code == 422
    assert "password" in response.text and 'value="eve@example.com"' in response.text


def test_login_logout_and_safe_redirect(client: TestClient) -> None:
    signup_form(client)
    logout_token = csrf_from(client.get("/account").text)
    client.post("/logout", data={"csrf_token": logout_token})
    redirected = client.get("/account", headers={"Accept": "text/html"}, follow_redirects=False)
    assert redirected.headers["location"] == "/login?next=/account"

    token = csrf_from(client.get("/login").text)
    wrong = client.post("/login", data={"csrf_token": token, "email": "eve@example.com",
                                        "password": "nope-nope-nope"})
    assert wrong.status_code == 401 and "Wrong email or password" in wrong.text
    ok = client.post("/login", data={"csrf_token": token, "email": "eve@example.com",
                                     "password": DEFAULT_PASSWORD,
                                     "next": "https://evil.example/"}, follow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"] == "/"


def test_session_cookie_is_httponly_and_samesite(client: TestClient) -> None:
    response = signup_form(client)
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie


def test_account_page_creates_shows_once_and_revokes_tokens(client: TestClient) -> None:
    signup_form(client)
    token = csrf_from(client.get("/account").text)
    created = client.post("/account/tokens", data={"csrf_token": token, "name": "laptop"})
    assert created.status_code == 201 and 'id="new-token">lsk_' in created.text
    full_token = created.text.split('id="new-token">')[1].split("<")[0]
    page = client.get("/account").text
    assert 'id="new-token"' not in page and full_token not in page
    revoke_path = page.split('action="/account/tokens/')[1].split('"')[0]
    client.post(f"/account/tokens/{revoke_path}", data={"csrf_token": token})
    assert "revoked" in client.get("/account").text


def test_account_page_saves_an_address(client: TestClient) -> None:
    signup_form(client)
    token = csrf_from(client.get("/account").text)
    client.post("/account/addresses", data={
        "csrf_token": token, "full_name": "Eve", "line1": "1 Rue", "city": "Paris",
        "postcode": "75001", "country": "FR"})
    assert "75001 Paris, France" in client.get("/account").text
    bad = client.post("/account/addresses", data={"csrf_token": token, "full_name": "",
                                                  "line1": "x", "city": "y", "postcode": "z",
                                                  "country": "FR"})
    assert bad.status_code == 422 and "full name" in bad.text


def test_choosing_a_market_in_the_header_is_remembered(client: TestClient) -> None:
    token = csrf_from(client.get("/login").text)
    client.post("/market", data={"csrf_token": token, "market": "DE", "next": "/login"})
    assert client.get("/api/v1/market").json()["code"] == "DE"


def test_account_page_lists_and_removes_saved_cards(make_user: Any) -> None:
    ann = make_user()
    saved = ann.post("/api/v1/payment-methods", json={
        "card": {"number": "4242 4242 4242 4242", "exp_month": 12, "exp_year": 2030,
                 "cvc": "123"}, "make_default": True})
    assert saved.status_code == 201, saved.text
    page = ann.get("/account").text
    assert "Visa ending 4242" in page and "4242 4242" not in page
    ann.post(f"/account/cards/{saved.json()['id']}/delete", data={"csrf_token": csrf_from(page)})
    assert "No saved card" in ann.get("/account").text


def test_the_address_form_names_countries_and_starts_in_the_markets_country(
        make_user: Any) -> None:
    ann = make_user("buyer")
    token = csrf_from(ann.get("/account").text)
    ann.post("/market", data={"csrf_token": token, "market": "DE", "next": "/"})
    page = ann.get("/account").text
    assert '<option value="DE" selected>Deutschland</option>' in page
    assert '<option value="GB" >Vereinigtes Königreich</option>' in page
    assert ">GB<" not in page and ">US<" not in page

    saved = ann.post("/account/addresses", data={
        "csrf_token": token, "full_name": "Ann Example", "line1": "Kastanienallee 7",
        "city": "Berlin", "postcode": "10435", "country": "DE"}, follow_redirects=True)
    assert "Ann Example, Kastanienallee 7, 10435 Berlin, Deutschland" in saved.text


def test_api_tokens_are_offered_to_sellers_and_admins_under_developer(make_user: Any) -> None:
    buyer = make_user("buyer")
    page = buyer.get("/account").text
    assert "API token" not in page and "Developer" not in page
    refused = buyer.post("/account/tokens", data={"csrf_token": csrf_from(page), "name": "x"})
    assert refused.status_code == 403
    for role in ("seller", "admin"):
        page = make_user(role).get("/account").text
        developer = page.split('id="developer"')[1]
        assert "Developer" in developer and "API tokens" in developer
        assert 'action="/account/tokens"' in developer
