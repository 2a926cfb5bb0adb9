// The feed: impressions and clicks sent in batches with navigator.sendBeacon, infinite
// scroll (the next page's cards come as HTML from /feed/cards), "not interested",
// follow and remind-me buttons, and live viewer counts refreshed while the page is open.
import { api } from "./site.js";
import { bindToggle } from "./remind.js";

const feed = document.getElementById("feed");
const csrf = document.querySelector('meta[name="csrf-token"]')?.content ?? "";
const EVENTS_URL = `/api/v1/events?csrf_token=${encodeURIComponent(csrf)}`;
const MAX_BATCH = 100;
const FLUSH_MS = 5000;
const VIEWERS_MS = 15000;

let pending = [];

function queue(type, card) {
  pending.push({ type, item_type: card.dataset.itemType, item_id: Number(card.dataset.itemId) });
  if (pending.length >= MAX_BATCH) flush();
}

export function flush() {
  while (pending.length) {
    const batch = pending.splice(0, MAX_BATCH);
    const body = new Blob([JSON.stringify({ events: batch })], { type: "application/json" });
    // A beacon outlives the page (a click that navigates away, a closed tab).
    if (!navigator.sendBeacon(EVENTS_URL, body)) {
      fetch(EVENTS_URL, { method: "POST", body, keepalive: true, credentials: "same-origin",
        headers: { "Content-Type": "application/json" } }).catch(() => {});
    }
  }
}

const seen = new WeakSet();
const impressions = new IntersectionObserver((entries) => {
  for (const entry of entries) {
    if (entry.isIntersecting && !seen.has(entry.target)) {
      seen.add(entry.target);
      impressions.unobserve(entry.target);
      queue("impression", entry.target);
    }
  }
}, { threshold: 0.5 });

function bindCard(card) {
  impressions.observe(card);
  card.querySelector(".feed-card-link")?.addEventListener("click", () => {
    queue("click", card);
    flush();
  });
  card.querySelector(".not-interested")?.addEventListener("click", async (clicked) => {
    const button = clicked.currentTarget;
    button.disabled = true;
    try {
      await api("PUT", `/api/v1/feed/not-interested/${card.dataset.itemType}/${card.dataset.itemId}`);
      card.remove();
    } catch (error) {
      button.disabled = false;
      button.title = error.message;
    }
  });
  const follow = card.querySelector(".follow-button");
  if (follow) {
    bindToggle(follow, `/api/v1/creators/${follow.dataset.creatorId}/follow`,
      { on: "Following", off: "Follow" });
  }
}

// The next page loads when its "More" link comes near the screen.
let loading = false;
const scroller = new IntersectionObserver(async (entries) => {
  const more = entries.find((entry) => entry.isIntersecting)?.target;
  if (!more || loading) return;
  loading = true;
  try {
    const response = await fetch(more.dataset.next, { credentials: "same-origin" });
    if (!response.ok) throw new Error(`Loading more failed (${response.status})`);
    const template = document.createElement("template");
    template.innerHTML = await response.text();
    scroller.unobserve(more);
    const added = [...template.content.children];
    more.replaceWith(template.content);
    for (const node of added) {
      if (node.classList.contains("feed-card")) {
        bindCard(node);
        const remind = node.querySelector(".remind-button");
        if (remind) {
          bindToggle(remind, `/api/v1/shows/${remind.dataset.showId}/reminder`,
            { on: "Reminder set", off: "Remind me" });
        }
      } else if (node.classList.contains("feed-more")) {
        scroller.observe(node);
      }
    }
  } catch (error) {
    more.title = error.message;
  } finally {
    loading = false;
  }
}, { rootMargin: "600px 0px" });

async function refreshViewers() {
  const badges = [...document.querySelectorAll("[data-live-show]")];
  if (!badges.length || document.hidden) return;
  const ids = [...new Set(badges.map((card) => card.dataset.liveShow))].slice(0, 50);
  try {
    const { viewers } = await api("GET", `/api/v1/feed/viewers?show_ids=${ids.join(",")}`);
    for (const card of badges) {
      const count = card.querySelector(".viewer-count");
      const now = viewers[card.dataset.liveShow];
      if (count && now !== undefined) {
        count.textContent = String(now);
        count.setAttribute("aria-label", `${now} watching`);
      }
    }
  } catch {
    // The next refresh tries again.
  }
}

if (feed) {
  for (const card of feed.querySelectorAll(".feed-card")) bindCard(card);
  for (const more of feed.querySelectorAll(".feed-more")) scroller.observe(more);
  setInterval(flush, FLUSH_MS);
  setInterval(refreshViewers, VIEWERS_MS);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") flush();
  });
  window.addEventListener("pagehide", flush);
}
