// The viewer's live room: snapshot + events over the socket, one-tap buying over HTTP.
import { bindSheets, oneTapBuying, pricingOf, showQuote } from "./buying.js";
import { ChatList, Clock, connectRoom, formatCountdown, formatMoney, toaster } from "./live-common.js";
import { LivePlayer } from "./player.js";
import { api } from "./site.js";

const root = document.getElementById("room");
const showId = Number(root.dataset.showId);
const signedIn = root.dataset.userId !== "";
const loginUrl = root.dataset.loginUrl;
const currency = root.dataset.currency;
const locale = root.dataset.locale;
const $ = (id) => document.getElementById(id);
const toast = toaster($("toasts"));
const chat = new ChatList($("chat-list"), { decorate: signedIn ? offerReport : null });
const clock = new Clock();
const pricing = pricingOf(root);

const state = { market: root.dataset.market, pinned: null, sale: null, lineup: [] };
// Pins, chat and sale countdowns follow the server's clock, not the video's. "Tap to
// unmute" sits in the room's head line, where it covers neither the title nor the card.
const player = new LivePlayer(root.querySelector(".video-slot"),
  { clock, unmuteSlot: root.querySelector(".room-head") });
let mutedTimer = null;

// --- product tiles (the pinned card and the bag share one renderer) ---

function priceIn(variant) { return variant?.prices?.[state.market] ?? null; }

function saleFor(variantId) {
  const sale = state.sale;
  return sale && sale.variant_id === variantId && sale.prices[state.market] ? sale : null;
}

function saleOpen(sale) {
  return sale.status === "active" && sale.remaining > 0 && sale.ends_at > clock.now();
}

function buildTile(card) {
  const tile = document.createElement("div");
  tile.className = "product-tile";
  tile.dataset.productId = card.id;
  if (card.image) {
    const image = document.createElement("img");
    image.className = "tile-image";
    image.src = card.image;
    image.alt = "";
    image.width = 72;
    image.height = 72;
    tile.append(image);
  } else {
    const placeholder = document.createElement("span");
    placeholder.className = "tile-image placeholder";
    placeholder.textContent = card.title.slice(0, 1);
    tile.append(placeholder);
  }
  const body = document.createElement("div");
  body.className = "tile-body";
  const title = document.createElement("p");
  title.className = "tile-title";
  const link = document.createElement("a");
  link.href = `/products/${card.id}`;
  link.target = "_blank";
  link.rel = "noopener";
  link.textContent = card.title;
  title.append(link);
  const priceLine = document.createElement("p");
  priceLine.className = "tile-price-line";
  const price = document.createElement("span");
  price.className = "price tile-price";
  const compare = document.createElement("s");
  compare.className = "compare-at tile-compare";
  const stock = document.createElement("span");
  stock.className = "tile-stock";
  priceLine.append(price, " ", compare, " ", stock);
  // What the tap charges, shipping and tax included, before the tap.
  const total = document.createElement("p");
  total.className = "tile-total";
  const totalAmount = document.createElement("strong");
  totalAmount.className = "tile-total-amount";
  const breakdown = document.createElement("span");
  breakdown.className = "tile-breakdown";
  total.append("Total ", totalAmount, " ", breakdown);
  const buyRow = document.createElement("div");
  buyRow.className = "tile-buy";
  const select = document.createElement("select");
  select.className = "tile-variant";
  select.setAttribute("aria-label", "Option");
  const button = document.createElement(signedIn ? "button" : "a");
  button.className = "button buy-button";
  button.textContent = "Buy now";
  if (signedIn) {
    button.type = "button";
    button.addEventListener("click", () => buy(button, Number(select.value)));
  } else {
    button.href = loginUrl;
  }
  select.addEventListener("change", () => refreshTile(tile, card));
  buyRow.append(select, button);
  body.append(title);
  // A creator's own show sells several shops' products: each tile names its shop.
  if (!pricing.shopId && card.shop_name) {
    const shop = document.createElement("p");
    shop.className = "tile-shop muted";
    shop.textContent = `from ${card.shop_name}`;
    body.append(shop);
  }
  body.append(priceLine, total);
  // The buy row spans the tile, so an option such as "S / Black" is never cut off.
  tile.append(body, buyRow);
  refreshTile(tile, card);
  return tile;
}

