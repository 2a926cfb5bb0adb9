// Site-wide behaviour: auto-submitting selects and a fetch helper that sends the CSRF token.
const csrf = document.querySelector('meta[name="csrf-token"]')?.content ?? "";

for (const select of document.querySelectorAll("select[data-autosubmit]")) {
  select.addEventListener("change", () => select.form.requestSubmit());
}

export async function api(method, path, body, headers = {}) {
  const response = await fetch(path, {
    method,
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
  const data = response.status === 204 ? null : await response.json();
  if (!response.ok) {
    const error = new Error(data?.error?.message ?? `Request failed (${response.status})`);
    error.field = data?.error?.field;
    throw error;
  }
  return data;
}
