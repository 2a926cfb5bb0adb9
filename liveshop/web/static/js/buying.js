// One-tap buying, shared by the live room and the replay page: POST /shows/{id}/buy with an
// Idempotency-Key, the confirmation sheet, and the short checkout sheet that opens when the
// buyer has no default address or card yet (templates/live/_buy_sheets.html).
import { ApiError, api } from "./site.js";
import { formatMoney, newKey } from "./live-common.js";

const RETRIES = 2;
const SHEET_CODES = ["payment_method_required", "address_required"];
const $ = (id) => document.getElementById(id);

// What the page says about one-tap prices (data attributes of the room or replay): its
// market, the show's shop and whether that shop ships to the market at all.
export function pricingOf(root) {
  const { shopId, ships, currency, locale, market } = root.dataset;
  return { market, currency, locale, shopId, ships: ships === "true" };
}

// The server prices what a tap charges (GET /api/v1/buy-now/quote, checkout's one pricing
// rule), so the total shown is the total charged. One request per price: a price asked
// again (every stock update redraws the tiles) is answered from here.
const quotes = new Map();

export function oneTapQuote(unitPrice, pricing, quantity = 1) {
  if (!pricing.ships || unitPrice === null) return Promise.resolve(null);
  const query = new URLSearchParams({
    shop_id: pricing.shopId, market: pricing.market, unit_price: unitPrice, quantity,
  }).toString();
  if (!quotes.has(query)) {
    quotes.set(query, api("GET", `/api/v1/buy-now/quote?${query}`).catch(() => {
      quotes.delete(query); // asked again at the next redraw
      return null;
    }));
  }
  return quotes.get(query);
}

// "£28.99" and "incl. £3.99 shipping · £4.83 VAT" for a quote.
export function describeQuote(quote) {
  const money = quote.formatted;
  const shipping = quote.shipping ? `incl. ${money.shipping} shipping` : "free shipping";
  let tax = "";
  if (quote.tax_inclusive && quote.tax) tax = ` · ${money.tax} VAT`;
  else if (!quote.tax_inclusive) tax = quote.tax ? ` · ${money.tax} tax` : " · no sales tax";
  return { total: money.total, breakdown: shipping + tax };
}

// Fills a "Total <amount> <breakdown>" line for a tap at `unitPrice` (null: hide it). The
// line stays hidden while a new price is being priced, and only the latest price asked
// for a line is shown there.
export async function showQuote(line, unitPrice, pricing) {
  const asked = unitPrice === null ? "" : String(unitPrice);
  if (line.dataset.quoteFor !== asked) {
    line.dataset.quoteFor = asked;
    line.hidden = true;
  }
  const quote = asked ? await oneTapQuote(unitPrice, pricing) : null;
  if (line.dataset.quoteFor !== asked) return;
  line.hidden = quote === null;
  if (!quote) return;
  const { total, breakdown } = describeQuote(quote);
  line.querySelector(".tile-total-amount").textContent = total;
  line.querySelector(".tile-breakdown").textContent = breakdown;
}

// One tap = one Idempotency-Key. Only a network failure (no answer) is retried, with the
// same key, so a request that did reach the server cannot buy twice. The tap names the
// market whose prices the page shows, so that it buys what the buyer saw.
async function sendBuy(showId, variantId, market, key) {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await api("POST", `/api/v1/shows/${showId}/buy`,
        { variant_id: variantId, quantity: 1, ...(market ? { market } : {}) },
        { "Idempotency-Key": key });
    } catch (error) {
      if (error instanceof ApiError || attempt >= RETRIES) throw error;
      await new Promise((resolve) => setTimeout(resolve, 400 * 2 ** attempt));
    }
  }
}

// A flash-sale tap is answered 202 once the unit is claimed; the payment follows within
// moments. Ask until it is paid or failed; a network blip only delays the next question.
const SETTLE_POLL_MS = 500;
const SETTLE_WAIT_MS = 60000;

class StillPaying extends Error {}

