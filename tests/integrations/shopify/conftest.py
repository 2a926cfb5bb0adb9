"""The fake Shopify store, served on loopback for each test that asks for it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integrations.shopify.sync_helpers import Store, start_store


@pytest.fixture
def store() -> Iterator[Store]:
    started = start_store()
    yield started
    started.fake.stop()
