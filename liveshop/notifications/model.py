"""What each notice says, in the centre and by mail: pure functions of what happened.

A notice has a key naming what it is about for good (one per order shipped, per refund, per
show gone live and person): posting it twice is how a retried handler would double a
notice or a mail, and the key is what stops it (``service.post_once``)."""

from __future__ import annotations

from dataclasses import dataclass

# The column's length (orm.py); a buyer's return reason is cut to fit.
MAX_NOTICE_TEXT = 300


@dataclass(frozen=True)
class Notice:
    key: str
    text: str  # in the centre
    link: str  # the page it opens, relative to the site
    subject: str  # of its mail
    mail_text: str  # the mail's body, before the link to ``link``


def _fit(text: str) -> str:
    return text if len(text) <= MAX_NOTICE_TEXT else text[: MAX_NOTICE_TEXT - 1] + "…"


def order_link(order_id: int) -> str:
    return f"/orders/{order_id}"


def order_paid(order_id: int, number: str, total: str, items: list[str]) -> Notice:
    lines = "\n".join(f"  - {item}" for item in items)
    return Notice(
        key=f"order-paid-{order_id}", text=f"Order {number} confirmed: {total}",
        link=order_link(order_id), subject=f"Order {number} confirmed",
        mail_text=(f"Thank you for your order {number}.\n\n{lines}\n\nTotal paid: {total}\n\n"
                   "We will let you know when it ships. Your order:"))


def order_shipped(order_id: int, number: str, carrier: str, tracking_number: str) -> Notice:
    return Notice(
        key=f"order-shipped-{order_id}",
        text=f"Order {number} has shipped with {carrier} (tracking {tracking_number})",
        link=order_link(order_id), subject=f"Your order {number} has shipped",
        mail_text=(f"Your order {number} is on its way with {carrier}.\n"
                   f"Tracking number: {tracking_number}\n\nYour order:"))


def order_delivered(order_id: int, number: str, return_days: int | None) -> Notice:
    """``return_days``: the market's right of withdrawal, if it has one."""
    returns = (f" Not right? You can ask to return it within {return_days} days from its"
               " page." if return_days else "")
    return Notice(
        key=f"order-delivered-{order_id}", text=f"Order {number} was delivered",
        link=order_link(order_id), subject=f"Your order {number} was delivered",
        mail_text=f"Your order {number} was delivered.{returns} Your order:")


def order_refunded(refund_id: int, order_id: int, number: str, amount: str, in_full: bool
                   ) -> Notice:
    what = "Order" if in_full else "Part of order"
    return Notice(
        key=f"order-refund-{refund_id}", text=f"{amount} refunded for order {number}",
        link=order_link(order_id), subject=f"Refund of {amount} for order {number}",
        mail_text=(f"{what} {number} was refunded: {amount} goes back to the card you paid "
                   "with. Banks take a few days to show it. Your order:"))


def return_requested(return_id: int, order_id: int, number: str, buyer: str, reason: str
                     ) -> Notice:
    """For the shop's owner, who decides on it from the order's fulfilment page."""
    return Notice(
        key=f"return-requested-{return_id}",
        text=_fit(f"Return requested for order {number} by {buyer}: {reason}"),
        link=f"/seller/orders/{order_id}", subject=f"Return requested for order {number}",
        mail_text=(f"{buyer} asked to return order {number}:\n\n{reason}\n\n"
                   "Approve or reject it on the order's page:"))


def show_live(show_id: int, title: str, shop: str, user_id: int) -> Notice:
    return Notice(
        key=f"show-live-{show_id}-{user_id}", text=_fit(f"Live now: {title}"),
        link=f"/shows/{show_id}", subject=f"Live now: {title}",
        mail_text=f"{shop} is live now: {title}. Join the show:")


def mail_body(text: str, url: str) -> str:
    return f"{text}\n{url}\n\n-- \nliveshop\n"
