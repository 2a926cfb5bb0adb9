"""Acceptance: a viewer reports a chat message from the live room on a phone; an admin finds
it in the back office's queue, removes it (the room loses it), and the audit log says so.
The back office is screenshotted at phone and desktop sizes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Dialog, expect
from sqlalchemy import update

from liveshop.accounts.orm import User
from tests.e2e.conftest import DESKTOP, PHONE, LiveServer, NewContext, Screenshot
from tests.e2e.scene import Scene, live_scene, ok, sign_up
from tests.e2e.test_live_room import browser_for

pytestmark = pytest.mark.e2e

SPAM = "Cheap followers, DM me"


@pytest.fixture
def scene(live_server: LiveServer) -> Iterator[Scene]:
    with live_scene(live_server) as prepared:
        yield prepared


def test_a_reported_message_is_removed_from_the_back_office(
        live_server: LiveServer, scene: Scene, new_context: NewContext,
        screenshot: Screenshot) -> None:
    ok(scene.host.http.post(f"{scene.api}/live"))
    spammer = sign_up(live_server, "buyer", "Sly Spammer")
    message = ok(spammer.http.post(f"{scene.api}/chat", json={"text": SPAM}))
    admin = sign_up(live_server, "buyer", "Ada Admin")
    with live_server.db.transaction() as session:
        session.execute(update(User).where(User.id == admin.id).values(role="admin"))

    viewer = browser_for(new_context, live_server, scene.viewer, "viewer", PHONE).new_page()
    answers: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        answers.append(dialog.message)
        dialog.accept("Spam, selling followers")

    viewer.on("dialog", on_dialog)
    viewer.goto(f"/shows/{scene.show_id}")
    line = viewer.locator(f"#chat-list .chat-message[data-message-id='{message['id']}']")
    expect(line).to_be_visible()
    line.get_by_role("button", name="Report Sly Spammer's message").click()
    expect(line.locator(".chat-report")).to_have_text("Reported")
    assert answers and "what is wrong" in answers[0]

    for label, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        back_office = browser_for(new_context, live_server, admin, f"admin-{label}",
                                  viewport).new_page()
        back_office.goto("/admin")
        expect(back_office.locator("[data-stat='open-reports']")).to_have_text("1")
        screenshot(back_office, f"admin-01-overview-{label}")
        back_office.goto("/admin/reports")
        report = back_office.locator(".admin-item.report", has_text=SPAM)
        expect(report).to_contain_text("Spam, selling followers")
        screenshot(back_office, f"admin-02-reports-{label}")
        if label == "desktop":
            report.get_by_placeholder("Reason").fill("Spam")
            report.get_by_role("button", name="Remove message").click()
            expect(back_office.locator(".notice")).to_have_text(
                "Done: the reported content is down.")
            expect(line).to_have_count(0)  # the room heard chat_deleted
            back_office.goto("/admin/audit")
            expect(back_office.locator(".admin-item").first).to_contain_text(
                "chat_message.removed")
            screenshot(back_office, f"admin-03-audit-{label}")
