"""Account use cases: sign-up, log-in (rate-limited), API tokens, saved addresses."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from liveshop.accounts import security
from liveshop.accounts.model import SELF_SERVICE_ROLES, Actor, Role
from liveshop.accounts.orm import Address, ApiToken, User
from liveshop.accounts.schemas import (
    AddressIn,
    AddressView,
    LogIn,
    NewToken,
    SignUp,
    TokenView,
    UserView,
)
from liveshop.accounts.tokens import forget_everywhere
from liveshop.core.config import Settings
from liveshop.core.db import Database, utcnow
from liveshop.core.errors import Conflict, Forbidden, InvalidInput, NotAuthenticated, NotFound
from liveshop.core.ratelimit import RateLimiter
from liveshop.markets.model import COUNTRY_TO_MARKET


def actor_of(user: User) -> Actor:
    return Actor(user_id=user.id, role=Role(user.role), display_name=user.display_name)


def sign_up(db: Database, data: SignUp, *, allow_any_role: bool = False) -> Actor:
    if data.role not in SELF_SERVICE_ROLES and not allow_any_role:
        raise InvalidInput(f"The role {data.role} cannot be chosen at sign-up", field="role")
    email = data.email.strip().lower()
    try:
        with db.transaction() as session:
            user = User(
                email=email,
                display_name=data.display_name.strip(),
                password_hash=security.hash_password(data.password),
                role=data.role.value,
            )
            session.add(user)
            session.flush()
            return actor_of(user)
    except IntegrityError:
        raise Conflict("An account with this email already exists", field="email") from None


def log_in(db: Database, limiter: RateLimiter, settings: Settings, data: LogIn, ip: str) -> Actor:
    email = data.email.strip().lower()
    window = settings.login_window_seconds
    limiter.hit(f"login:ip:{ip}", limit=settings.login_attempts_per_ip, window_seconds=window)
    limiter.hit(
        f"login:account:{email}", limit=settings.login_attempts_per_account, window_seconds=window
    )
    with db.transaction() as session:
        user = session.scalars(select(User).where(User.email == email)).one_or_none()
        hash_ = user.password_hash if user is not None else None
        if user is None or not user.is_active or not security.verify_password(hash_, data.password):
            raise NotAuthenticated("Wrong email or password", field="password",
                                   code="invalid_credentials")
        if security.needs_rehash(user.password_hash):
            user.password_hash = security.hash_password(data.password)
        limiter.reset(f"login:account:{email}")
        return actor_of(user)


def get_actor(db: Database, user_id: int) -> Actor | None:
    with db.read() as session:
        user = session.get(User, user_id)
        return actor_of(user) if user is not None and user.is_active else None


def get_user(db: Database, actor: Actor) -> UserView:
    with db.read() as session:
        user = session.get(User, actor.user_id)
        if user is None:
            raise NotFound("No such user")
        return UserView.model_validate(user)


def create_api_token(db: Database, actor: Actor, name: str) -> NewToken:
    token = security.new_api_token()
    with db.transaction() as session:
        row = ApiToken(
            user_id=actor.user_id, name=name.strip(), token_hash=security.token_digest(token),
            prefix=token[:10],
        )
        session.add(row)
        session.flush()
        return NewToken(token=token, **TokenView.model_validate(row).model_dump())


def list_api_tokens(db: Database, actor: Actor) -> list[TokenView]:
    with db.read() as session:
        rows = session.scalars(
            select(ApiToken).where(ApiToken.user_id == actor.user_id).order_by(ApiToken.id)
        )
        return [TokenView.model_validate(row) for row in rows]


def revoke_api_token(db: Database, actor: Actor, token_id: int) -> TokenView:
    with db.transaction() as session:
        row = session.get(ApiToken, token_id)
        if row is None or (row.user_id != actor.user_id and not actor.is_admin):
            raise NotFound("No such token", field="token_id")
        if row.revoked_at is None:
            row.revoked_at = utcnow()
        revoked, digest = TokenView.model_validate(row), row.token_hash
    forget_everywhere(digest=digest)
    return revoked


def save_address(db: Database, actor: Actor, data: AddressIn) -> AddressView:
    country = data.country.upper()
    if country not in COUNTRY_TO_MARKET:
        raise InvalidInput(
            f"liveshop does not ship to {country}; use one of {', '.join(COUNTRY_TO_MARKET)}",
            field="country",
        )
    with db.transaction() as session:
        if data.is_default:
            session.execute(
                update(Address).where(Address.user_id == actor.user_id).values(is_default=False)
            )
        address = Address(user_id=actor.user_id, **data.model_dump(exclude={"country"}),
                          country=country)
        session.add(address)
        session.flush()
        return AddressView.model_validate(address)


def list_addresses(db: Database, actor: Actor) -> list[AddressView]:
    with db.read() as session:
        rows = session.scalars(
            select(Address)
            .where(Address.user_id == actor.user_id)
            .order_by(Address.is_default.desc(), Address.id.desc())
        )
        return [AddressView.model_validate(row) for row in rows]


def set_role(db: Database, admin: Actor, user_id: int, role: Role) -> UserView:
    if not admin.is_admin:
        raise Forbidden("Only an admin can change roles")
    with db.transaction() as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound("No such user", field="user_id")
        user.role = role.value
        changed = UserView.model_validate(user)
    forget_everywhere(user_id=user_id)  # its API tokens must not keep acting in the old role
    return changed
