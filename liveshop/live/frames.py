"""The live room's WebSocket messages, typed: the frames the server sends and the messages a
client may send (docs/live-protocol.md).

Server frames are TypedDicts: the very dicts that are encoded onto the wire, so typing them
costs nothing per frame and the JSON stays what clients already read (built in the order
their fields are declared here). Client messages are parsed by
:func:`parse_client_message` into frozen dataclasses; one that does not fit the protocol is
a :class:`Refusal` naming the field, which the socket answers with an ``error`` frame.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, NotRequired, TypedDict

# --- what frames carry ---


class CardPrice(TypedDict):
    amount: int
    compare_at: int | None
    formatted: str


class VariantCard(TypedDict):
    id: int
    label: str
    prices: dict[str, CardPrice]  # by market code
    available: int


class ProductCard(TypedDict):
    """A product shown over the video, with prices for every market of the show, so one
    encoded frame serves every viewer; the client shows its own market's."""

    id: int
    shop_id: int  # whose product: a creator's own show sells several shops'
    shop_name: str
    title: str
    image: str | None
    variants: list[VariantCard]


class SalePrice(TypedDict):
    amount: int
    formatted: str
    regular: int | None
    regular_formatted: str | None


class FlashSaleCard(TypedDict):
    id: int
    variant_id: int
    product_id: int
    title: str
    variant_label: str
    prices: dict[str, SalePrice]  # by market code
    quantity: int
    remaining: int
    per_buyer_limit: int
    ends_at: int
    status: str


class ChatMessage(TypedDict):
    id: int
    user_id: int
    author: str
    text: str
    at: int


class SaleRemaining(TypedDict):
    id: int
    remaining: int


class Viewer(TypedDict):
    """The snapshot's ``you``: what this viewer may do in the room."""

    user_id: int | None
    name: str | None
    can_chat: bool
    can_moderate: bool
    can_host: bool
    muted_until: int | None


class SharedSnapshot(TypedDict):
    """The part of the ``snapshot`` frame every viewer of a room in one market shares."""

    type: Literal["snapshot"]
    v: int
    market: str
    show: dict[str, Any]
    pinned: ProductCard | None
    sale: FlashSaleCard | None
    lineup: list[ProductCard]
    chat: list[ChatMessage]
    video: dict[str, Any]


# --- server -> client ---


class ChatFrame(TypedDict):
    type: Literal["chat"]
    messages: list[ChatMessage]


class ChatDeletedFrame(TypedDict):
    type: Literal["chat_deleted"]
    ids: list[int]


class HeartsFrame(TypedDict):
    type: Literal["hearts"]
    count: int


class ViewersFrame(TypedDict):
    type: Literal["viewers"]
    count: int


class PinFrame(TypedDict):
    type: Literal["pin"]
    product: ProductCard | None


class SaleFrame(TypedDict):
    type: Literal["sale"]
    sale: FlashSaleCard


class SaleSoldOutFrame(TypedDict):
    type: Literal["sale_sold_out"]
    sale_id: int


class SaleEndedFrame(TypedDict):
    type: Literal["sale_ended"]
    sale_id: int
    reason: Literal["time", "stopped"]


class StockFrame(TypedDict):
    type: Literal["stock"]
    variants: dict[str, int]  # units available at the regular price, by variant id
    sale: NotRequired[SaleRemaining]


class LiveFrame(TypedDict):
    type: Literal["status"]
    status: Literal["live"]
    started_at: int


class EndedFrame(TypedDict):
    type: Literal["status"]
    status: Literal["ended"]


class HostFrame(TypedDict):
    type: Literal["host"]
    host_id: int
    host_name: str


class VideoFrame(TypedDict):
    type: Literal["video"]
    state: str
    playlist: str | None
    poster: str


class SlowModeFrame(TypedDict):
    type: Literal["slow_mode"]
    seconds: int


class MutedFrame(TypedDict):
    type: Literal["muted"]
    until: int


class BannedFrame(TypedDict):
    type: Literal["banned"]


class OrderFrame(TypedDict):
    """To the host and moderators: an order paid in the room."""

    type: Literal["order"]
    number: str
    total: int
    currency: str
    buyer: str
    items: list[str]
    sale_id: int | None


class PongFrame(TypedDict):
    type: Literal["pong"]
    server_time: int
    ref: Ref


class ErrorFrame(TypedDict):
    type: Literal["error"]
    code: str
    message: str
    # Absent when the socket is refused before any client message (banned, too many).
    field: NotRequired[str | None]
    ref: NotRequired[Ref]


class ResyncFrame(TypedDict):
    type: Literal["resync"]


# Every frame but the snapshot, which is spliced (joiner_snapshot).
Frame = (ChatFrame | ChatDeletedFrame | HeartsFrame | ViewersFrame | PinFrame | SaleFrame
         | SaleSoldOutFrame | SaleEndedFrame | StockFrame | LiveFrame | EndedFrame | HostFrame
         | VideoFrame | SlowModeFrame | MutedFrame | BannedFrame | OrderFrame | PongFrame
         | ErrorFrame | ResyncFrame)


def encode(frame: Mapping[str, object]) -> str:
    """The JSON text of a frame (or of a broker envelope carrying one): compact, UTF-8."""
    return json.dumps(frame, separators=(",", ":"), ensure_ascii=False)


def joiner_snapshot(shared: str, server_time: int, viewers: int, viewer: Viewer) -> str:
    """One joiner's ``snapshot`` frame: the shared part, encoded once for everyone joining
    (liveshop/live/snapshots.py), with this joiner's ``server_time``, ``viewers`` and ``you``
    written in before its closing brace rather than decoding and encoding it again."""
    assert shared.endswith("}")
    return (f'{shared[:-1]},"server_time":{server_time},"viewers":{viewers},'
            f'"you":{encode(viewer)}}}')


# --- client -> server ---

# A client's own reference for a message, echoed in the answer to it.
Ref = str | int | float | None


@dataclass(frozen=True, slots=True)
class Ping:
    ref: Ref


@dataclass(frozen=True, slots=True)
class React:
    kind: Literal["heart"]
    ref: Ref


@dataclass(frozen=True, slots=True)
class SendChat:
    text: str
    ref: Ref


ClientMessage = Ping | React | SendChat


@dataclass(frozen=True, slots=True)
class Refusal:
    """A client message refused (it does not fit the protocol, or what it asks is not
    allowed): answered with this ``error`` frame, naming the field at fault."""

    code: str
    message: str
    field: str | None
    ref: Ref = None

    def frame(self) -> ErrorFrame:
        return {"type": "error", "code": self.code, "message": self.message,
                "field": self.field, "ref": self.ref}


def parse_client_message(raw: str) -> ClientMessage | Refusal:
    """A client's text frame as a typed message, or why it is refused."""
    try:
        message = json.loads(raw)
        kind = message["type"]
    except (ValueError, KeyError, TypeError):
        return Refusal("invalid", "Send JSON with a type", "type")
    ref = message.get("ref")
    if not isinstance(ref, str | int | float) and ref is not None:
        return Refusal("invalid", "ref is a string or a number", "ref")
    if kind == "ping":
        return Ping(ref)
    if kind == "react":
        reaction = message.get("kind", "heart")
        if reaction != "heart":
            return Refusal("invalid", "The only reaction is heart", "kind", ref)
        return React("heart", ref)
    if kind == "chat":
        text = message.get("text", "")
        if not isinstance(text, str):
            return Refusal("invalid", "text is a string", "text", ref)
        return SendChat(text, ref)
    return Refusal("unknown_type", f"Unknown message type {kind!r}", "type", ref)
