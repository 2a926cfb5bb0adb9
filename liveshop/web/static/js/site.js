// Site-wide behaviour: auto-submitting selects and the JSON helper that sends the CSRF token.
const csrf = document.querySelector('meta[name="csrf-token"]')?.content ?? "";

for (const select of document.querySelectorAll("select[data-autosubmit]")) {
  select.addEventListener("change", () => select.form.requestSubmit());
}

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
