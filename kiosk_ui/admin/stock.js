// Stock: stocktake (盘点), goods received, corrections with a reason, and the low-stock list with reorder points.
"use strict";

const stock = { stocktake: null, receipt: [], confirmPost: false };

// What a person types or scans: a barcode (8 to 14 digits) or a SKU.
function codeBody(text) {
  const code = text.trim();
  return /^\d{8,14}$/.test(code) ? { barcode: code } : { sku: code };
}

async function skuOf(text) {
  const code = codeBody(text);
  if (code.sku !== undefined) return code.sku;
  const found = await api("GET", `/products?barcode=${encodeURIComponent(code.barcode)}`);
  return found.products[0].sku;
}

function wholeNumber(text) {
  return /^\s*-?\d+\s*$/.test(text) ? Number(text) : null;
}

// -- stocktake ------------------------------------------------------------------------------------------------------

async function loadStocktake() {
  const counting = (await api("GET", "/stocktakes")).stocktakes.find((s) => s.status === "counting");
  stock.stocktake = counting ? await api("GET", `/stocktakes/${counting.id}`) : null;
  renderStocktake();
}

function renderStocktake() {
  const stocktake = stock.stocktake;
  $("stocktake-idle").hidden = Boolean(stocktake);
  $("stocktake-counting").hidden = !stocktake;
  stock.confirmPost = false;
  $("stocktake-post").textContent = t("stocktake_post");
  if (!stocktake) return;
  $("stocktake-info").textContent = `${t("stocktake_since")} ${stocktake.started_at.slice(0, 16).replace("T", " ")}`
    + (stocktake.note ? ` · ${stocktake.note}` : "");
  fillTable($("stocktake-lines"), stocktake.lines.map((line) => [
    line.sku, line.name, quantity(line.expected, line.sold_by), quantity(line.counted, line.sold_by),
    el("span", { text: line.variance > 0 ? `+${line.variance}` : String(line.variance),
                 className: line.variance < 0 ? "variance-minus" : line.variance > 0 ? "variance-plus" : "" }),
    yuan(line.variance_value), button("remove", () => uncount(line)),
  ]));
  Array.from($("stocktake-lines").rows).forEach((row, i) => { row.dataset.sku = stocktake.lines[i].sku; });
  const summary = stocktake.summary;
  $("stocktake-summary").textContent = `${t("counted_products")} ${summary.counted} · ${t("with_variance")} `
    + `${summary.with_variance} · ${t("variance_value")} ${yuan(summary.variance_value)}`;
}

async function startStocktake() {
  say("stocktake-message", "");
  try {
    await api("POST", "/stocktakes", { note: $("stocktake-note").value.trim() || null });
    await loadStocktake();
    $("count-scan").focus();
  } catch (error) { say("stocktake-message", explain(error)); }
}

async function count(text, qty, mode) {
  say("stocktake-message", "");
  try {
    const line = await api("POST", `/stocktakes/${stock.stocktake.id}/counts`, { ...codeBody(text), qty, mode });
    say("stocktake-message", `${line.name}: ${t("counted")} ${line.counted}`, true);
    stock.stocktake = await api("GET", `/stocktakes/${stock.stocktake.id}`);
    renderStocktake();
    return true;
  } catch (error) {
    say("stocktake-message", explain(error));
    return false;
  }
}

// A product counted by mistake leaves the stocktake (it is not counted as zero).
async function uncount(line) {
  try {
    stock.stocktake = await api("DELETE", `/stocktakes/${stock.stocktake.id}/counts/${encodeURIComponent(line.sku)}`);
    renderStocktake();
    say("stocktake-message", `${line.name}: ${t("uncounted")}`, true);
  } catch (error) { say("stocktake-message", explain(error)); }
}

// Posting moves stock: the first press asks again, naming how many products change.
async function postStocktake() {
  if (!stock.confirmPost) {
    stock.confirmPost = true;
    $("stocktake-post").textContent = `${t("stocktake_confirm")} (${stock.stocktake.summary.with_variance})`;
    return;
  }
  try {
    const posted = await api("POST", `/stocktakes/${stock.stocktake.id}/post`);
    say("stocktake-message", `${t("stocktake_posted")}: ${posted.summary.with_variance} · `
      + `${yuan(posted.summary.variance_value)}`, true);
    await loadStocktake();
    await loadLowStock();
  } catch (error) { say("stocktake-message", explain(error)); }
}

