from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import DEFAULT_PASSWORD


def signup(client: TestClient, email: str = "ann@example.com", **extra: Any) -> Any:
    body = {"email": email, "password": DEFAULT_PASSWORD, "display_name": "Ann", **extra}
    return client.post("/api/v1/auth/signup", json=body)


def test_signup_login_me_logout(client: TestClient) -> None:
    created = signup(client)
    assert created.status_code == 201
    assert created.json()["user"]["role"] == "buyer"
    client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": created.json()["csrf_token"]})
    assert client.get("/api/v1/me").status_code == 401

    logged_in = client.post("/api/v1/auth/login",
                            json={"email": "ANN@example.com", "password": DEFAULT_PASSWORD})
    assert logged_in.status_code == 200
    me = client.get("/api/v1/me")
    assert me.status_code == 200 and me.json()["email"] == "ann@example.com"


def test_password_is_stored_as_argon2id(client: TestClient, db: Any) -> None:
    from liveshop.accounts.orm import User

    signup(client)
    with db.read() as session:
        user = session.query(User).one()
    assert user.password_hash.startswith("$argon2id$")
    assert DEFAULT_PASSWORD not in user.password_hash


def test_duplicate_email_is_a_409_naming_the_field(client: TestClient) -> None:
    signup(client)
    again = signup(client, email="Ann@Example.com")
    assert again.status_code == 409
    assert again.json()["error"]["field"] == "email"


def test_bad_input_names_the_field(client: TestClient) -> None:
    response = signup(client, email="not-an-email")
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "email"
    short = signup(client, email="b@example.com", password="short")
    assert short.json()["error"]["field"] == "password"


def test_admin_role_cannot_be_self_assigned(client: TestClient) -> None:
    response = signup(client, role="admin")
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "role"


def test_wrong_passwords_slow_their_source_down_not_the_owner(client: TestClient,
                                                               app: Any) -> None:
    signup(client)  # this browser signed in: it carries a device cookie
    with TestClient(app) as stranger:
        for _ in range(3):
            wrong = stranger.post("/api/v1/auth/login",
                                  json={"email": "ann@example.com", "password": "wrong-password"})
            assert wrong.status_code == 401
        limited = stranger.post("/api/v1/auth/login",
                                json={"email": "ann@example.com", "password": DEFAULT_PASSWORD})
        assert limited.status_code == 429
        assert int(limited.headers["Retry-After"]) > 0
    owner = client.post("/api/v1/auth/login",
                        json={"email": "ann@example.com", "password": DEFAULT_PASSWORD})
    assert owner.status_code == 200


def test_login_is_rate_limited_per_ip_across_accounts(client: TestClient) -> None:
    statuses = [
        client.post("/api/v1/auth/login",
                    json={"email": f"user{i}@example.com", "password": "x"}).status_code
        for i in range(21)
    ]
    assert statuses[:20] == [401] * 20
    assert statuses[20] == 429


def test_cookie_session_writes_need_the_csrf_header(client: TestClient) -> None:
    csrf = signup(client).json()["csrf_token"]
    without = client.post("/api/v1/tokens", json={"name": "cli"})
    assert without.status_code == 403
    assert without.json()["error"]["code"] == "csrf_failed"
    with_header = client.post("/api/v1/tokens", json={"name": "cli"},
                              headers={"X-CSRF-Token": csrf})
    assert with_header.status_code == 201


def test_api_token_create_use_revoke(client: TestClient, app: Any) -> None:
    csrf = signup(client).json()["csrf_token"]
    created = client.post("/api/v1/tokens", json={"name": "laptop"},
                          headers={"X-CSRF-Token": csrf}).json()
    token = created["token"]
    assert token.startswith("lsk_")

    with TestClient(app) as api:
        auth = {"Authorization": f"Bearer {token}"}
        assert api.get("/api/v1/me", headers=auth).json()["email"] == "ann@example.com"
        # Bearer writes need no CSRF token: another site cannot attach the header.
        assert api.post("/api/v1/tokens", json={"name": "second"}, headers=auth).status_code == 201
        revoked = api.delete(f"/api/v1/tokens/{created['id']}", headers=auth)
        assert revoked.status_code == 200 and revoked.json()["revoked_at"]
        refused = api.get("/api/v1/me", headers=auth)
        assert refused.status_code == 401
        assert refused.json()["error"]["field"] == "Authorization"


