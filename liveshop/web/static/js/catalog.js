// Catalog pages: variant picker (price and stock follow the chosen variant), gallery
// thumbnails, "add variant row" on seller forms, and the other markets' prices worked out
// as the main-market price is typed. Everything works without it.

import { api } from "./site.js";

const select = document.getElementById("variant-select");
if (select) {
  const price = document.getElementById("variant-price");
  const compare = document.getElementById("variant-compare");
  const stock = document.getElementById("variant-stock");
  const button = document.getElementById("add-button");
  const quantity = select.form.querySelector('input[name="quantity"]');

  const update = () => {
    const option = select.selectedOptions[0];
    if (!option) return;
    const available = Number(option.dataset.available);
    price.textContent = option.dataset.price;
    compare.textContent = option.dataset.compare;
    compare.hidden = !option.dataset.compare;
    stock.textContent = option.dataset.stock;
    stock.className = "stock " + (available <= 0 ? "sold-out" : available <= 5 ? "low" : "in-stock");
    button.disabled = available <= 0;
    quantity.max = String(Math.max(1, Math.min(available, Number(quantity.dataset.maxUnits))));
    if (Number(quantity.value) > Number(quantity.max)) quantity.value = quantity.max;
  };
  select.addEventListener("change", update);
}

const main = document.getElementById("gallery-main");
for (const thumb of document.querySelectorAll(".thumb")) {
  thumb.addEventListener("click", () => {
    main.src = thumb.dataset.src;
    main.alt = thumb.dataset.alt;
    for (const other of document.querySelectorAll(".thumb")) {
      other.setAttribute("aria-current", String(other === thumb));
    }
  });
}

for (const add of document.querySelectorAll("[data-add-variant-row]")) {
  add.addEventListener("click", () => {
    const rows = add.form.querySelector(".variant-rows");
    const last = rows.querySelector(".variant-row:last-of-type");
    const next = Number(last.dataset.row) + 1;
    const copy = last.cloneNode(true);
    copy.dataset.row = String(next);
    copy.querySelector("legend").textContent = `Variant ${next + 1}`;
    for (const input of copy.querySelectorAll("input")) {
      input.name = input.name.replace(/^variant-\d+-/, `variant-${next}-`);
      input.value = "";
    }
    for (const badge of copy.querySelectorAll(".set-by-you")) badge.hidden = true;
    const summary = copy.querySelector(".derived-summary");
    if (summary) summary.textContent = "";
    rows.append(copy);
    copy.querySelector("input").focus();
  });
}

// The product form's other markets follow the main-market price as it is typed; the server
// works them out (GET /api/v1/markets/{code}/derived-prices), so the rule lives in one place
// (markets/model.py). A box the seller changed is theirs: it no longer matches the price
// shown as worked out (its hidden "derived" twin) and is left alone, here and on the server.
const deriveFrom = document.querySelector("[data-derive-from]");
if (deriveFrom) {
  const base = deriveFrom.dataset.deriveFrom;
  const rowsBox = deriveFrom.form.querySelector(".variant-rows");
  const timers = new WeakMap();

  const toMinor = (text) => {
    let typed = text.trim().replace(/\s/g, "");
    if (typed.includes(",") && !typed.includes(".")) typed = typed.replace(",", ".");
    if (!/^\d+(\.\d{1,2})?$/.test(typed)) return null;
    const [whole, fraction = ""] = typed.split(".");
    const minor = Number(whole) * 100 + Number((fraction + "00").slice(0, 2));
    return minor > 0 ? minor : null;
  };
  const major = (minor) =>
    minor == null ? "" : `${Math.floor(minor / 100)}.${String(minor % 100).padStart(2, "0")}`;

  const field = (row, kind, market) =>
    row.querySelector(`[name="variant-${row.dataset.row}-${kind}-${market}"]`);

  const markSetByYou = (cell) => {
    const row = cell.closest(".variant-row");
    const market = cell.dataset.market;
    const own = ["price", "compare"].some((kind) => {
      const shown = field(row, `derived-${kind}`, market);
      return shown && field(row, kind, market).value.trim() !== shown.value.trim();
    });
    const badge = cell.querySelector(".set-by-you");
    if (badge) badge.hidden = !own;
  };

  const summarise = (row) => {
    const summary = row.querySelector(".derived-summary");
    if (!summary) return;
    summary.textContent = [...row.querySelectorAll(".price-cell:not(.not-shipped)")]
      .map((cell) => `${cell.dataset.market} ${field(row, "price", cell.dataset.market).value || "–"}`)
      .join(" · ");
  };

  const workOut = async (row) => {
    const amount = toMinor(field(row, "price", base).value);
    const compare = toMinor(field(row, "compare", base).value);
    let derived = {};
    if (amount != null) {
      const query = `amount=${amount}` + (compare != null ? `&compare_at=${compare}` : "");
      try {
        const answer = await api("GET", `/api/v1/markets/${base}/derived-prices?${query}`);
        derived = Object.fromEntries(answer.prices.map((price) => [price.market, price]));
      } catch {
        return; // the server works them out again on saving
      }
    }
    for (const cell of row.querySelectorAll(".price-cell:not(.not-shipped)")) {
      const market = cell.dataset.market;
      const worked = derived[market] || {};
      for (const [kind, value] of [["price", worked.amount], ["compare", worked.compare_at]]) {
        const box = field(row, kind, market);
        const shown = field(row, `derived-${kind}`, market);
        if (!box || !shown) continue;
        const next = major(value ?? null);
        if (box.value.trim() === shown.value.trim()) box.value = next;
        shown.value = next;
      }
      markSetByYou(cell);
    }
    summarise(row);
  };

  // A price typed before this script arrived (a slow phone) is worked out now.
  for (const row of rowsBox.querySelectorAll(".variant-row")) {
    const typed = field(row, "price", base)?.value.trim();
    const shown = [...row.querySelectorAll('[name*="-derived-price-"]')];
    if (typed && shown.every((twin) => !twin.value.trim())) workOut(row);
  }

  rowsBox.addEventListener("input", (event) => {
    const row = event.target.closest(".variant-row");
    if (!row) return;
    if (event.target.dataset.base) {
      clearTimeout(timers.get(row));
      timers.set(row, setTimeout(() => workOut(row), 250));
    } else if (event.target.closest(".price-cell")) {
      markSetByYou(event.target.closest(".price-cell"));
      summarise(row);
    }
  });
}
