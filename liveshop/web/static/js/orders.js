// Order pages: ask before irreversible actions (cancel, full refund).
for (const form of document.querySelectorAll("form[data-confirm]")) {
  form.addEventListener("submit", (event) => {
    if (!window.confirm(form.dataset.confirm)) event.preventDefault();
  });
}

// Avoid a second refund/ship post from a double click while the first is in flight.
for (const form of document.querySelectorAll("main form[method=post]")) {
  form.addEventListener("submit", (event) => {
    if (event.defaultPrevented) return;
    for (const button of form.querySelectorAll("button[type=submit]")) button.disabled = true;
  });
}
