// Site-wide behaviour: auto-submitting selects and the JSON helper that sends the CSRF token.
const csrf = document.querySelector('meta[name="csrf-token"]')?.content ?? "";

for (const select of document.querySelectorAll("select[data-autosubmit]")) {
  select.addEventListener("change", () => select.form.requestSubmit());
}

// The phone menu: one button shows and hides the header's links (wide screens show them
// inline and hide the button). Escape or a tap elsewhere closes it.
const header = document.getElementById("site-header");
const menuButton = document.getElementById("menu-button");
function setMenu(open) {
  header?.classList.toggle("menu-open", open);
  menuButton?.setAttribute("aria-expanded", String(open));
}
menuButton?.addEventListener("click", () => setMenu(!header.classList.contains("menu-open")));
document.addEventListener("keydown", (pressed) => {
  if (pressed.key === "Escape" && header?.classList.contains("menu-open")) {
    setMenu(false);
    menuButton.focus();
  }
});
document.addEventListener("click", (clicked) => {
  if (header?.classList.contains("menu-open") && !header.contains(clicked.target)) setMenu(false);
});

export class ApiError extends Error {
  constructor(status, error) {
    super(error?.message ?? `Request failed (${status})`);
    this.status = status;
    this.code = error?.code ?? "";
    this.field = error?.field ?? null;
  }
}

// A network failure rejects with a TypeError from fetch; an HTTP error with ApiError, which
// keeps the status and error code (pages react to codes such as payment_method_required).
export async function api(method, path, body, headers = {}) {
  const response = await fetch(path, {
    method,
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data?.error);
  return data;
}
