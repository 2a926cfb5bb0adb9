// A creator's page and the marketplace: following the creator (the count follows), copying
// share links. The links themselves work without this script.
import { bindToggle } from "./remind.js";

const follow = document.getElementById("follow");
if (follow) {
  const count = document.getElementById("follower-count");
  bindToggle(follow, `/api/v1/creators/${follow.dataset.creatorId}/follow`,
    { on: "Following", off: "Follow" });
  new MutationObserver(() => {
    const now = Number.parseInt(count.textContent, 10) + (follow.dataset.on === "1" ? 1 : -1);
    count.textContent = `${now} follower${now === 1 ? "" : "s"}`;
  }).observe(follow, { attributes: true, attributeFilter: ["data-on"] });
}

for (const button of document.querySelectorAll(".copy-link")) {
  button.addEventListener("click", async () => {
    // Shared as a full address: the ref travels with it wherever it is pasted.
    const url = new URL(button.dataset.copy, window.location.origin).href;
    try {
      await navigator.clipboard.writeText(url);
      button.textContent = "Copied";
    } catch {
      button.previousElementSibling?.select();
      button.textContent = "Select and copy";
    }
  });
}
