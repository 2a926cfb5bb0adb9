// A shop's page: following the shop (the count follows), reminders of its upcoming shows.
import { bindToggle } from "./remind.js";

const follow = document.getElementById("follow");
if (follow) {
  const count = document.getElementById("follower-count");
  bindToggle(follow, `/api/v1/shops/${follow.dataset.shopId}/follow`,
    { on: "Following", off: "Follow" });
  // bindToggle flips data-on once the server said yes; the count moves with it.
  new MutationObserver(() => {
    const now = Number.parseInt(count.textContent, 10) + (follow.dataset.on === "1" ? 1 : -1);
    count.textContent = `${now} follower${now === 1 ? "" : "s"}`;
  }).observe(follow, { attributes: true, attributeFilter: ["data-on"] });
}
