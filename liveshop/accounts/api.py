"""Account API: sign-up, log-in/out, the current user, API tokens, addresses, roles."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel

from liveshop.accounts import service
from liveshop.accounts.model import Actor, Role
from liveshop.accounts.schemas import (
    AddressIn,
    AddressView,
    LogIn,
    NewToken,
    SignUp,
    TokenCreate,
    TokenView,
    UserView,
)
from liveshop.web.deps import Context, CurrentActor, client_ip, csrf_token

router = APIRouter(tags=["accounts"])


class Session(BaseModel):
    user: UserView
    csrf_token: str


def start_session(request: Request, actor: Actor) -> str:
    """Fresh session on log-in (no fixation), keeping only the visitor's market choice."""
    market = request.session.get("market")
    request.session.clear()
    if market:
        request.session["market"] = market
    request.session["uid"] = actor.user_id
    return csrf_token(request)


@router.post("/auth/signup", status_code=201, response_model=Session)
def sign_up(data: SignUp, request: Request, context: Context) -> Session:
    actor = service.sign_up(context.db, data)
    token = start_session(request, actor)
    return Session(user=service.get_user(context.db, actor), csrf_token=token)


@router.post("/auth/login", response_model=Session)
def log_in(data: LogIn, request: Request, context: Context) -> Session:
    actor = service.log_in(context.db, context.limiter, context.settings, data, client_ip(request))
    token = start_session(request, actor)
    return Session(user=service.get_user(context.db, actor), csrf_token=token)


@router.post("/auth/logout", status_code=204)
def log_out(request: Request) -> None:
    request.session.clear()


@router.get("/me", response_model=UserView)
def me(actor: CurrentActor, context: Context) -> UserView:
    return service.get_user(context.db, actor)


@router.post("/tokens", status_code=201, response_model=NewToken)
def create_token(data: TokenCreate, actor: CurrentActor, context: Context) -> NewToken:
    return service.create_api_token(context.db, actor, data.name)


@router.get("/tokens", response_model=list[TokenView])
def list_tokens(actor: CurrentActor, context: Context) -> list[TokenView]:
    return service.list_api_tokens(context.db, actor)


@router.delete("/tokens/{token_id}", response_model=TokenView)
def revoke_token(token_id: int, actor: CurrentActor, context: Context) -> TokenView:
    return service.revoke_api_token(context.db, actor, token_id)


@router.post("/me/addresses", status_code=201, response_model=AddressView)
def add_address(data: AddressIn, actor: CurrentActor, context: Context) -> AddressView:
    return service.save_address(context.db, actor, data)


@router.get("/me/addresses", response_model=list[AddressView])
def list_addresses(actor: CurrentActor, context: Context) -> list[AddressView]:
    return service.list_addresses(context.db, actor)


class RoleChange(BaseModel):
    role: Role


@router.put("/admin/users/{user_id}/role", response_model=UserView)
def change_role(user_id: int, data: RoleChange, actor: CurrentActor, context: Context) -> UserView:
    return service.set_role(context.db, actor, user_id, data.role)
