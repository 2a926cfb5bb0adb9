// One-tap buying, shared by the live room and the replay page: POST /shows/{id}/buy with an
// Idempotency-Key, the confirmation sheet, and the short checkout sheet that opens when the
// buyer has no default address or card yet (templates/live/_buy_sheets.html).
import { ApiError, api } from "./site.js";
import { formatMoney, newKey } from "./live-common.js";

const RETRIES = 2;
const SHEET_CODES = ["payment_method_required", "address_required"];
const $ = (id) => document.getElementById(id);

// What the page says about one-tap prices in its market (data attributes of the room or
// replay): the shop's shipping there (empty: it does not ship there) and the market's VAT.
export function pricingOf(root) {
  const { shipping, vatBp, taxInclusive, currency, locale, market } = root.dataset;
  return {
    market, currency, locale, shipping: shipping === "" ? null : Number(shipping),
    vatBp: Number(vatBp), taxInclusive: taxInclusive === "true",
  };
}

function divideHalfUp(numerator, denominator) {
  return Math.floor((numerator * 2 + denominator) / (denominator * 2));
}

// What a one-tap purchase charges, priced as checkout/model.py's price_order prices its
// order (one shipping fee; VAT per line and on shipping, contained in inclusive markets'
// prices, added in the others), so the total shown is the total charged. Null when the
// shop does not ship to the market.
export function oneTapQuote(unitPrice, pricing, quantity = 1) {
  if (pricing.shipping === null || unitPrice === null) return null;
  const taxOf = (amount) => (pricing.vatBp === 0 ? 0
    : divideHalfUp(amount * pricing.vatBp, pricing.taxInclusive ? 10000 + pricing.vatBp : 10000));
  const lines = unitPrice * quantity;
  const tax = taxOf(lines) + taxOf(pricing.shipping);
  return { shipping: pricing.shipping, tax, total: lines + pricing.shipping + (pricing.taxInclusive ? 0 : tax) };
}

// "£28.99" and "incl. £3.99 shipping · £4.83 VAT" for a quote.
export function describeQuote(quote, pricing) {
  const money = (amount) => formatMoney(amount, pricing.currency, pricing.locale);
  const shipping = quote.shipping ? `incl. ${money(quote.shipping)} shipping` : "free shipping";
  let tax = "";
  if (pricing.taxInclusive && quote.tax) tax = ` · ${money(quote.tax)} VAT`;
  else if (!pricing.taxInclusive) tax = quote.tax ? ` · ${money(quote.tax)} tax` : " · no sales tax";
  return { total: money(quote.total), breakdown: shipping + tax };
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
