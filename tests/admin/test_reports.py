"""Reports: anyone signed in reports a chat message or a product once; admins dismiss them
or take the content down, every open report of it closing with the one audited decision."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from liveshop.catalog.orm import Product
from liveshop.core.db import Database
from liveshop.live.orm import ChatMessage
from tests.admin.conftest import admin_post, audit_rows
from tests.admin.test_shops_and_shows import _shop_with_product, _show
from tests.html import csrf_from


def _chat(user: Any, show_id: int, text: str) -> int:
    posted = user.post(f"/api/v1/shows/{show_id}/chat", json={"text": text})
    assert posted.status_code == 201, posted.text
    return int(posted.json()["id"])


def _report(user: Any, target_type: str, target_id: int, reason: str = "Spam here") -> Any:
    return user.post("/api/v1/reports", json={
        "target_type": target_type, "target_id": target_id, "reason": reason})


def test_a_message_is_reported_once_per_person_and_removed_by_an_admin(
        app: Any, db: Database, make_user: Any) -> None:
    admin, seller = make_user("admin"), make_user("seller")
    ann, bob, spammer = make_user(), make_user(), make_user(name="Spammer")
    shop, product_id, _ = _shop_with_product(seller, db)
    show_id = _show(seller, shop["id"], product_id, live=True)
    spam = _chat(spammer, show_id, "cheap followers at example dot com")

    first = _report(ann, "chat_message", spam, "Spam link")
    again = _report(ann, "chat_message", spam, "Another reason")
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert _report(bob, "chat_message", spam).status_code == 201
    own = _report(spammer, "chat_message", spam)
    assert own.status_code == 422 and own.json()["error"]["field"] == "target_id"
    gone = _report(ann, "chat_message", 999_999)
    assert gone.status_code == 404 and gone.json()["error"]["field"] == "target_id"
    short = _report(ann, "product", product_id, " \t ")
    assert short.status_code == 422 and short.json()["error"]["field"] == "reason"
    assert ann.get("/api/v1/admin/reports").status_code == 403

    queue = admin.get("/api/v1/admin/reports").json()
    assert [(r["target_id"], r["reason"], r["reports_on_target"]) for r in queue] == [
        (spam, "Spam link", 2), (spam, "Spam here", 2)]
    assert queue[0]["target_text"] == "cheap followers at example dot com"
    decided = admin_post(admin, f"/reports/{queue[0]['id']}/decision",
                         {"decision": "remove", "reason": "Spam"})
    assert decided.status_code == 200 and decided.json()["status"] == "actioned"
    assert admin.get("/api/v1/admin/reports").json() == []  # both reports closed
    with db.read() as session:
        message = session.get(ChatMessage, spam)
        assert message is not None and message.deleted_by == admin.id
    [row] = audit_rows(db)
    assert (row.action, row.target_type, row.target_id, row.reason) == (
        "chat_message.removed", "chat_message", spam, "Spam")
    assert row.before == {"shown": True}
    assert row.after == {"decision": "remove", "reports": sorted(r["id"] for r in queue)}
    late = admin_post(admin, f"/reports/{queue[1]['id']}/decision", {"decision": "dismiss"})
    assert late.status_code == 409 and late.json()["error"]["field"] == "report_id"
    assert len(audit_rows(db)) == 1


def test_a_product_reported_from_its_page_is_unpublished_or_dismissed(
        app: Any, db: Database, make_user: Any) -> None:
    admin, seller, ann = make_user("admin"), make_user("seller"), make_user()
    _, product_id, _ = _shop_with_product(seller, db)
    _, other_id, _ = _shop_with_product(seller, db)
    page = ann.get(f"/products/{product_id}")
    assert f'action="/products/{product_id}/report"' in page.text
    token = csrf_from(page.text)
    no_token = ann.post(f"/products/{product_id}/report", data={"reason": "Fake brand"})
    assert no_token.status_code == 403
    sent = ann.post(f"/products/{product_id}/report",
                    data={"csrf_token": token, "reason": "Fake brand"}, follow_redirects=False)
    assert sent.status_code == 303 and sent.headers["location"].endswith("?reported=1")
    assert _report(ann, "product", other_id, "Misleading photos").status_code == 201

    queue = {r["target_id"]: r for r in admin.get("/api/v1/admin/reports").json()}
    assert queue[product_id]["reason"] == "Fake brand"
    assert admin_post(admin, f"/reports/{queue[product_id]['id']}/decision",
                      {"decision": "remove"}).status_code == 200
    assert admin_post(admin, f"/reports/{queue[other_id]['id']}/decision",
                      {"decision": "dismiss", "reason": "Photos are fine"}).status_code == 200
    with db.read() as session:
        statuses = dict(session.execute(select(Product.id, Product.status).where(
            Product.id.in_([product_id, other_id]))).tuples().all())
    assert statuses == {product_id: "draft", other_id: "active"}
    assert ann.get(f"/products/{product_id}").status_code == 404
    assert [(r.action, r.target_id, r.before) for r in audit_rows(db)] == [
        ("product.unpublished", product_id, {"status": "active"}),
        ("report.dismissed", other_id, None)]
    history = admin.get("/api/v1/admin/reports", params={"status": "dismissed"}).json()
    assert [r["target_id"] for r in history] == [other_id]
