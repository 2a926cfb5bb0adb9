"""The room's chat and its moderation: posting, deleting, mutes, bans, slow mode, show
moderators and a shop's banned words."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, lazyload

from liveshop.accounts.model import Actor, Role
from liveshop.accounts.orm import User
from liveshop.catalog.access import owned_shop
from liveshop.catalog.orm import Shop
from liveshop.core.db import Database, set_row_present, utcnow
from liveshop.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from liveshop.core.events import record
from liveshop.core.ratelimit import RateLimiter
from liveshop.live import model
from liveshop.live.access import can_moderate, load_show, require_host, require_moderator
from liveshop.live.events import ChatDeleted, ChatPosted, SlowModeChanged, UserBanned, UserMuted
from liveshop.live.frames import ChatMessage as ChatMessageFrame
from liveshop.live.model import ShowStatus, epoch_ms
from liveshop.live.orm import (
    ChatMessage,
    ChatMute,
    ShopBan,
    ShopChatFilter,
    ShopCreator,
    Show,
    ShowModerator,
)
from liveshop.live.schemas import ChatView, ModeratorView


def _room_rank(session: Session, show: Show, user_id: int, role: str) -> model.RoomRank:
    if role in (Role.ADMIN, Role.MODERATOR):
        return model.RoomRank.STAFF
    if show.shop_id is None:  # a creator's own show: its host runs it
        return model.RoomRank.HOST if show.host_id == user_id else _show_rank(
            session, show, user_id)
    shop = session.get(Shop, show.shop_id, options=[lazyload(Shop.markets)])
    if shop is not None and shop.owner_id == user_id:
        return model.RoomRank.OWNER
    if show.host_id == user_id or session.get(ShopCreator, (show.shop_id, user_id)) is not None:
        return model.RoomRank.HOST
    return _show_rank(session, show, user_id)


def _show_rank(session: Session, show: Show, user_id: int) -> model.RoomRank:
    if session.get(ShowModerator, (show.id, user_id)) is not None:
        return model.RoomRank.MODERATOR
    return model.RoomRank.VIEWER


def _ranks(session: Session, show: Show, actor: Actor, target_id: int
           ) -> tuple[model.RoomRank, model.RoomRank]:
    """The actor's rank and the target's in the show's room (NotFound naming ``user_id``)."""
    target = session.get(User, target_id)
    if target is None:
        raise NotFound("No such user", field="user_id")
    return (_room_rank(session, show, actor.user_id, actor.role),
            _room_rank(session, show, target.id, target.role))


def _chat_message(message: ChatMessage) -> ChatMessageFrame:
    """A message as the room shows it (and the chat API answers it: ``ChatView``)."""
    return ChatMessageFrame(id=message.id, user_id=message.user_id, author=message.author,
                            text=message.text, at=epoch_ms(message.created_at))


def banned_from_shop(session: Session, shop_id: int | None, user_id: int) -> bool:
    """A creator's own show (no shop) has no shop bans: its host mutes instead."""
    return shop_id is not None and session.get(ShopBan, (shop_id, user_id)) is not None


def muted_until(session: Session, show_id: int, user_id: int) -> datetime | None:
    return session.scalar(select(func.max(ChatMute.until)).where(
        ChatMute.show_id == show_id, ChatMute.user_id == user_id, ChatMute.until > utcnow()))


def is_banned(db: Database, show_id: int, user_id: int) -> bool:
    with db.read() as session:
        return banned_from_shop(session, load_show(session, show_id).shop_id, user_id)


