"""What each stock movement does to the counters. Pure: no SQL.

Every change to ``stock_levels`` writes one ledger row of a kind below, moving units from
one counter to another (``received`` brings them in from outside, ``removed`` takes
available units out: counted short, or sold in another channel such as a connected Shopify
store). Summing the ledger by
kind therefore gives the counters back, which is how they are audited.
"""

from __future__ import annotations

from collections.abc import Mapping

COUNTERS = ("available", "reserved", "held", "sold")

# kind -> (counter the units leave, counter they enter); None is outside the shop.
MOVES: dict[str, tuple[str | None, str | None]] = {
    "received": (None, "available"),      # goods arrived
    "removed": ("available", None),       # counted short, or sold elsewhere (Shopify)
    "reserved": ("available", "reserved"),  # a checkout holds them for its buyer
    "released": ("reserved", "available"),  # expired, declined or cancelled
    "sold": ("reserved", "sold"),           # paid
    "restocked": ("sold", "available"),     # refunded or returned
    "held": ("available", "held"),          # set aside for a flash sale when it starts
    "unheld": ("held", "available"),        # a sale's unclaimed units after it ended
    "allotted": ("held", "reserved"),       # a claimed sale unit becomes its buyer's reservation
    "reheld": ("reserved", "held"),         # that reservation released: back to the sale's hold
}


def counters_from_ledger(totals: Mapping[str, int]) -> dict[str, int]:
    """The counters the ledger's totals per kind explain (``ledger_balance``)."""
    counters = dict.fromkeys(COUNTERS, 0)
    for kind, quantity in totals.items():
        source, target = MOVES[kind]
        if source is not None:
            counters[source] -= quantity
        if target is not None:
            counters[target] += quantity
    return counters
