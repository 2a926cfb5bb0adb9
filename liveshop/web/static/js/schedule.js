// Sends the browser's time-zone offset with the start time, so the server stores UTC.
const form = document.getElementById("schedule-form");
const input = form?.elements.scheduled_at;

function fillOffset() {
  // The offset of the chosen date, not today's: daylight saving may differ.
  const chosen = input.value ? new Date(input.value) : new Date();
  form.elements.tz_offset.value = String(chosen.getTimezoneOffset());
}

if (form) {
  input.addEventListener("change", fillOffset);
  form.addEventListener("submit", fillOffset);
  fillOffset();
}