def post_chat(db: Database, limiter: RateLimiter, actor: Actor, show_id: int,
              text: str) -> ChatView:
    cleaned = model.clean_chat_text(text)
    # Checked in a read, written in a transaction of one INSERT: on SQLite a write
    # transaction holds the database's write lock, which purchases in the room need too.
    # (Under PostgreSQL's read committed the checks never locked anything either.)
    with db.read() as session:
        # Chat is the busiest write of a room: each statement waits for the GIL beside the
        # fan-out, and the tail of its latency is the tail of every viewer's.
        show = load_show(session, show_id, lineup=False)
        if show.status != ShowStatus.LIVE:
            raise Conflict("Chat is open while the show is live", field="show_id")
        if banned_from_shop(session, show.shop_id, actor.user_id):
            raise Forbidden("You are banned from this shop's shows", code="banned", field="text")
        muted = muted_until(session, show_id, actor.user_id)
        if muted is not None:
            minutes = max(1, round((muted - utcnow()).total_seconds() / 60))
            raise Forbidden(f"You are muted for {minutes} more minute(s)", code="muted",
                            field="text")
        staff = can_moderate(session, actor, show)
        if not staff:
            limiter.hit(f"chat:{show_id}:{actor.user_id}", limit=model.CHAT_BURST,
                        window_seconds=model.CHAT_BURST_WINDOW_SECONDS)
            if show.slow_mode_seconds:
                limiter.hit(f"slow:{show_id}:{actor.user_id}", limit=1,
                            window_seconds=show.slow_mode_seconds)
        banned_words = set(session.scalars(
            select(ShopChatFilter.word).where(ShopChatFilter.shop_id == show.shop_id)))
        if model.banned_word_in(cleaned, banned_words):
            raise InvalidInput("That message contains a word this shop does not allow",
                               field="text", code="banned_word")
    with db.transaction() as session:
        message = ChatMessage(show_id=show_id, user_id=actor.user_id,
                              author=actor.display_name, text=cleaned, created_at=utcnow())
        session.add(message)
        session.flush()
        posted = _chat_message(message)
        record(session, ChatPosted(show_id, posted))
    return ChatView(**posted)


def recent_chat(session: Session, show_id: int) -> list[ChatMessageFrame]:
    rows = session.scalars(select(ChatMessage).where(
        ChatMessage.show_id == show_id, ChatMessage.deleted_at.is_(None)
    ).order_by(ChatMessage.id.desc()).limit(model.CHAT_HISTORY)).all()
    return [_chat_message(row) for row in reversed(rows)]


def delete_message(db: Database, actor: Actor, show_id: int, message_id: int) -> None:
    with db.transaction() as session:
        remove_message(session, actor, show_id, message_id)


def remove_message(session: Session, actor: Actor, show_id: int, message_id: int
                   ) -> ChatMessage:
    """Delete a chat message inside the caller's transaction, by its author or someone
    above them on the moderation ladder (a platform admin upholding a report is at its
    top); the room hears it after the commit. The message."""
    show = load_show(session, show_id)
    require_moderator(session, actor, show)
    message = session.get(ChatMessage, message_id)
    if message is None or message.show_id != show_id:
        raise NotFound("No such message", field="message_id")
    if message.user_id != actor.user_id:
        actor_rank, author_rank = _ranks(session, show, actor, message.user_id)
        model.ensure_may_moderate(actor_rank, author_rank, field="message_id")
    if message.deleted_at is None:
        message.deleted_at, message.deleted_by = utcnow(), actor.user_id
    record(session, ChatDeleted(show_id, [message_id]))
    return message


def mute(db: Database, actor: Actor, show_id: int, user_id: int, minutes: int) -> datetime:
    with db.transaction() as session:
        show = load_show(session, show_id)
        require_moderator(session, actor, show)
        model.ensure_may_silence(*_ranks(session, show, actor, user_id))
        until = utcnow() + timedelta(minutes=minutes)
        session.add(ChatMute(show_id=show_id, user_id=user_id, until=until,
                             by_id=actor.user_id))
        record(session, UserMuted(show_id, user_id, epoch_ms(until)))
    return until


def ban(db: Database, actor: Actor, show_id: int, user_id: int) -> None:
    with db.transaction() as session:
        show = load_show(session, show_id)
        require_moderator(session, actor, show)
        model.ensure_may_silence(*_ranks(session, show, actor, user_id))
        if show.shop_id is None:
            raise Conflict("A ban is from a shop's shows; in your own show, mute instead",
                           field="user_id", code="no_shop_to_ban_from")
        if banned_from_shop(session, show.shop_id, user_id):
            return
        session.add(ShopBan(shop_id=show.shop_id, user_id=user_id, by_id=actor.user_id))
        # A banned moderator moderates none of the shop's shows: else they could lift it.
        session.execute(delete(ShowModerator).where(
            ShowModerator.user_id == user_id,
            ShowModerator.show_id.in_(select(Show.id).where(Show.shop_id == show.shop_id))))
        banned_ids = list(session.scalars(select(ChatMessage.id).where(
            ChatMessage.show_id == show_id, ChatMessage.user_id == user_id,
            ChatMessage.deleted_at.is_(None))))
        session.execute(update(ChatMessage).where(ChatMessage.id.in_(banned_ids))
                        .values(deleted_at=utcnow(), deleted_by=actor.user_id))
        record(session, UserBanned(show_id, user_id))
        if banned_ids:
            record(session, ChatDeleted(show_id, banned_ids))