function refreshTile(tile, card) {
  tile.dataset.shopId = card.shop_id ?? "";
  const select = tile.querySelector(".tile-variant");
  const chosen = Number(select.value) || null;
  const variants = card.variants.filter((v) => priceIn(v));
  select.replaceChildren(...variants.map((variant) => {
    const option = document.createElement("option");
    option.value = variant.id;
    option.textContent = variant.available > 0 ? variant.label : `${variant.label} (sold out)`;
    return option;
  }));
  select.hidden = variants.length <= 1;
  const fallback = variants.find((v) => v.available > 0) ?? variants[0];
  const keep = variants.find((v) => v.id === chosen);
  const current = keep ?? fallback;
  if (current) select.value = current.id;
  const price = tile.querySelector(".tile-price");
  const compare = tile.querySelector(".tile-compare");
  const stock = tile.querySelector(".tile-stock");
  const button = tile.querySelector(".buy-button");
  if (!current) {
    price.textContent = "Not sold in your market";
    showTotal(tile, null);
    compare.textContent = stock.textContent = "";
    button.hidden = true;
    return;
  }
  const regular = priceIn(current);
  const sale = saleFor(current.id);
  let soldOut = current.available <= 0;
  showTotal(tile, sale ? sale.prices[state.market].amount : regular.amount);
  if (sale) {
    price.textContent = sale.prices[state.market].formatted;
    compare.textContent = regular.formatted;
    soldOut = soldOut || !saleOpen(sale);
    stock.textContent = sale.remaining > 0 ? `${sale.remaining} left at this price` : "";
  } else {
    price.textContent = regular.formatted;
    compare.textContent = regular.compare_at ? formatMoney(regular.compare_at, currency, locale) : "";
    stock.textContent = current.available > 0 ? `${current.available} left` : "";
  }
  tile.classList.toggle("on-sale", Boolean(sale));
  if (soldOut) stock.textContent = "Sold out";
  stock.classList.toggle("sold-out", soldOut);
  button.hidden = false;
  if (button.tagName === "BUTTON" && !button.dataset.busy) button.disabled = soldOut;
}

function showTotal(tile, unitPrice) {
  const line = tile.querySelector(".tile-total");
  // A creator's own show sells several shops' products: each is quoted with its shop's
  // shipping (a shop that does not ship to the market gets no quote, and no total line).
  const tilePricing = pricing.shopId ? pricing
    : { ...pricing, shopId: tile.dataset.shopId, ships: Boolean(tile.dataset.shopId) };
  showQuote(line, state.market === pricing.market ? unitPrice : null, tilePricing);
}

function renderPinned() {
  const box = $("pinned-card");
  if (!state.pinned) {
    box.hidden = true;
    box.replaceChildren();
    return;
  }
  const existing = box.querySelector(".product-tile");
  if (existing && Number(existing.dataset.productId) === state.pinned.id) {
    refreshTile(existing, state.pinned);
  } else {
    box.replaceChildren(buildTile(state.pinned));
  }
  box.hidden = false;
  // A sale on the pinned product: show its variant, the one being sold.
  const sale = state.sale;
  if (sale && sale.product_id === state.pinned.id && !box.dataset.saleShown) {
    box.dataset.saleShown = sale.id;
    const select = box.querySelector(".tile-variant");
    select.value = sale.variant_id;
    refreshTile(box.querySelector(".product-tile"), state.pinned);
  }
}

function renderBag() {
  const list = $("bag-list");
  list.replaceChildren(...state.lineup.map((card) => {
    const item = document.createElement("li");
    item.append(buildTile(card));
    return item;
  }));
  $("bag-count").textContent = state.lineup.length;
}

function refreshAllTiles() {
  renderPinned();
  renderSaleSheet();
  for (const tile of $("bag-list").querySelectorAll(".product-tile")) {
    const card = state.lineup.find((c) => c.id === Number(tile.dataset.productId));
    if (card) refreshTile(tile, card);
  }
}

// --- flash sale banner and its sheet ---

