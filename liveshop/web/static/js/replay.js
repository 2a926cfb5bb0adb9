// The replay of an ended show: the recording from its start, a timeline of what was pinned
// (a tap jumps to that moment) and one-tap buying at regular prices.
import { bindSheets, oneTapBuying, pricingOf, showQuote } from "./buying.js";
import { toaster } from "./live-common.js";
import { ReplayPlayer } from "./player.js";

const root = document.getElementById("replay");
const stage = document.getElementById("replay-video");
const toast = toaster(document.getElementById("toasts"));
const pricing = pricingOf(root);

let player = null;
if (stage.dataset.playlist) {
  player = new ReplayPlayer(stage.querySelector(".video-slot"),
    { recordingStartedAt: Number(stage.dataset.recordingStartedAt) });
  if (stage.dataset.poster) player.video.poster = stage.dataset.poster;
  player.load(stage.dataset.playlist);
}

bindSheets(root);
const buy = oneTapBuying({
  showId: Number(root.dataset.showId), locale: root.dataset.locale,
  loginUrl: root.dataset.loginUrl, toast, market: () => pricing.market,
});

const timeline = document.getElementById("pin-timeline");

function showPrice(entry) {
  const option = entry.querySelector(".pin-variant")?.selectedOptions[0];
  const price = entry.querySelector(".pin-product .price");
  if (option && price) price.textContent = option.dataset.price;
  // What the tap charges, shipping and tax included, before the tap.
  const line = entry.querySelector(".pin-total");
  if (line) showQuote(line, option ? Number(option.dataset.amount) : null, pricing);
}

for (const entry of timeline.querySelectorAll(".pin-entry")) showPrice(entry);
timeline.addEventListener("change", (changed) => {
  const entry = changed.target.closest(".pin-entry");
  if (entry) showPrice(entry);
});

// The whole entry seeks, except its link and buying controls.
timeline.addEventListener("click", (clicked) => {
  const entry = clicked.target.closest(".pin-entry");
  if (!entry) return;
  const button = clicked.target.closest("button.buy-button");
  if (button) {
    buy(button, Number(entry.querySelector(".pin-variant").value));
    return;
  }
  if (clicked.target.closest("a, select") || !player) return;
  for (const other of timeline.querySelectorAll(".pin-entry.current")) other.classList.remove("current");
  entry.classList.add("current");
  player.seekToMoment(Number(entry.dataset.pinnedAt));
});
