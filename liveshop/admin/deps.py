"""Who may use the back office's routes and pages: platform admins, checked before any
route of the package does anything else."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from liveshop.accounts.model import Actor
from liveshop.admin import model
from liveshop.web.deps import CurrentActor


async def require_admin_actor(actor: CurrentActor) -> Actor:
    return model.require_admin(actor)


AdminActor = Annotated[Actor, Depends(require_admin_actor)]
