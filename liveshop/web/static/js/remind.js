// "Remind me" buttons (show page and home strip): a reminder notifies when the show goes live.
import { api } from "./site.js";

export function bindToggle(button, path, labels) {
  button.addEventListener("click", async () => {
    const on = button.dataset.on !== "1";
    button.disabled = true;
    try {
      await api(on ? "PUT" : "DELETE", path);
      button.dataset.on = on ? "1" : "0";
      button.setAttribute("aria-pressed", String(on));
      button.textContent = on ? labels.on : labels.off;
    } catch (error) {
      button.title = error.message;
    } finally {
      button.disabled = false;
    }
  });
}

for (const button of document.querySelectorAll(".remind-button")) {
  bindToggle(button, `/api/v1/shows/${button.dataset.showId}/reminder`,
    { on: "Reminder set", off: "Remind me" });
}
