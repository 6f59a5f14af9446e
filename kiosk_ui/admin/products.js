// Products and prices: list and search, create, edit price and member price, deactivate, CSV import.
"use strict";

const PAGE_SIZE = 50;
const products = { shown: [], total: 0, editing: null };
let searchTimer = null;

async function loadProducts(append = false) {
  const offset = append ? products.shown.length : 0;
  const q = $("product-search").value.trim();
  const params = new URLSearchParams({ limit: PAGE_SIZE, offset, include_inactive: $("show-inactive").checked });
  if (q) params.set("q", q);
  try {
    const page = await api("GET", `/products/list?${params}`);
    products.shown = append ? products.shown.concat(page.products) : page.products;
    products.total = page.total;
    renderProducts();
  } catch (error) { say("product-message", explain(error)); }
}

function renderProducts() {
  const tbody = $("products");
  fillTable(tbody, products.shown.map((p) => [
    p.sku, p.name, p.category, yuan(p.price), p.member_price === null ? null : yuan(p.member_price),
    quantity(p.on_hand, p.sold_by), t(p.active ? "active" : "inactive"),
    el("span", {}, button("edit", () => edit(p)),
       p.active ? button("deactivate", () => save({ ...body(p), active: false }, p.sku), "danger")
         : button("reactivate", () => save({ ...body(p), active: true }, p.sku))),
  ]));
  Array.from(tbody.rows).forEach((row, i) => {
    row.dataset.sku = products.shown[i].sku;
    row.classList.toggle("inactive", !products.shown[i].active);
  });
  $("product-count").textContent = `${t("shown")} ${products.shown.length} / ${products.total}`;
  $("product-more").hidden = products.shown.length >= products.total;
}

// The whole product as POST /products takes it (an upsert by SKU).
function body(p) {
  return { sku: p.sku, name: p.name, category: p.category, unit: p.unit, sold_by: p.sold_by, price: p.price,
           member_price: p.member_price, tax_rate: p.tax_rate, barcodes: p.barcodes, plu: p.plu, active: p.active };
}

function edit(product) {
  products.editing = product;
  const p = product || { sku: "", name: "", category: "", unit: "件", sold_by: "each", price: 0, member_price: null,
                         barcodes: [], active: true };
  $("editor-title").textContent = product ? `${t("edit")} ${p.sku}` : t("product_new");
  $("p-sku").value = p.sku;
  $("p-sku").readOnly = Boolean(product); // the SKU is the product's key: a new SKU is a new product
  $("p-name").value = p.name;
  $("p-category").value = p.category || "";
  $("p-price").value = product ? yuan(p.price).slice(1) : "";
  $("p-member-price").value = p.member_price === null ? "" : yuan(p.member_price).slice(1);
  $("p-unit").value = p.unit;
  $("p-sold-by").value = p.sold_by;
  $("p-barcodes").value = p.barcodes.join(", ");
  $("p-active").checked = p.active;
  say("product-message", "");
  $("product-editor").hidden = false;
  (product ? $("p-name") : $("p-sku")).focus();
}

function fromForm() {
  const price = fenOf($("p-price").value);
  if (price === null) throw new Error(`${t("price_yuan")}: ${t("amount_format")}`);
  const memberText = $("p-member-price").value.trim();
  const memberPrice = memberText ? fenOf(memberText) : null;
  if (memberText && memberPrice === null) throw new Error(`${t("member_price_yuan")}: ${t("amount_format")}`);
  const base = products.editing ? body(products.editing) : { tax_rate: 1300, plu: null };
  return { ...base, sku: $("p-sku").value.trim(), name: $("p-name").value.trim(),
           category: $("p-category").value.trim() || null, unit: $("p-unit").value.trim() || "件",
           sold_by: $("p-sold-by").value, price, member_price: memberPrice,
           barcodes: $("p-barcodes").value.split(/[\s,，]+/).filter(Boolean), active: $("p-active").checked };
}

async function save(product, sku) {
  say("product-message", "");
  try {
    await api("POST", "/products", product);
    $("product-editor").hidden = true;
    await loadProducts();
    say("product-message", `${t("saved")}: ${sku}`, true);
  } catch (error) { say("product-message", explain(error)); }
}

async function importCsv() {
  say("csv-message", "");
  const text = $("csv-text").value;
  if (!text.trim()) return say("csv-message", t("csv_empty"));
  try {
    const report = await api("POST", "/products/import", { csv: text });
    const errors = (report.errors || []).map((e) => `${t("line")} ${e.line}: ${e.message}`);
    say("csv-message", [`${t("csv_done")}: ${t("csv_imported")} ${report.imported}, ${t("csv_updated")} ${report.updated}`,
                        ...errors].join(" · "), errors.length === 0);
    await loadProducts();
  } catch (error) { say("csv-message", explain(error)); }
}

startArea(async () => {
  $("product-search").addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => loadProducts(), 250);
  });
  $("show-inactive").addEventListener("change", () => loadProducts());
  $("product-more").addEventListener("click", () => loadProducts(true));
  $("product-new").addEventListener("click", () => edit(null));
  $("product-cancel").addEventListener("click", () => { $("product-editor").hidden = true; });
  $("product-form").addEventListener("submit", (event) => {
    event.preventDefault();
    try {
      const product = fromForm();
      save(product, product.sku);
    } catch (error) { say("product-message", error.message); }
  });
  $("csv-file").addEventListener("change", async () => {
    const file = $("csv-file").files[0];
    if (file) $("csv-text").value = await file.text();
  });
  $("csv-import").addEventListener("click", importCsv);
  document.addEventListener("languagechange", renderProducts);
  await loadProducts();
});
