// The host's control room: going live, pins, flash sales, live orders and moderation.
// It joins the same socket as viewers; as staff it also receives `order` events.
import { ApiError, api } from "./site.js";
import {
  ChatList, Clock, connectRoom, formatCountdown, formatMoney, newKey, parseMajor, toaster,
} from "./live-common.js";
import { streamPanel } from "./publisher.js";

const root = document.getElementById("control");
const showId = Number(root.dataset.showId);
const canHost = root.dataset.canHost === "1";
// A creator's own show: a flash sale is proposed to the product's shop, started once approved.
const needsConsent = root.dataset.consent === "1";
const locale = root.dataset.locale;
const base = `/api/v1/shows/${showId}`;
const $ = (id) => document.getElementById(id);
const toast = toaster($("toasts"));
const clock = new Clock();
const state = { status: root.dataset.status, pinnedId: null, sale: null, orders: 0, revenue: {}, me: null };
const stream = $("stream-panel") ? streamPanel($("stream-panel")) : null;

function showError(error) {
  const box = $("control-error");
  box.textContent = error instanceof ApiError ? error.message : "No connection. Try again.";
  box.hidden = false;
  setTimeout(() => { box.hidden = true; }, 6000);
}

// Runs an API action with its button disabled, reporting failures in the page.
async function act(button, action) {
  if (button) button.disabled = true;
  try {
    return await action();
  } catch (error) {
    showError(error);
    return null;
  } finally {
    if (button) button.disabled = false;
  }
}

// --- status ---

function renderStatus(status) {
  state.status = status;
  const badge = $("show-status");
  badge.textContent = status;
  badge.className = `badge ${status}`;
  if ($("go-live")) $("go-live").hidden = status !== "scheduled";
  if ($("end-show")) $("end-show").hidden = status === "ended";
}

$("go-live")?.addEventListener("click", async (clicked) => {
  const show = await act(clicked.currentTarget, () => api("POST", `${base}/live`));
  if (show) renderStatus(show.status);
});

$("end-show")?.addEventListener("click", async (clicked) => {
  const button = clicked.currentTarget;
  // Two clicks: ending cannot be undone.
  if (!button.dataset.armed) {
    button.dataset.armed = "1";
    button.textContent = "Click again to end";
    setTimeout(() => { delete button.dataset.armed; button.textContent = "End show"; }, 4000);
    return;
  }
  const show = await act(button, () => api("POST", `${base}/end`));
  if (show) renderStatus(show.status);
});

// --- stats and orders ---

function renderStats() {
  $("stat-orders").textContent = state.orders;
  const parts = Object.entries(state.revenue).map(([currency, total]) => formatMoney(total, currency, locale));
  $("stat-revenue").textContent = parts.length ? parts.join(" + ") : "—";
}

function addOrder(order) {
  const list = $("orders-list");
  list.querySelector(".empty")?.remove();
  const item = document.createElement("li");
  item.className = "order-item";
  item.dataset.orderNumber = order.number;
  const head = document.createElement("p");
  const number = document.createElement("strong");
  number.textContent = order.number;
  const total = document.createElement("span");
  total.className = "order-total";
  total.textContent = formatMoney(order.total, order.currency, locale);
  head.append(number, " ", total);
  if (order.sale_id) {
    const badge = document.createElement("span");
    badge.className = "badge sale";
    badge.textContent = "flash sale";
    head.append(" ", badge);
  }
  const detail = document.createElement("p");
  detail.className = "muted";
  detail.textContent = `${order.buyer} · ${order.items.join(", ")}`;
  item.append(head, detail);
  list.prepend(item);
  state.orders += 1;
  state.revenue[order.currency] = (state.revenue[order.currency] ?? 0) + order.total;
  renderStats();
}

api("GET", `${base}/stats`).then((stats) => {
  state.orders += stats.orders;
  for (const [currency, total] of Object.entries(stats.revenue)) {
    state.revenue[currency] = (state.revenue[currency] ?? 0) + total;
  }
  $("stat-viewers").textContent = stats.viewers;
  renderStats();
}).catch(showError);

// --- pins ---

function renderPins() {
  for (const button of root.querySelectorAll(".pin-button")) {
    const pinned = Number(button.dataset.productId) === state.pinnedId;
    button.textContent = pinned ? "Unpin" : "Pin";
    button.classList.toggle("secondary", pinned);
    button.closest("li").classList.toggle("pinned", pinned);
  }
}

$("control-products")?.addEventListener("click", async (clicked) => {
  const button = clicked.target.closest(".pin-button");
  if (!button) return;
  const productId = Number(button.dataset.productId);
  const target = state.pinnedId === productId ? null : productId;
  const result = await act(button, () => api("PUT", `${base}/pin`, { product_id: target }));
  if (result) { state.pinnedId = result.product?.id ?? null; renderPins(); }
});

