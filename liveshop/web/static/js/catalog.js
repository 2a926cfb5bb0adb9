// Catalog pages: variant picker (price and stock follow the chosen variant), gallery
// thumbnails, and "add variant row" on seller forms. Everything works without it.

const select = document.getElementById("variant-select");
if (select) {
  const price = document.getElementById("variant-price");
  const compare = document.getElementById("variant-compare");
  const stock = document.getElementById("variant-stock");
  const button = document.getElementById("add-button");
  const quantity = select.form.querySelector('input[name="quantity"]');

  const update = () => {
    const option = select.selectedOptions[0];
    if (!option) return;
    const available = Number(option.dataset.available);
    price.textContent = option.dataset.price;
    compare.textContent = option.dataset.compare;
    compare.hidden = !option.dataset.compare;
    stock.textContent = option.dataset.stock;
    stock.className = "stock " + (available <= 0 ? "sold-out" : available <= 5 ? "low" : "in-stock");
    button.disabled = available <= 0;
    quantity.max = String(Math.max(1, Math.min(available, Number(quantity.dataset.maxUnits))));
    if (Number(quantity.value) > Number(quantity.max)) quantity.value = quantity.max;
  };
  select.addEventListener("change", update);
}

const main = document.getElementById("gallery-main");
for (const thumb of document.querySelectorAll(".thumb")) {
  thumb.addEventListener("click", () => {
    main.src = thumb.dataset.src;
    main.alt = thumb.dataset.alt;
    for (const other of document.querySelectorAll(".thumb")) {
      other.setAttribute("aria-current", String(other === thumb));
    }
  });
}

for (const add of document.querySelectorAll("[data-add-variant-row]")) {
  add.addEventListener("click", () => {
    const rows = add.form.querySelector(".variant-rows");
    const last = rows.querySelector(".variant-row:last-of-type");
    const next = Number(last.dataset.row) + 1;
    const copy = last.cloneNode(true);
    copy.dataset.row = String(next);
    copy.querySelector("legend").textContent = `Variant ${next + 1}`;
    for (const input of copy.querySelectorAll("input")) {
      input.name = input.name.replace(/^variant-\d+-/, `variant-${next}-`);
      input.value = "";
    }
    rows.append(copy);
    copy.querySelector("input").focus();
  });
}
