"""Property-based API fuzzing with schemathesis against the app's own /openapi.json.

Every operation gets a bounded number of generated requests (derandomized, so a failure
reproduces), once as a logged-in buyer with a bearer token and once anonymous. No answer may
be a 5xx, and every answer whose status the OpenAPI document describes must match its
schema. All operations run before the test fails, so one report lists every problem.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import response_schema_conformance

from liveshop.accounts import service as accounts
from liveshop.accounts.model import Actor, Role
from liveshop.core.db import Database
from tests.factories import actor_of_token, create_product, create_shop
from tests.security.conftest import build_app, sign_up

EXAMPLES_PER_OPERATION = 10
CHECKS = [not_a_server_error, response_schema_conformance]


class Bearer:
    """The buyer's API token; minted again if a generated request revoked it."""

    def __init__(self, db: Database, actor: Actor):
        self.db, self.actor = db, actor
        self.token = ""
        self.renew()

    def renew(self) -> None:
        self.token = accounts.create_api_token(self.db, self.actor, "fuzz").token

    def headers(self) -> dict[str, str]:
        if actor_of_token(self.db, self.token) is None:
            self.renew()
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture(scope="module")
def fuzzed_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FastAPI, Bearer]]:
    app, db, _ = build_app(Path(tmp_path_factory.mktemp("fuzz")))
    buyer = sign_up(app, "buyer")
    seller = sign_up(app, "seller")
    # A little real data, so small generated ids sometimes reach real rows.
    shop_id = create_shop(db, seller.id)
    create_product(db, shop_id)
    yield app, Bearer(db, Actor(buyer.id, Role.BUYER, "Buyer"))
    buyer.http.close()
    seller.http.close()
    db.dispose()


def fuzz(app: FastAPI, headers: Any) -> list[str]:
    """Run every operation; return one line per operation that failed a check."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), f"unreadable OpenAPI operation: {result}"
        operation = result.ok()

        @settings(max_examples=EXAMPLES_PER_OPERATION, derandomize=True, deadline=None,
                  database=None, phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers(), checks=CHECKS)

        try:
            check()
        except Exception as error:  # schemathesis raises grouped check failures
            failures.append(f"{operation.label}: {error}")
    return failures


def test_every_operation_as_a_logged_in_buyer(fuzzed_app: tuple[FastAPI, Bearer]) -> None:
    app, bearer = fuzzed_app
    failures = fuzz(app, bearer.headers)
    assert not failures, "\n\n".join(failures)


def test_every_operation_anonymous(fuzzed_app: tuple[FastAPI, Bearer]) -> None:
    app, _ = fuzzed_app
    failures = fuzz(app, dict)
    assert not failures, "\n\n".join(failures)