// --- flash sales ---

function renderSale() {
  const box = $("current-sale");
  if (!box) return;
  const sale = state.sale;
  box.hidden = !sale;
  $("sale-form").hidden = Boolean(sale);
  if (!sale) return;
  $("current-sale-title").textContent = `${sale.title} · ${sale.variant_label}`;
  $("current-sale-left").textContent = sale.remaining > 0 ? `${sale.remaining} of ${sale.quantity} left` : "Sold out";
  tickSale();
}

function tickSale() {
  if (!state.sale) return;
  const left = state.sale.ends_at - clock.now();
  $("current-sale-countdown").textContent = left > 0 ? `ends in ${formatCountdown(left)}` : "ending…";
}
setInterval(tickSale, 500);

$("sale-form")?.addEventListener("submit", async (submitted) => {
  submitted.preventDefault();
  const form = submitted.target;
  const prices = {};
  for (const input of form.querySelectorAll("input[data-market]")) {
    const amount = parseMajor(input.value);
    if (amount === null || amount <= 0) {
      showError(new ApiError(422, { message: `Sale price ${input.dataset.market}: type an amount like 9.99` }));
      input.focus();
      return;
    }
    prices[input.dataset.market] = amount;
  }
  const body = {
    variant_id: Number(form.elements.variant_id.value), prices,
    quantity: Number(form.elements.quantity.value),
    per_buyer_limit: Number(form.elements.per_buyer_limit.value),
    duration_seconds: Number(form.elements.duration_seconds.value),
  };
  if (!needsConsent) {
    await act(form.querySelector("button[type=submit]"), () => api("POST", `${base}/sales`, body));
    return;
  }
  const proposed = await act(form.querySelector("button[type=submit]"),
    () => api("POST", `${base}/sale-proposals`, body, { "Idempotency-Key": newKey() }));
  if (proposed) {
    toast(`Proposed to ${proposed.shop_name}: it starts once they approve`);
    loadProposals();
  }
});

// The proposals of a creator's own show, and Start on each one a shop approved.
async function loadProposals() {
  const list = $("proposals");
  if (!list || !canHost) return;
  let proposals;
  try {
    proposals = await api("GET", `${base}/sale-proposals`);
  } catch {
    return; // asked again shortly
  }
  list.replaceChildren(...(proposals.length ? proposals : [null]).map((proposal) => {
    const item = document.createElement("li");
    if (!proposal) {
      item.className = "muted";
      item.textContent = "None yet.";
      return item;
    }
    item.className = `proposal proposal-${proposal.status}`;
    const prices = Object.entries(proposal.prices_formatted).map(([m, text]) => `${m} ${text}`).join(" · ");
    const what = document.createElement("span");
    what.textContent = `${proposal.product_title} · ${prices} · ${proposal.quantity} units · ${proposal.shop_name}: `;
    const status = document.createElement("strong");
    status.textContent = proposal.status;
    item.append(what, status);
    if (proposal.status === "approved") {
      const start = document.createElement("button");
      start.type = "button";
      start.className = "button small start-proposal";
      start.textContent = "Start sale";
      start.addEventListener("click", async () => {
        await act(start, () => api("POST", `${base}/sale-proposals/${proposal.id}/start`));
        loadProposals();
      });
      item.append(" ", start);
    }
    return item;
  }));
}
if (needsConsent) {
  loadProposals();
  setInterval(loadProposals, 5000);
}

$("stop-sale")?.addEventListener("click", async (clicked) => {
  if (!state.sale) return;
  await act(clicked.currentTarget, () => api("POST", `${base}/sales/${state.sale.id}/stop`));
});

// Regular prices of the chosen variant, beside each sale price field.
function showRegularPrices() {
  const option = $("sale-form")?.elements.variant_id.selectedOptions[0];
  if (!option) return;
  for (const input of $("sale-form").querySelectorAll("input[data-market]")) {
    const market = input.dataset.market.toLowerCase();
    const regular = option.dataset[`regular${market[0].toUpperCase()}${market.slice(1)}`];
    $(`regular-${market}`).textContent = regular ? `regular ${regular}` : "not sold there";
  }
}
$("sale-form")?.elements.variant_id.addEventListener("change", showRegularPrices);
showRegularPrices();

// --- chat and moderation ---

function moderationMenu(item, message) {
  const menu = document.createElement("details");
  menu.className = "mod-menu";
  const summary = document.createElement("summary");
  summary.textContent = "⋯";
  summary.setAttribute("aria-label", `Moderate ${message.author}'s message`);
  const actions = document.createElement("div");
  actions.className = "mod-actions";
  const add = (label, action, extra = {}) => {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = label;
    button.dataset.action = action;
    Object.assign(button.dataset, extra);
    actions.append(button);
  };
  add("Delete", "delete");
  if (message.user_id !== state.me) {
    add("Mute 5 min", "mute", { minutes: "5" });
    add("Mute 1 h", "mute", { minutes: "60" });
    add("Ban", "ban");
  }
  menu.append(summary, actions);
  item.append(menu);
}