async function cancelStocktake() {
  try {
    await api("POST", `/stocktakes/${stock.stocktake.id}/cancel`);
    say("stocktake-message", t("stocktake_cancelled"), true);
    await loadStocktake();
  } catch (error) { say("stocktake-message", explain(error)); }
}

// -- goods received -----------------------------------------------------------------------------------------------

async function addReceiptLine() {
  say("receive-message", "");
  const qty = wholeNumber($("receive-qty").value);
  if (qty === null || qty <= 0) return say("receive-message", `${t("qty")}?`);
  try {
    stock.receipt.push({ sku: await skuOf($("receive-sku").value), qty });
    $("receive-sku").value = "";
    $("receive-qty").value = "";
    renderReceipt();
    $("receive-sku").focus();
  } catch (error) { say("receive-message", explain(error)); }
}

function renderReceipt() {
  fillTable($("receive-lines"), stock.receipt.map((line, i) => [
    line.sku, line.qty, button("remove", () => { stock.receipt.splice(i, 1); renderReceipt(); })]));
}

async function receive() {
  if ($("receive-sku").value.trim()) await addReceiptLine();
  if (!stock.receipt.length) return say("receive-message", t("receive_empty"));
  try {
    const answer = await api("POST", "/stock/receipts",
                             { lines: stock.receipt, supplier: $("receive-supplier").value.trim() || null });
    stock.receipt = [];
    renderReceipt();
    say("receive-message", `${t("received")}: ${answer.levels.map((l) => `${l.name} ${l.on_hand}`).join(", ")}`, true);
    await loadLowStock();
  } catch (error) { say("receive-message", explain(error)); }
}

// -- a correction with a reason -------------------------------------------------------------------------------

async function adjust(event) {
  event.preventDefault();
  say("adjust-message", "");
  const qty = wholeNumber($("adjust-qty").value);
  if (qty === null || qty === 0) return say("adjust-message", `${t("adjust_qty")}?`);
  try {
    const answer = await api("POST", "/stock/adjustments", {
      sku: await skuOf($("adjust-sku").value), qty, reason: $("adjust-reason").value.trim() });
    say("adjust-message", `${answer.name}: ${t("on_hand")} ${answer.on_hand}`, true);
    await loadLowStock();
  } catch (error) { say("adjust-message", explain(error)); }
}

// -- low stock -----------------------------------------------------------------------------------------------

async function loadLowStock() {
  const low = (await api("GET", "/reorder-points?low_only=true")).products;
  fillTable($("low-stock"), low.map((p) => [p.sku, p.name, el("span", { className: "low", text: p.on_hand }),
                                            p.reorder_point]));
  if (!low.length) fillTable($("low-stock"), [[t("none"), "", "", ""]]);
}

async function setReorderPoint(event) {
  event.preventDefault();
  say("reorder-message", "");
  const text = $("reorder-point").value.trim();
  const point = text === "" ? null : wholeNumber(text);
  if (text !== "" && (point === null || point < 0)) return say("reorder-message", `${t("reorder_point")}?`);
  try {
    const answer = await api("POST", "/reorder-points", { sku: await skuOf($("reorder-sku").value), reorder_point: point });
    say("reorder-message", `${answer.name}: ${t("reorder_point")} ${answer.reorder_point ?? "—"}`, true);
    await loadLowStock();
  } catch (error) { say("reorder-message", explain(error)); }
}

startArea(async () => {
  $("stocktake-start").addEventListener("click", startStocktake);
  $("count-scan-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const code = $("count-scan").value;
    $("count-scan").value = "";
    if (code.trim()) count(code, 1, "add");
  });
  $("count-set-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const qty = wholeNumber($("count-qty").value);
    if (qty === null || qty < 0) return say("stocktake-message", `${t("counted_qty")}?`);
    count($("count-sku").value, qty, "set").then((counted) => {
      if (!counted) return;
      $("count-sku").value = "";
      $("count-qty").value = "";
      $("count-sku").focus();
    });
  });
  $("stocktake-post").addEventListener("click", postStocktake);
  $("stocktake-cancel").addEventListener("click", cancelStocktake);
  $("receive-form").addEventListener("submit", (event) => { event.preventDefault(); addReceiptLine(); });
  $("receive-post").addEventListener("click", receive);
  $("adjust-form").addEventListener("submit", adjust);
  $("reorder-form").addEventListener("submit", setReorderPoint);
  document.addEventListener("languagechange", renderStocktake);
  await loadStocktake();
  await loadLowStock();
});
