"""Issue 18, defect 7: "we will let you know when they ship". An order paid, shipped,
delivered or refunded tells its buyer, a return request tells the shop's owner: a notice in
the centre (with its unread count on every page) and, for the buyer, a mail, both after the
commit through the outbox, never twice."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select, update

from liveshop.core.db import Database, utcnow
from liveshop.core.events import OutboxMessage, OutboxRelay
from liveshop.core.mail import Mail, MemoryMailer
from liveshop.notifications.orm import Notification
from liveshop.services import app_services
from tests.checkout.conftest import OK_CARD, UK_ADDRESS
from tests.html import csrf_from
from tests.orders.conftest import OrderFactory, Shop

HTML = {"Accept": "text/html"}


def notices(person: Any) -> list[tuple[str, str, bool]]:
    return [(n["text"], n["link"], n["read"])
            for n in person.get("/api/v1/notifications").json()]


def number_of(person: Any, order_id: int) -> str:
    number: str = person.get(f"/api/v1/orders/{order_id}").json()["number"]
    return number


def ship(shop: Shop, order_id: int) -> None:
    shipped = shop.seller.post(f"/api/v1/orders/{order_id}/ship",
                               json={"carrier": "DHL", "tracking_number": "00340434"})
    assert shipped.status_code == 200, shipped.text


def test_a_shipped_order_tells_its_buyer_in_the_centre_and_by_mail(
        make_order: OrderFactory, shop: Shop, buyer: Any, relay: OutboxRelay,
        mailer: MemoryMailer) -> None:
    order_id = make_order()
    number = number_of(buyer, order_id)
    ship(shop, order_id)
    assert notices(buyer) == [] and mailer.outbox == []  # only after the commit, by the relay
    relay.deliver_due()
    assert notices(buyer) == [
        (f"Order {number} has shipped with DHL (tracking 00340434)", f"/orders/{order_id}",
         False)]
    [mail] = mailer.outbox
    assert mail.to == buyer.user["email"]
    assert mail.subject == f"Your order {number} has shipped"
    assert number in mail.text and "00340434" in mail.text
    assert f"http://127.0.0.1:8000/orders/{order_id}" in mail.text
    assert notices(shop.seller) == []


def test_a_delivered_order_tells_its_buyer_of_the_return_window(
        make_order: OrderFactory, shop: Shop, buyer: Any, relay: OutboxRelay,
        mailer: MemoryMailer) -> None:
    order_id = make_order(status="shipped")
    number = number_of(buyer, order_id)
    assert shop.seller.post(f"/api/v1/orders/{order_id}/deliver").status_code == 200
    relay.deliver_due()
    assert notices(buyer) == [(f"Order {number} was delivered", f"/orders/{order_id}", False)]
    [mail] = mailer.outbox
    assert mail.subject == f"Your order {number} was delivered" and "14 days" in mail.text


def test_a_refund_tells_its_buyer_how_much(make_order: OrderFactory, shop: Shop, buyer: Any,
                                           relay: OutboxRelay, mailer: MemoryMailer) -> None:
    order_id = make_order(status="delivered")
    number = number_of(buyer, order_id)
    line_id = buyer.get(f"/api/v1/orders/{order_id}").json()["lines"][1]["id"]
    partial = shop.seller.post(f"/api/v1/orders/{order_id}/refunds",
                               json={"lines": [{"line_id": line_id, "quantity": 1}]},
                               headers={"Idempotency-Key": "part"})
    assert partial.status_code == 201, partial.text
    rest = shop.seller.post(f"/api/v1/orders/{order_id}/refunds", json={"full": True},
                            headers={"Idempotency-Key": "rest"})
    assert rest.status_code == 201, rest.text
    relay.deliver_due()
    assert [text for text, _, _ in notices(buyer)] == [
        f"£43.99 refunded for order {number}", f"£15.00 refunded for order {number}"]
    assert [mail.subject for mail in mailer.outbox] == [
        f"Refund of £15.00 for order {number}", f"Refund of £43.99 for order {number}"]
    assert mailer.outbox[0].text.startswith(f"Part of order {number} was refunded")
    assert mailer.outbox[1].text.startswith(f"Order {number} was refunded")


def test_a_cancelled_paid_order_tells_its_buyer_of_the_refund(
        make_order: OrderFactory, shop: Shop, buyer: Any, relay: OutboxRelay) -> None:
    order_id = make_order()
    assert shop.seller.post(f"/api/v1/orders/{order_id}/cancel",
                            json={"reason": "Out of stock"}).status_code == 200
    relay.deliver_due()
    assert [text for text, _, _ in notices(buyer)] == [
        f"£58.99 refunded for order {number_of(buyer, order_id)}"]


def test_a_return_request_tells_the_shops_owner(make_order: OrderFactory, shop: Shop,
                                                buyer: Any, relay: OutboxRelay) -> None:
    order_id = make_order(status="delivered", delivered_at=utcnow())
    asked = buyer.post(f"/api/v1/orders/{order_id}/returns",
                       json={"reason": "Too small"})
    assert asked.status_code == 201, asked.text
    relay.deliver_due()
    number = number_of(buyer, order_id)
    assert notices(shop.seller) == [
        (f"Return requested for order {number} by Ann Buyer: Too small",
         f"/seller/orders/{order_id}", False)]
    assert notices(buyer) == []


def test_a_paid_order_confirms_by_mail(shop: Shop, buyer: Any, relay: OutboxRelay,
                                       mailer: MemoryMailer) -> None:
    added = buyer.post("/api/v1/cart/items", json={"variant_id": shop.variant_ids[0],
                                                   "quantity": 2})
    assert added.status_code in (200, 201), added.text
    checkout = buyer.post("/api/v1/checkouts", json={"address": UK_ADDRESS},
                          headers={"Idempotency-Key": uuid.uuid4().hex})
    assert checkout.status_code == 201, checkout.text
    paid = buyer.post(f"/api/v1/checkouts/{checkout.json()['id']}/pay",
                      json={"card": OK_CARD}, headers={"Idempotency-Key": uuid.uuid4().hex})
    assert paid.status_code == 200, paid.text
    [order] = buyer.get("/api/v1/orders").json()
    relay.deliver_due()
    [mail] = mailer.outbox
    assert (mail.to, mail.subject) == (buyer.user["email"], f"Order {order['number']} confirmed")
    assert "2 x Logo Tee" in mail.text and "£43.99" in mail.text
    assert notices(buyer) == [(f"Order {order['number']} confirmed: £43.99",
                               f"/orders/{order['id']}", False)]


def test_an_event_delivered_again_notifies_and_mails_once(
        make_order: OrderFactory, shop: Shop, buyer: Any, relay: OutboxRelay,
        mailer: MemoryMailer, db: Database) -> None:
    order_id = make_order()
    ship(shop, order_id)
    relay.deliver_due()
    # The relay died after handling, before marking them delivered: both come round again.
    with db.transaction() as session:
        session.execute(update(OutboxMessage).values(delivered_at=None, lease_until=None))
    assert relay.deliver_due() == 2  # the shipment, and its mail
    assert len(notices(buyer)) == 1
    assert len(mailer.outbox) == 2  # at least once: the mail itself is sent again
    assert mailer.outbox[0] == mailer.outbox[1]  # with the same key: one Message-ID
    assert mailer.outbox[0].key == f"order-shipped-{order_id}"


class DownMailer:
    def __init__(self) -> None:
        self.down = True
        self.sent: list[Mail] = []

    def send(self, mail: Mail) -> None:
        if self.down:
            raise ConnectionRefusedError("mail server down")
        self.sent.append(mail)


def test_a_mail_server_down_loses_neither_the_notice_nor_the_mail(
        app: Any, make_order: OrderFactory, shop: Shop, buyer: Any, relay: OutboxRelay,
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    mail_server = DownMailer()
    # The handler sends through the mailer it was given at start-up: swap what it calls.
    monkeypatch.setattr(app_services(app).context.mailer, "send", mail_server.send)
    order_id = make_order()
    ship(shop, order_id)
    relay.deliver_due()
    assert len(notices(buyer)) == 1  # the notice is there at once
    with db.read() as session:
        waiting = session.scalars(select(OutboxMessage).where(
            OutboxMessage.delivered_at.is_(None))).all()
    assert [message.topic.rsplit(".", 1)[1] for message in waiting] == ["MailQueued"]
    assert "mail server down" in (waiting[0].last_error or "")
    mail_server.down = False
    with db.transaction() as session:  # its retry is due
        session.execute(update(OutboxMessage).values(lease_until=utcnow()))
    assert relay.deliver_due() == 1
    assert [mail.subject for mail in mail_server.sent] == [
        f"Your order {number_of(buyer, order_id)} has shipped"]
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Notification)) == 1


def test_the_alerts_link_counts_unread_notices_until_the_centre_is_opened(
        make_order: OrderFactory, shop: Shop, buyer: Any, relay: OutboxRelay) -> None:
    first, second = make_order(), make_order()
    ship(shop, first)
    ship(shop, second)
    relay.deliver_due()
    home = buyer.get("/", headers=HTML).text
    # What a screen reader says, and the count everyone sees.
    assert ('<a href="/notifications" class="nav-link" aria-label="Alerts, 2 unread">'
            'Alerts <span class="cart-badge">2</span></a>') in home

    centre = buyer.get("/notifications", headers=HTML).text
    assert centre.count('class="unread"') == 2 and "2 new since you last looked" in centre
    for order_id in (first, second):
        assert f'<a href="/orders/{order_id}">Order {number_of(buyer, order_id)} has shipped' \
               in centre
    # Showing the centre reads nothing (a prefetch must not); its button, or its script
    # once the page is seen, marks what it showed.
    assert buyer.get("/notifications", headers=HTML).text.count('class="unread"') == 2
    newest = int(re.search(r'name="up_to_id" value="(\d+)"', centre).group(1))
    marked = buyer.post("/notifications/read", headers=HTML, follow_redirects=False,
                        data={"csrf_token": csrf_from(centre), "up_to_id": str(newest)})
    assert marked.status_code == 303 and marked.headers["location"] == "/notifications"
    again = buyer.get("/notifications", headers=HTML).text
    assert again.count('class="read"') == 2 and 'class="unread"' not in again
    assert "Mark as read" not in again
    home = buyer.get("/", headers=HTML).text
    assert '<a href="/notifications" class="nav-link">Alerts</a>' in home


def test_marking_read_covers_the_notices_shown_and_not_one_that_arrived_since(
        make_order: OrderFactory, shop: Shop, buyer: Any, relay: OutboxRelay) -> None:
    ship(shop, make_order())
    relay.deliver_due()
    [shown] = buyer.get("/api/v1/notifications").json()
    ship(shop, make_order())
    relay.deliver_due()
    answers = [buyer.put("/api/v1/notifications/read", json={"up_to_id": shown["id"]})
               for _ in range(2)]  # a retry marks nothing more
    assert [answer.json() for answer in answers] == [{"marked": 1}, {"marked": 0}]
    assert [n["read"] for n in buyer.get("/api/v1/notifications").json()] == [False, True]
    refused = buyer.put("/api/v1/notifications/read", json={"up_to_id": 0})
    assert refused.status_code == 422 and refused.json()["error"]["field"] == "up_to_id"