def unban(db: Database, actor: Actor, show_id: int, user_id: int) -> None:
    with db.transaction() as session:
        show = load_show(session, show_id)
        require_moderator(session, actor, show)
        session.execute(delete(ShopBan).where(ShopBan.shop_id == show.shop_id,
                                              ShopBan.user_id == user_id))


def set_slow_mode(db: Database, actor: Actor, show_id: int, seconds: int) -> None:
    if not 0 <= seconds <= model.MAX_SLOW_MODE_SECONDS:
        raise InvalidInput("Slow mode is 0 to 300 seconds", field="seconds")
    with db.transaction() as session:
        show = load_show(session, show_id)
        require_moderator(session, actor, show)
        show.slow_mode_seconds = seconds
        record(session, SlowModeChanged(show_id, seconds))


def set_moderator(db: Database, actor: Actor, show_id: int, user_id: int, on: bool) -> None:
    with db.transaction() as session:
        _hosted_show(session, actor, show_id)
        if session.get(User, user_id) is None:
            raise NotFound("No such user", field="user_id")
        _set_moderator(session, show_id, user_id, on)


def _hosted_show(session: Session, actor: Actor, show_id: int) -> Show:
    show = load_show(session, show_id, lock=True)  # see remove_creator
    require_host(session, actor, show)
    return show


def _set_moderator(session: Session, show_id: int, user_id: int, on: bool) -> None:
    set_row_present(session, ShowModerator, (show_id, user_id), on,
                    lambda: ShowModerator(show_id=show_id, user_id=user_id))


def find_person(session: Session, who: str) -> User:
    """The one account with this e-mail address, or else with this display name (case
    aside): hosts pick moderators by what they know of them, never by an id."""
    wanted = " ".join(who.split()).lower()
    if "@" in wanted:
        found = list(session.scalars(select(User).where(func.lower(User.email) == wanted)))
    else:
        found = list(session.scalars(
            select(User).where(func.lower(User.display_name) == wanted).limit(2)))
    if not found:
        raise NotFound(f"No one called {who.strip()!r} has an account here; check the "
                       "spelling or type their e-mail address", field="user")
    if len(found) > 1:
        raise Conflict(f"More than one person is called {who.strip()!r}; type their e-mail "
                       "address instead", field="user", code="ambiguous_user")
    return found[0]


def add_moderator(db: Database, actor: Actor, show_id: int, who: str) -> ModeratorView:
    """Make the person named (display name or e-mail) a moderator of the show. Only its
    hosts learn whether an account goes by that name."""
    with db.transaction() as session:
        _hosted_show(session, actor, show_id)
        person = find_person(session, who)
        _set_moderator(session, show_id, person.id, True)
        return ModeratorView(user_id=person.id, display_name=person.display_name)


def moderators(db: Database, show_id: int) -> list[ModeratorView]:
    with db.read() as session:
        return [ModeratorView(user_id=user_id, display_name=name) for user_id, name in
                session.execute(select(User.id, User.display_name)
                                .join(ShowModerator, ShowModerator.user_id == User.id)
                                .where(ShowModerator.show_id == show_id)
                                .order_by(User.display_name, User.id))]


def set_banned_words(db: Database, actor: Actor, shop_id: int, words: list[str]) -> list[str]:
    cleaned = sorted({model.normalise_banned_word(word) for word in words})
    with db.transaction() as session:
        owned_shop(session, actor, shop_id)
        session.execute(delete(ShopChatFilter).where(ShopChatFilter.shop_id == shop_id))
        session.add_all(ShopChatFilter(shop_id=shop_id, word=word) for word in cleaned)
    return cleaned