async function settled(purchase) {
  const deadline = Date.now() + SETTLE_WAIT_MS;
  while (purchase.status === "pending") {
    if (Date.now() > deadline) {
      throw new StillPaying("Your unit is reserved and payment is taking longer than usual. Check your orders in a minute.");
    }
    await new Promise((resolve) => setTimeout(resolve, SETTLE_POLL_MS));
    purchase = await api("GET", `/api/v1/purchases/${purchase.purchase_id}`).catch((error) => {
      if (error instanceof ApiError) throw error;
      return purchase;
    });
  }
  return purchase;
}

function setSection(fieldset, needed) {
  fieldset.hidden = !needed;
  fieldset.disabled = !needed;
}

// Closing by the backdrop or any [data-close] button, for every sheet inside `root`.
export function bindSheets(root) {
  for (const dialog of root.querySelectorAll("dialog")) {
    dialog.addEventListener("click", (clicked) => {
      if (clicked.target === dialog || clicked.target.closest("[data-close]")) dialog.close();
    });
  }
}

// -> buy(button, variantId). `afterBuy` runs when a tap settles (e.g. to re-derive which
// buttons are sold out); the button is re-enabled before it.
// `market()`: the market whose prices the page shows now.
export function oneTapBuying({ showId, locale, loginUrl, toast, market = () => null,
  afterBuy = () => {} }) {
  let pending = null;

  async function buy(button, variantId) {
    const label = button.textContent;
    button.dataset.busy = "1";
    button.disabled = true;
    button.textContent = "Buying…";
    try {
      let paid = await sendBuy(showId, variantId, market(), newKey());
      if (paid.status === "pending") {
        button.textContent = "Paying…";
        paid = await settled(paid);
      }
      if (paid.status === "failed") {
        toast(paid.error.message);
        return;
      }
      for (const open of document.querySelectorAll("dialog[open]")) open.close();
      $("confirmation-number").textContent = paid.order_numbers.join(", ");
      $("confirmation-total").textContent = formatMoney(paid.total, paid.currency, locale);
      $("confirmation").showModal();
    } catch (error) {
      if (error instanceof ApiError && SHEET_CODES.includes(error.code)) {
        await openCheckoutSheet(button, variantId);
      } else if (error instanceof ApiError && error.status === 401) {
        location.href = loginUrl;
      } else {
        const known = error instanceof ApiError || error instanceof StillPaying;
        toast(known ? error.message : "No connection. Check your network and tap again.");
      }
    } finally {
      delete button.dataset.busy;
      button.disabled = false;
      button.textContent = label;
      afterBuy();
    }
  }

  async function openCheckoutSheet(button, variantId) {
    pending = { button, variantId };
    const [addresses, cards] = await Promise.all([
      api("GET", "/api/v1/me/addresses"), api("GET", "/api/v1/payment-methods"),
    ]).catch(() => [[], []]);
    setSection($("address-fields"), !addresses.some((a) => a.is_default));
    setSection($("card-fields"), !cards.some((c) => c.is_default));
    $("checkout-error").hidden = true;
    $("checkout-sheet").showModal();
  }

  $("checkout-form")?.addEventListener("submit", async (submitted) => {
    submitted.preventDefault();
    const form = submitted.target;
    const field = (name) => form.elements[name].value.trim();
    const submit = form.querySelector("button[type=submit]");
    submit.disabled = true;
    try {
      if (!$("address-fields").disabled) {
        await api("POST", "/api/v1/me/addresses", {
          full_name: field("full_name"), line1: field("line1"), line2: field("line2"),
          city: field("city"), postcode: field("postcode"), country: field("country"),
          is_default: true,
        });
        setSection($("address-fields"), false);
      }
      if (!$("card-fields").disabled) {
        await api("POST", "/api/v1/payment-methods", {
          card: {
            number: field("card_number").replace(/\s/g, ""), exp_month: Number(field("exp_month")),
            exp_year: Number(field("exp_year")), cvc: field("cvc"),
          },
          make_default: true,
        });
        setSection($("card-fields"), false);
      }
    } catch (error) {
      $("checkout-error").textContent = error.message || "Could not save that";
      $("checkout-error").hidden = false;
      return;
    } finally {
      submit.disabled = false;
    }
    form.reset();
    $("checkout-sheet").close();
    if (pending?.button.isConnected) await buy(pending.button, pending.variantId);
    else toast("Saved. Tap buy again.", "info");
  });

  return buy;
}
