"""How many room sockets one client may hold open on this process (docs/live-protocol.md,
"Connecting"). Counted in memory per process: a connect or a disconnect costs two dict
updates, and nothing is left behind when a process dies."""

from __future__ import annotations

from ipaddress import IPv6Address, ip_address, ip_network
from typing import TypeVar

K = TypeVar("K")


def address_key(host: str | None) -> str:
    """The client's address as counted: an IPv6 client by its /64 network, which one
    subscriber usually holds whole (so new addresses from it do not escape the cap)."""
    if not host:
        return "unknown"
    try:
        address = ip_address(host)
    except ValueError:
        return host  # not an address (e.g. the test client's "testclient")
    if isinstance(address, IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ip_network(f"{address}/64", strict=False))
    return str(address)


class SocketAllowance:
    """Open room sockets per client address and per signed-in user. The address cap is
    generous (a shop floor or a campus shares one address); the user cap is small (a person
    with a few tabs)."""

    __slots__ = ("by_address", "by_user", "per_address", "per_user")

    def __init__(self, per_address: int, per_user: int) -> None:
        self.per_address = per_address
        self.per_user = per_user
        self.by_address: dict[str, int] = {}
        self.by_user: dict[int, int] = {}

    def take(self, address: str, user_id: int | None) -> bool:
        """Count one more socket for this client, or False (nothing counted) if it is at
        either cap. Every True is matched by one :meth:`give_back`."""
        on_address = self.by_address.get(address, 0)
        if on_address >= self.per_address:
            return False
        if user_id is not None:
            of_user = self.by_user.get(user_id, 0)
            if of_user >= self.per_user:
                return False
            self.by_user[user_id] = of_user + 1
        self.by_address[address] = on_address + 1
        return True

    def give_back(self, address: str, user_id: int | None) -> None:
        _decrement(self.by_address, address)
        if user_id is not None:
            _decrement(self.by_user, user_id)


def _decrement(counts: dict[K, int], key: K) -> None:
    left = counts.get(key, 0) - 1
    if left > 0:
        counts[key] = left
    else:
        counts.pop(key, None)
