"""Account use cases: sign-up, log-in (throttled), sign-in links, passwords, suspension,
API tokens, saved addresses."""

from __future__ import annotations

import math
from datetime import timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from liveshop.accounts import security
from liveshop.accounts.devices import KnownDevices
from liveshop.accounts.events import UserAccessChanged
from liveshop.accounts.model import (
    Actor,
    Backoff,
    LoginThrottle,
    Role,
    login_link_text,
)
from liveshop.accounts.orm import Address, ApiToken, LoginLink, User
from liveshop.accounts.schemas import (
    AddressIn,
    AddressView,
    LogIn,
    NewToken,
    PasswordChange,
    PasswordChanged,
    ProfileChange,
    SignUp,
    TokenView,
    UserStatusView,
    UserView,
)
from liveshop.accounts.sessions import end_sessions_of
from liveshop.accounts.tokens import forget_everywhere
from liveshop.core.config import Settings
from liveshop.core.db import Database, utcnow
from liveshop.core.errors import (
    Conflict,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    RateLimited,
)
from liveshop.core.events import record
from liveshop.core.mail import Mail
from liveshop.core.ratelimit import RateLimiter
from liveshop.markets.model import COUNTRY_TO_MARKET

# Sign-in links asked for per address (whether or not it has an account, so the answer
# tells nothing) and per IP, within one link's lifetime: a mailbox is not to be flooded.
LINKS_PER_ADDRESS = 3
LINKS_PER_IP = 10
# Password changes tried per account within the log-in window: a stolen session must not
# become a way to guess the current password.
PASSWORD_CHANGES_PER_WINDOW = 5


def actor_of(user: User) -> Actor:
    return Actor(user_id=user.id, role=Role(user.role), display_name=user.display_name)


def sign_up(db: Database, data: SignUp) -> Actor:
    """A new account in one of the roles a person may pick (``SignUp`` allows no other)."""
    email = normalised_email(data.email)
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


def normalised_email(email: str) -> str:
    return email.strip().lower()


def login_throttle(settings: Settings) -> LoginThrottle:
    cap = settings.login_max_delay_seconds
    return LoginThrottle(per_source=Backoff(settings.login_failures_per_source, cap),
                         per_account=Backoff(settings.login_failures_per_account, cap))


def _source_key(email: str, ip: str) -> str:
    return f"login:failed:source:{ip}|{email}"  # an IP holds no "|"


def _account_key(email: str) -> str:
    return f"login:failed:account:{email}"


def _device_key(nonce: str) -> str:
    return f"login:failed:device:{nonce}"


def log_in(db: Database, limiter: RateLimiter, settings: Settings, data: LogIn, ip: str,
           known_devices: KnownDevices | None = None) -> Actor:
    """Check the password, slowing guessing down (``LoginThrottle``) without ever locking the
    owner out. ``known_devices``: the browser's device cookie (accounts/devices.py)."""
    email = normalised_email(data.email)
    limiter.hit(f"login:ip:{ip}", limit=settings.login_attempts_per_ip,
                window_seconds=settings.login_window_seconds)
    throttle, window = login_throttle(settings), settings.login_failure_window_seconds
    with db.transaction() as session:
        user = session.scalars(select(User).where(User.email == email)).one_or_none()
        nonce = (known_devices or {}).get(user.id) if user is not None else None
        device_keys = [_device_key(nonce)] if nonce else []
        trusted = bool(device_keys) and throttle.trusts_device(
            limiter.recent(device_keys, window_seconds=window)[0].count)
        if trusted:
            counted = device_keys
        else:
            counted = [_source_key(email, ip), _account_key(email), *device_keys]
            source, account = limiter.recent(counted[:2], window_seconds=window)
            wait = throttle.wait_seconds(source.count, source.seconds_since_last,
                                         account.count, account.seconds_since_last)
            if wait > 0:
                retry_after = math.ceil(wait)
                raise RateLimited(f"Too many failed log-ins; try again in {retry_after} s, or"
                                  " sign in with a link sent to your e-mail",
                                  retry_after=retry_after)
        hash_ = user.password_hash if user is not None else None
        if user is None or not user.is_active or not security.verify_password(hash_, data.password):
            limiter.record(counted, window_seconds=window)
            raise NotAuthenticated("Wrong email or password", field="password",
                                   code="invalid_credentials")
        if security.needs_rehash(user.password_hash):
            user.password_hash = security.hash_password(data.password)
        # The account's count stays: the owner signing in must not give guessers a fresh start.
        limiter.reset(_source_key(email, ip))
        if nonce:
            limiter.reset(_device_key(nonce))
        return actor_of(user)