const chat = new ChatList($("chat-list"), { decorate: moderationMenu });

$("chat-list").addEventListener("click", async (clicked) => {
  const button = clicked.target.closest("button[data-action]");
  if (!button) return;
  const item = button.closest(".chat-message");
  const messageId = Number(item.dataset.messageId);
  const userId = Number(item.dataset.userId);
  const author = item.querySelector(".chat-author").textContent;
  const actions = {
    delete: () => api("DELETE", `${base}/chat/${messageId}`),
    mute: () => api("POST", `${base}/mutes`, { user_id: userId, minutes: Number(button.dataset.minutes) }),
    ban: () => api("POST", `${base}/bans`, { user_id: userId }),
  };
  const done = await act(button, actions[button.dataset.action]);
  button.closest("details").open = false;
  if (done && button.dataset.action !== "delete") {
    toast(button.dataset.action === "ban" ? `${author} is banned` : `${author} is muted`, "info");
  }
});

$("slow-mode").addEventListener("change", async (changed) => {
  await act(changed.target, () => api("PUT", `${base}/slow-mode`, { seconds: Number(changed.target.value) }));
});

// Moderators are picked by display name or e-mail (POST /moderators resolves the person).
function moderatorItem(person) {
  const item = document.createElement("li");
  item.dataset.userId = person.user_id;
  const name = document.createElement("span");
  name.textContent = person.display_name;
  const remove = document.createElement("button");
  remove.type = "button";
  remove.className = "link-button remove-moderator";
  remove.textContent = "Remove";
  item.append(name, " ", remove);
  return item;
}

$("moderator-form")?.addEventListener("submit", async (submitted) => {
  submitted.preventDefault();
  const input = submitted.target.elements.user;
  const who = input.value.trim();
  if (!who) { showError(new ApiError(422, { message: "Type a name or an e-mail address" })); return; }
  const person = await act(submitted.target.querySelector("button"), () => api("POST", `${base}/moderators`, { user: who }));
  if (!person) return;
  const list = $("moderator-list");
  list.querySelector(`[data-user-id="${person.user_id}"]`)?.remove();
  list.append(moderatorItem(person));
  toast(`${person.display_name} can now moderate this show`, "info");
  input.value = "";
});

$("moderator-list")?.addEventListener("click", async (clicked) => {
  const button = clicked.target.closest(".remove-moderator");
  if (!button) return;
  const item = button.closest("li");
  const done = await act(button, () => api("DELETE", `${base}/moderators/${item.dataset.userId}`));
  if (done) item.remove();
});

// --- socket ---

const handlers = {
  snapshot(event) {
    // No longer the host or a moderator (e.g. a creator the shop removed): the page says so.
    if (!event.you.can_moderate) { location.reload(); return; }
    clock.sync(event.server_time);
    state.me = event.you.user_id;
    state.pinnedId = event.pinned?.id ?? null;
    state.sale = event.sale;
    renderStatus(event.show.status);
    $("stat-viewers").textContent = event.viewers;
    $("slow-mode").value = String(event.show.slow_mode_seconds);
    chat.replace(event.chat);
    renderPins();
    renderSale();
    stream?.showVideo(event.video ?? null);
  },
  video(event) { stream?.showVideo(event); },
  chat(event) { chat.add(event.messages); },
  chat_deleted(event) { chat.remove(event.ids); },
  viewers(event) { $("stat-viewers").textContent = event.count; },
  status(event) { renderStatus(event.status); },
  pin(event) { state.pinnedId = event.product?.id ?? null; renderPins(); },
  sale(event) { state.sale = event.sale; renderSale(); },
  sale_sold_out(event) {
    if (state.sale?.id === event.sale_id) { state.sale.remaining = 0; renderSale(); }
  },
  sale_ended(event) {
    if (state.sale?.id === event.sale_id) { state.sale = null; renderSale(); }
  },
  stock(event) {
    if (event.sale && state.sale?.id === event.sale.id) {
      state.sale.remaining = event.sale.remaining;
      renderSale();
    }
  },
  slow_mode(event) { $("slow-mode").value = String(event.seconds); },
  order(event) { addOrder(event); },
  error(event) { toast(event.message || "That did not work"); },
};

const room = connectRoom(showId, root.dataset.market, {
  onEvent(event) { handlers[event.type]?.(event); },
});

$("chat-form").addEventListener("submit", (submitted) => {
  submitted.preventDefault();
  const input = submitted.target.elements.text;
  const text = input.value.trim();
  if (!text) return;
  if (!room.send({ type: "chat", text })) { toast("Reconnecting… try again in a moment"); return; }
  input.value = "";
});
