"""Affiliate plans through the API: a shop's owner opens its products to creators; bad input
is a 4xx naming the field; nobody else manages the shop's plans."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from liveshop.core.db import Database, utcnow
from tests.conftest import UserClient
from tests.factories import VariantSpec, create_product, create_shop


def key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


@pytest.fixture
def shop(db: Database, make_user: Callable[..., UserClient]) -> tuple[UserClient, int, int]:
    owner = make_user("seller")
    shop_id = create_shop(db, owner.id, {"UK": 399})
    product_id, _ = create_product(db, shop_id, [VariantSpec(prices={"UK": 1999}, stock=5)])
    return owner, shop_id, product_id


def plans_path(shop_id: int) -> str:
    return f"/api/v1/shops/{shop_id}/affiliate-plans"


def test_open_and_targeted_plans_pause_and_change_rate(
        shop: tuple[UserClient, int, int], make_user: Callable[..., UserClient]) -> None:
    owner, shop_id, product_id = shop
    creator = make_user("creator")
    opened = owner.post(plans_path(shop_id), json={
        "product_id": product_id, "kind": "open", "rate_bp": 800}, headers=key())
    assert opened.status_code == 201, opened.text
    assert (opened.json()["kind"], opened.json()["rate_bp"], opened.json()["active"]) == (
        "open", 800, True)
    ends = (utcnow() + timedelta(days=30)).isoformat()
    targeted = owner.post(plans_path(shop_id), json={
        "product_id": product_id, "kind": "targeted", "rate_bp": 1500,
        "creator_id": creator.id, "ends_at": ends}, headers=key())
    assert targeted.status_code == 201, targeted.text

    paused = owner.patch(f"/api/v1/affiliate-plans/{opened.json()['id']}",
                         json={"paused": True, "rate_bp": 900})
    assert paused.status_code == 200, paused.text
    assert (paused.json()["paused"], paused.json()["active"], paused.json()["rate_bp"]) == (
        True, False, 900)
    listed = owner.get(plans_path(shop_id)).json()
    assert [(plan["kind"], plan["creator_id"]) for plan in listed] == [
        ("open", None), ("targeted", creator.id)]

    # One open plan per product, one targeted plan per product and creator.
    again = owner.post(plans_path(shop_id), json={
        "product_id": product_id, "kind": "open", "rate_bp": 500}, headers=key())
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "plan_exists"


def test_a_retried_create_replays_the_first_plan(shop: tuple[UserClient, int, int]) -> None:
    owner, shop_id, product_id = shop
    headers = key()
    body = {"product_id": product_id, "kind": "open", "rate_bp": 800}
    first = owner.post(plans_path(shop_id), json=body, headers=headers)
    second = owner.post(plans_path(shop_id), json=body, headers=headers)
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["id"] == second.json()["id"]


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"kind": "open", "rate_bp": 99}, 422, "rate_bp"),
    ({"kind": "open", "rate_bp": 8001}, 422, "rate_bp"),
    ({"kind": "targeted", "rate_bp": 1000}, 422, "creator_id"),
    ({"kind": "open", "rate_bp": 1000, "ends_at": "2020-01-01T00:00:00+00:00"}, 422, "ends_at"),
    ({"kind": "open", "rate_bp": 1000, "ends_at": "2099-01-01T00:00:00"}, 422, "ends_at"),
    ({"kind": "open", "rate_bp": 1000, "product_id": 999_999}, 404, "product_id"),
])
def test_bad_input_names_the_field(shop: tuple[UserClient, int, int], body: dict[str, Any],
                                   status: int, field: str) -> None:
    owner, shop_id, product_id = shop
    answer = owner.post(plans_path(shop_id), json={"product_id": product_id, **body},
                        headers=key())
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["field"] == field


def test_a_targeted_plan_invites_a_creator_only(shop: tuple[UserClient, int, int],
                                               make_user: Callable[..., UserClient]) -> None:
    owner, shop_id, product_id = shop
    buyer = make_user("buyer")
    answer = owner.post(plans_path(shop_id), json={
        "product_id": product_id, "kind": "targeted", "rate_bp": 1000, "creator_id": buyer.id,
        "ends_at": (utcnow() + timedelta(days=3)).isoformat()}, headers=key())
    assert answer.status_code == 404
    assert answer.json()["error"]["field"] == "creator_id"


def test_only_the_shops_owner_manages_its_plans(shop: tuple[UserClient, int, int],
                                                make_user: Callable[..., UserClient]) -> None:
    owner, shop_id, product_id = shop
    plan = owner.post(plans_path(shop_id), json={
        "product_id": product_id, "kind": "open", "rate_bp": 800}, headers=key()).json()
    other = make_user("seller")
    assert other.post(plans_path(shop_id), json={
        "product_id": product_id, "kind": "open", "rate_bp": 800},
        headers=key()).status_code == 403
    assert other.patch(f"/api/v1/affiliate-plans/{plan['id']}",
                       json={"rate_bp": 100}).status_code == 403
    assert other.get(plans_path(shop_id)).status_code == 403