def request_login_link(db: Database, limiter: RateLimiter, settings: Settings, email: str,
                       ip: str) -> Mail | None:
    """A one-time sign-in link for the account of ``email``, as the mail to send; None when
    there is no such active account. The caller answers the same either way."""
    email = normalised_email(email)
    window = settings.login_link_ttl_seconds
    limiter.hit(f"login-link:ip:{ip}", limit=LINKS_PER_IP, window_seconds=window)
    limiter.hit(f"login-link:address:{email}", limit=LINKS_PER_ADDRESS, window_seconds=window)
    token = security.new_link_token()
    with db.transaction() as session:
        user = session.scalars(select(User).where(User.email == email,
                                                  User.is_active.is_(True))).one_or_none()
        if user is None:
            return None
        now = utcnow()
        # The user's spent links go as a new one comes: a handful of rows per account at most.
        session.execute(delete(LoginLink).where(
            LoginLink.user_id == user.id,
            or_(LoginLink.used_at.is_not(None), LoginLink.expires_at <= now)))
        session.add(LoginLink(user_id=user.id, token_hash=security.token_digest(token),
                              created_at=now, expires_at=now + timedelta(seconds=window)))
    url = f"{settings.public_url.rstrip('/')}/login/link?token={token}"
    return Mail(to=email, subject="Your liveshop sign-in link",
                text=login_link_text(url, minutes=max(1, window // 60)))


def redeem_login_link(db: Database, limiter: RateLimiter, token: str, ip: str) -> Actor:
    """Sign in with an e-mailed link: once, before it expires, for an active account."""
    refused = NotAuthenticated("This sign-in link is invalid, used or expired; ask for a new one",
                               field="token", code="invalid_link")
    now = utcnow()
    with db.transaction() as session:
        # One conditional UPDATE: two tabs opening the link at once cannot both sign in.
        user_id = session.execute(
            update(LoginLink)
            .where(LoginLink.token_hash == security.token_digest(token),
                   LoginLink.used_at.is_(None), LoginLink.expires_at > now)
            .values(used_at=now).returning(LoginLink.user_id)).scalar_one_or_none()
        user = session.get(User, user_id) if user_id is not None else None
        if user is None or not user.is_active:
            raise refused
        limiter.reset(_source_key(user.email, ip))
        return actor_of(user)


def change_password(db: Database, limiter: RateLimiter, settings: Settings, actor: Actor,
                    data: PasswordChange, *, keeping_session: str | None) -> PasswordChanged:
    """Set a new password, given the current one. Every other session of the user ends (the
    one making the change, ``keeping_session``, stays), and unused sign-in links die. API
    tokens stay unless asked (``data.revoke_api_tokens``): they are integrations the user
    made on purpose, listed and revocable one by one on the account page."""
    limiter.hit(f"password-change:{actor.user_id}", limit=PASSWORD_CHANGES_PER_WINDOW,
                window_seconds=settings.login_window_seconds)
    new_hash = security.hash_password(data.new_password)  # slow: not inside the transaction
    with db.transaction() as session:
        user = session.get(User, actor.user_id)
        if user is None or not security.verify_password(user.password_hash,
                                                        data.current_password):
            # 422, not 401: the caller is signed in, only this field is wrong.
            raise InvalidInput("The current password is wrong", field="current_password",
                               code="wrong_password")
        user.password_hash = new_hash
        ended = end_sessions_of(session, user.id, keeping=keeping_session)
        _expire_links(session, user.id)
        revoked = 0
        if data.revoke_api_tokens:
            revoked = int(session.execute(
                update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
                .values(revoked_at=utcnow())).rowcount)  # type: ignore[attr-defined]
    if revoked:
        forget_everywhere(user_id=actor.user_id)
    return PasswordChanged(sessions_ended=ended, api_tokens_revoked=revoked)


def change_profile(db: Database, limiter: RateLimiter, settings: Settings, actor: Actor,
                   data: ProfileChange) -> UserView:
    """Rename the account, or move it to another e-mail address. Sign-in links go to the
    address, so changing it takes the current password (throttled like a password change)
    and voids the links already sent to the old one."""
    new_email = normalised_email(data.email) if data.email is not None else None
    try:
        with db.transaction() as session:
            user = session.get(User, actor.user_id)
            if user is None:
                raise NotFound("No such user")
            if data.display_name is not None:
                user.display_name = data.display_name.strip()
            if new_email is not None and new_email != user.email:
                limiter.hit(f"password-change:{actor.user_id}",
                            limit=PASSWORD_CHANGES_PER_WINDOW,
                            window_seconds=settings.login_window_seconds)
                if not security.verify_password(user.password_hash,
                                                data.current_password or ""):
                    raise InvalidInput("Give your current password to change your e-mail",
                                       field="current_password", code="wrong_password")
                user.email = new_email
                _expire_links(session, user.id)
                session.flush()  # a taken address fails here, as a conflict on the field
            return UserView.model_validate(user)
    except IntegrityError:
        raise Conflict("An account with this email already exists", field="email") from None


def change_active(session: Session, user_id: int, active: bool) -> tuple[UserStatusView, bool]:
    """Suspend (``active=False``) or reinstate a user inside the caller's transaction (a
    platform admin's use case, liveshop/admin). A suspension ends every session of the user
    and voids their unused sign-in links, in this transaction: their next request with a
    cookie is refused. Their API tokens are refused by the database from the commit on,
    at once by this process's token lookups and within ``TokenLookup.TTL_SECONDS`` (10 s)
    by other processes' (``UserAccessChanged``); they work again if the user is reinstated
    (sessions do not: the user logs in again). The user as now, and whether they were
    active before."""
    user = session.get(User, user_id, with_for_update=True)
    if user is None:
        raise NotFound("No such user", field="user_id")
    was_active = user.is_active
    user.is_active = active
    if not active:
        end_sessions_of(session, user.id)
        _expire_links(session, user.id)
    record(session, UserAccessChanged(user.id))
    return UserStatusView.model_validate(user), was_active


def change_role(session: Session, user_id: int, role: Role) -> tuple[UserStatusView, Role]:
    """Give a user another role inside the caller's transaction (a platform admin's use
    case); their API tokens stop acting in the old role as ``change_active`` says. The user
    as now and their previous role."""
    user = session.get(User, user_id, with_for_update=True)
    if user is None:
        raise NotFound("No such user", field="user_id")
    previous = Role(user.role)
    user.role = role.value
    record(session, UserAccessChanged(user.id))
    return UserStatusView.model_validate(user), previous


def lock_active_admins(session: Session) -> list[int]:
    """The active admins' ids, their rows locked (in id order, so two admin actions never
    deadlock) until the caller's transaction ends."""
    return list(session.scalars(
        select(User.id).where(User.role == Role.ADMIN.value, User.is_active.is_(True))
        .order_by(User.id).with_for_update()))


def _expire_links(session: Session, user_id: int) -> None:
    session.execute(update(LoginLink).where(LoginLink.user_id == user_id,
                                            LoginLink.used_at.is_(None))
                    .values(used_at=utcnow()))


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


def home_market(db: Database, actor: Actor) -> str | None:
    """The market of the actor's default address (where one-tap purchases ship), if any."""
    with db.read() as session:
        country = session.scalar(
            select(Address.country)
            .where(Address.user_id == actor.user_id, Address.is_default.is_(True))
            .order_by(Address.id.desc()).limit(1))
    return COUNTRY_TO_MARKET.get(country) if country else None


def list_addresses(db: Database, actor: Actor) -> list[AddressView]:
    with db.read() as session:
        rows = session.scalars(
            select(Address)
            .where(Address.user_id == actor.user_id)
            .order_by(Address.is_default.desc(), Address.id.desc())
        )
        return [AddressView.model_validate(row) for row in rows]