def test_tokens_are_stored_hashed(client: TestClient, db: Any) -> None:
    from liveshop.accounts.orm import ApiToken

    csrf = signup(client).json()["csrf_token"]
    token = client.post("/api/v1/tokens", json={"name": "x"},
                        headers={"X-CSRF-Token": csrf}).json()["token"]
    with db.read() as session:
        stored = session.query(ApiToken).one()
    assert token not in (stored.token_hash, stored.prefix)


def test_cannot_revoke_someone_elses_token(make_user: Any) -> None:
    ann, bob = make_user(), make_user()
    token_id = ann.post("/api/v1/tokens", json={"name": "a"}).json()["id"]
    assert bob.delete(f"/api/v1/tokens/{token_id}").status_code == 404


def test_addresses_are_saved_and_checked(make_user: Any) -> None:
    ann = make_user()
    address = {"full_name": "Ann", "line1": "1 High St", "city": "Berlin", "postcode": "10115",
               "country": "DE"}
    created = ann.post("/api/v1/me/addresses", json=address)
    assert created.status_code == 201 and created.json()["country"] == "DE"
    # A country liveshop ships to, written as OpenAPI lists them.
    for country in ("JP", "de"):
        bad = ann.post("/api/v1/me/addresses", json={**address, "country": country})
        assert bad.status_code == 422 and bad.json()["error"]["field"] == "country"
    assert len(ann.get("/api/v1/me/addresses").json()) == 1


def test_only_admin_changes_roles(make_user: Any) -> None:
    admin, ann = make_user("admin"), make_user()
    assert ann.put(f"/api/v1/admin/users/{ann.id}/role", json={"role": "admin"}).status_code == 403
    changed = admin.put(f"/api/v1/admin/users/{ann.id}/role", json={"role": "moderator"},
                        headers={"Idempotency-Key": f"role-{ann.id}"})
    assert changed.status_code == 200 and changed.json()["role"] == "moderator"


def test_out_of_range_ids_are_a_4xx_not_a_500(make_user: Any) -> None:
    ann = make_user()
    response = ann.delete(f"/api/v1/tokens/{2**63}")
    assert 400 <= response.status_code < 500
    assert "error" in response.json()


def test_token_use_is_stamped_in_a_batch_at_the_latest_on_shutdown(
        client: TestClient, app: Any) -> None:
    csrf = signup(client).json()["csrf_token"]
    created = client.post("/api/v1/tokens", json={"name": "phone"},
                          headers={"X-CSRF-Token": csrf}).json()
    auth = {"Authorization": f"Bearer {created['token']}"}

    def last_used() -> Any:
        listed = client.get("/api/v1/tokens").json()
        return next(t["last_used_at"] for t in listed if t["id"] == created["id"])

    with TestClient(app) as api:
        assert api.get("/api/v1/me", headers=auth).status_code == 200
        assert last_used() is None  # not a write per request
    assert last_used() is not None  # written when the app stopped


def test_signing_in_shops_in_the_market_of_the_default_address_or_the_last_choice(
        app: Any, make_user: Any) -> None:
    """A buyer living in the UK on an en-US browser: once signed in, prices are the UK's."""
    ann = make_user("buyer", email="ann-uk@example.com")
    saved = ann.post("/api/v1/me/addresses", json={
        "full_name": "Ann", "line1": "1 High St", "city": "London", "postcode": "N1 1AA",
        "country": "GB", "is_default": True})
    assert saved.status_code == 201, saved.text
    login = {"email": "ann-uk@example.com", "password": DEFAULT_PASSWORD}
    with TestClient(app, headers={"Accept-Language": "en-US,en;q=0.9"}) as browser:
        assert browser.get("/api/v1/market").json()["code"] == "US"
        signed_in = browser.post("/api/v1/auth/login", json=login)
        assert signed_in.status_code == 200, signed_in.text
        assert browser.get("/api/v1/market").json()["code"] == "UK"

        # A market chosen in this browser is the last choice: signing out and in keeps it.
        csrf = {"X-CSRF-Token": signed_in.json()["csrf_token"]}
        assert browser.put("/api/v1/market", json={"market": "DE"},
                           headers=csrf).status_code == 200
        assert browser.post("/api/v1/auth/logout", headers=csrf).status_code == 204
        assert browser.get("/api/v1/market").json()["code"] == "DE"
        assert browser.post("/api/v1/auth/login", json=login).status_code == 200
        assert browser.get("/api/v1/market").json()["code"] == "DE"
