"""What the live rooms' routes and sockets take from the app's services (liveshop/services.py),
as FastAPI dependencies. Each is ``async`` and reads the services directly: a dependency of a
dependency is one more step FastAPI takes on every tap of a flash sale."""

from __future__ import annotations

from typing import Annotated, Protocol

from fastapi import Depends
from starlette.requests import HTTPConnection

from liveshop.live.admission import SocketAllowance
from liveshop.live.purchases import LivePurchases
from liveshop.live.room import Hub
from liveshop.web.deps import WebServices, services_of


class LiveServices(WebServices, Protocol):
    """The live rooms' part of the app's services (those of the event loop serving them)."""

    @property
    def hub(self) -> Hub: ...

    @property
    def purchases(self) -> LivePurchases: ...

    @property
    def socket_allowance(self) -> SocketAllowance: ...


def live_services(connection: HTTPConnection) -> LiveServices:
    services: LiveServices = services_of(connection)
    return services


async def get_live_services(connection: HTTPConnection) -> LiveServices:
    return live_services(connection)


async def get_hub(connection: HTTPConnection) -> Hub:
    return live_services(connection).hub


async def get_purchases(connection: HTTPConnection) -> LivePurchases:
    return live_services(connection).purchases


Live = Annotated[LiveServices, Depends(get_live_services)]
RoomHub = Annotated[Hub, Depends(get_hub)]
Purchases = Annotated[LivePurchases, Depends(get_purchases)]
