// Cart and checkout: quantity changes submit themselves; saved-vs-new choices show only
// the fields that matter. Everything also works without this script.

for (const input of document.querySelectorAll("input[data-autosubmit-quantity]")) {
  input.addEventListener("change", () => {
    if (input.checkValidity()) input.form.requestSubmit();
  });
}

const form = document.getElementById("checkout-form");
if (form) {
  for (const details of form.querySelectorAll(".new-details[data-choice]")) {
    const radios = form.querySelectorAll(`input[type=radio][name="${details.dataset.choice}"]`);
    if (radios.length === 0) continue;
    const sync = () => {
      const chosen = form.querySelector(`input[name="${details.dataset.choice}"]:checked`);
      details.hidden = chosen !== null && chosen.value !== "new";
    };
    for (const radio of radios) radio.addEventListener("change", sync);
    // Typing new details means the buyer wants them, whatever radio was pre-selected.
    details.addEventListener("input", () => {
      const fresh = form.querySelector(`input[name="${details.dataset.choice}"][value="new"]`);
      if (fresh) fresh.checked = true;
    });
    sync();
  }

  form.addEventListener("submit", () => {
    const pay = document.getElementById("pay");
    // The idempotency key already makes a second submit harmless; this just says "working".
    window.setTimeout(() => { pay.disabled = true; pay.setAttribute("aria-busy", "true"); }, 0);
  });
}
