"""The built-in test payment provider."""

from __future__ import annotations

from pathlib import Path

from liveshop.payments.provider import CardDetails, TestPaymentProvider


def test_a_provider_with_its_own_ledger_charges_once_per_key_across_instances(
    tmp_path: Path,
) -> None:
    ledger = f"sqlite:///{tmp_path / 'provider.db'}"
    first, after_restart = TestPaymentProvider(ledger), TestPaymentProvider(ledger)
    ok = first.tokenize(CardDetails("4242424242424242", 12, 2030, "123")).token
    declined = first.tokenize(CardDetails("4000000000000002", 12, 2030, "123")).token
    charged = first.charge(ok, 1000, "GBP", "checkout-1")
    assert after_restart.charge(ok, 1000, "GBP", "checkout-1") == charged
    refused = first.charge(declined, 1000, "GBP", "checkout-2")
    again = after_restart.charge(declined, 1000, "GBP", "checkout-2")
    assert (again.succeeded, again.decline_code, again.message) == (
        False, "card_declined", refused.message)
    assert first.charge_calls + after_restart.charge_calls == 2