// The sale's variant as a card of its own (one option: the one on sale), from the lineup
// when the product is in it, else from the sale itself.
function saleCard(sale) {
  const known = [state.pinned, ...state.lineup].find((card) => card?.id === sale.product_id);
  const variant = known?.variants.find((v) => v.id === sale.variant_id) ?? {
    id: sale.variant_id, label: sale.variant_label, available: sale.remaining,
    prices: Object.fromEntries(Object.entries(sale.prices).map(([market, price]) => [market,
      { amount: price.regular ?? price.amount, formatted: price.regular_formatted ?? price.formatted,
        compare_at: null }])),
  };
  return {
    id: sale.product_id, title: sale.title, image: known?.image ?? null, variants: [variant],
    shop_id: known?.shop_id, shop_name: known?.shop_name,
  };
}

// Tapping the banner opens the sale's variant ready to buy, whatever is pinned.
function openSaleSheet() {
  if (!state.sale) return;
  renderSaleSheet(true);
  $("sale-sheet").showModal();
}

function renderSaleSheet(rebuild = false) {
  const box = $("sale-sheet-tile");
  const sale = state.sale;
  if (!sale) {
    if ($("sale-sheet").open) $("sale-sheet").close();
    box.replaceChildren();
    return;
  }
  const tile = box.querySelector(".product-tile");
  const card = saleCard(sale);
  if (rebuild || !tile || Number(tile.dataset.saleId) !== sale.id) {
    const built = buildTile(card);
    built.dataset.saleId = sale.id;
    box.replaceChildren(built);
  } else {
    refreshTile(tile, card);
  }
}

function renderSale() {
  const banner = $("sale-banner");
  const sale = state.sale;
  if (!sale || !sale.prices[state.market]) {
    banner.hidden = true;
    return;
  }
  const price = sale.prices[state.market];
  $("sale-title").textContent = `${sale.title} · ${sale.variant_label}`;
  $("sale-price").textContent = price.formatted;
  $("sale-regular").textContent = price.regular_formatted ?? "";
  const soldOut = sale.remaining <= 0;
  $("sale-left").textContent = soldOut ? "" : `${sale.remaining} of ${sale.quantity} left`;
  $("sale-sold-out").hidden = !soldOut;
  banner.classList.toggle("sold-out", soldOut);
  banner.hidden = false;
  tickSale();
}

function tickSale() {
  const sale = state.sale;
  if (!sale) return;
  const left = sale.ends_at - clock.now();
  $("sale-countdown").textContent = left > 0 ? `ends in ${formatCountdown(left)}` : "ended";
  if (left <= 0 && sale.status === "active") {
    sale.status = "ended";
    refreshAllTiles();
  }
}
setInterval(tickSale, 250);

// --- hearts ---

function floatHearts(count) {
  const layer = $("hearts");
  for (let i = 0; i < Math.min(count, 12); i += 1) {
    const heart = document.createElement("span");
    heart.className = "float-heart";
    heart.textContent = "♥";
    heart.style.setProperty("--drift", `${Math.round(Math.random() * 40 - 20)}px`);
    heart.style.animationDelay = `${i * 90}ms`;
    heart.addEventListener("animationend", () => heart.remove());
    layer.append(heart);
  }
}

// --- reporting a message to the platform's admins ---

function offerReport(item, message) {
  if (String(message.user_id) === root.dataset.userId) return;
  const button = document.createElement("button");
  button.type = "button";
  button.className = "chat-report";
  button.textContent = "Report";
  button.setAttribute("aria-label", `Report ${message.author}'s message`);
  button.addEventListener("click", () => reportMessage(message, button));
  item.append(" ", button);
}

async function reportMessage(message, button) {
  const reason = window.prompt(`Report ${message.author}'s message to liveshop: what is wrong with it?`);
  if (reason === null) return;
  if (!reason.trim()) { toast("Say what is wrong with it"); return; }
  try {
    await api("POST", "/api/v1/reports",
      { target_type: "chat_message", target_id: message.id, reason: reason.trim() });
    button.disabled = true;
    button.textContent = "Reported";
    toast("Thanks: an admin will look at it");
  } catch (error) {
    toast(error.message);
  }
}

// --- chat permissions ---

function setChatBlocked(reason) {
  const form = $("chat-form");
  if (!form) return;
  const input = form.elements.text;
  input.disabled = form.querySelector("button").disabled = Boolean(reason);
  input.placeholder = reason || "Say something…";
}

