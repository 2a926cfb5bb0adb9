// The notification centre: the notices shown become read once the page is seen (not when
// a browser prefetches or prerenders it); the "Mark as read" button works without this.

import { api } from "./site.js";

const form = document.querySelector("[data-mark-read]");
if (form) {
  const upToId = Number(form.elements.up_to_id.value);
  const markRead = async () => {
    try {
      await api("PUT", "/api/v1/notifications/read", { up_to_id: upToId });
    } catch {
      return; // the button is still there
    }
    form.hidden = true;
    for (const badge of document.querySelectorAll('a[href="/notifications"] .cart-badge')) {
      badge.closest("a").removeAttribute("aria-label");
      badge.remove();
    }
  };
  if (document.prerendering) {
    document.addEventListener("prerenderingchange", markRead, { once: true });
  } else {
    markRead();
  }
}
