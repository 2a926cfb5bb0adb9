// The page of a show that has not started: a countdown on the server's clock, reminders,
// following the shop, and a reload into the room as soon as the host goes live.
import { Clock, connectRoom, formatCountdown } from "./live-common.js";
import { bindToggle } from "./remind.js";

const root = document.getElementById("waiting");
const startsAt = Number(root.dataset.scheduledAt);
const clock = new Clock(Number(root.dataset.serverTime));
const value = document.getElementById("countdown-value");

function tick() {
  const left = startsAt - clock.now();
  value.textContent = left > 0 ? formatCountdown(left) : "any moment now";
}
tick();
setInterval(tick, 1000);

const follow = document.getElementById("follow");
if (follow) {
  const shop = follow.textContent.replace(/^(Following|Follow) /, "");
  bindToggle(follow, `/api/v1/shops/${follow.dataset.shopId}/follow`,
    { on: `Following ${shop}`, off: `Follow ${shop}` });
}

connectRoom(root.dataset.showId, "", {
  onEvent(event) {
    if (event.type === "snapshot") clock.sync(event.server_time);
    const live = (event.type === "status" && event.status === "live")
      || (event.type === "snapshot" && event.show.status !== "scheduled");
    if (live) location.reload();
  },
});