function muteUntil(until) {
  clearTimeout(mutedTimer);
  if (!until || until <= clock.now()) { setChatBlocked(""); return; }
  const time = new Date(until - clock.offset).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  setChatBlocked(`You are muted until ${time}`);
  mutedTimer = setTimeout(() => setChatBlocked(""), until - clock.now());
}

// --- events ---

const handlers = {
  snapshot(event) {
    clock.sync(event.server_time);
    if (event.show.status !== "live") { location.reload(); return; }
    state.market = event.market;
    state.pinned = event.pinned;
    state.sale = event.sale;
    state.lineup = event.lineup;
    delete $("pinned-card").dataset.saleShown;
    $("viewer-count").textContent = event.viewers;
    $("room-title").textContent = event.show.title;
    chat.replace(event.chat);
    renderSale();
    renderPinned();
    renderBag();
    renderSaleSheet();
    player.show(event.video ?? null);
    if (signedIn && !event.you.can_chat) setChatBlocked("You cannot chat in this shop's shows");
    else muteUntil(event.you.muted_until);
  },
  video(event) { player.show(event); },
  host(event) { $("room-host-name").textContent = event.host_name; },
  chat(event) { chat.add(event.messages); },
  chat_deleted(event) { chat.remove(event.ids); },
  hearts(event) { floatHearts(event.count); },
  viewers(event) { $("viewer-count").textContent = event.count; },
  pin(event) {
    state.pinned = event.product;
    delete $("pinned-card").dataset.saleShown;
    renderPinned();
  },
  sale(event) {
    state.sale = event.sale;
    delete $("pinned-card").dataset.saleShown;
    renderSale();
    refreshAllTiles();
  },
  sale_sold_out(event) {
    if (state.sale?.id !== event.sale_id) return;
    state.sale.remaining = 0;
    renderSale();
    refreshAllTiles();
  },
  sale_ended(event) {
    if (state.sale?.id !== event.sale_id) return;
    state.sale = null;
    renderSale();
    refreshAllTiles();
  },
  stock(event) {
    for (const card of [state.pinned, ...state.lineup]) {
      for (const variant of card?.variants ?? []) {
        const level = event.variants?.[variant.id];
        if (level !== undefined) variant.available = level;
      }
    }
    if (event.sale && state.sale?.id === event.sale.id) {
      state.sale.remaining = event.sale.remaining;
      renderSale();
    }
    refreshAllTiles();
  },
  status(event) {
    if (event.status === "ended") {
      chat.note("The show has ended. Thanks for watching!");
      setTimeout(() => location.reload(), 2500);
    }
  },
  slow_mode(event) {
    chat.note(event.seconds ? `Slow mode: one message every ${event.seconds} s` : "Slow mode is off");
  },
  muted(event) {
    muteUntil(event.until);
    toast("A moderator muted you for a while.");
  },
  banned() {
    setChatBlocked("You cannot chat in this shop's shows");
    toast("You are banned from this shop's shows.");
  },
  error(event) { toast(event.message || "That did not work"); },
};

const room = connectRoom(showId, state.market, {
  onEvent(event) { handlers[event.type]?.(event); },
  onState(status, code) {
    $("conn-state").hidden = status !== "reconnecting";
    if (status === "closed" && code === 4403) setChatBlocked("You cannot chat in this shop's shows");
  },
});

// --- chat and hearts ---

$("chat-form")?.addEventListener("submit", (submitted) => {
  submitted.preventDefault();
  const input = submitted.target.elements.text;
  const text = input.value.trim();
  if (!text) return;
  if (!room.send({ type: "chat", text })) { toast("Reconnecting… try again in a moment"); return; }
  input.value = "";
});

$("heart-button").addEventListener("click", () => room.send({ type: "react", kind: "heart" }));

// --- sheets and one-tap buying ---

bindSheets(root);
$("bag-button").addEventListener("click", () => $("bag").showModal());
$("sale-banner").addEventListener("click", openSaleSheet);
const buy = oneTapBuying({
  showId, locale, loginUrl, toast, market: () => state.market, afterBuy: refreshAllTiles,
});
