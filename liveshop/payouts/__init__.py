"""Payouts: when payees' money is available, payout statements, and paying them."""
