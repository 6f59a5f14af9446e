// The cashier tablet's desk work beside the cart: line and whole-sale price changes, cash in and out, receipt
// reprint and refunds. Loaded before pos.js, which wires these to the page.
"use strict";

// -- a line's price override or discount (改价 / 折扣), or the whole sale's discount (整单折扣, line null):
// the server asks for a manager's PIN when the change needs one ----------------------------------------------

function showLineEdit(line) {
  if (!state.sale || state.sale.lines.length === 0) return;
  state.editing = line;
  $("line-name").textContent = line ? `${line.name} · ${yuan(line.unit_price)}`
                                    : `${t("sale_discount")} · ${yuan(state.sale.subtotal)}`;
  $("line-price-box").hidden = !line;
  ["line-price", "line-percent", "line-pin"].forEach((id) => { $(id).value = ""; });
  $("line-box").hidden = false;
  $("line-price").focus();
}

async function applyLineEdit(event) {
  event.preventDefault();
  const line = state.editing;
  const body = {};
  if ($("line-price").value.trim()) {
    const fen = fenOf($("line-price").value);
    if (fen === null) return say("cart", `${t("new_price")}?`);
    body.unit_price = fen;
  }
  if ($("line-percent").value.trim()) {
    const percent = Number($("line-percent").value);
    if (!Number.isInteger(percent) || percent < 1 || percent > 100) return say("cart", `${t("line_discount_percent")}: 1 … 100`);
    body.discount = { kind: "percent", value: percent };
  }
  if (!Object.keys(body).length) return say("cart", `${t("new_price")}?`);
  if ($("line-pin").value) body.approval = { pin: $("line-pin").value };
  $("line-pin").value = "";
  if (line) {
    await editLine("PATCH", line, body);
  } else {
    say("cart", "");
    try {
      state.sale = await api("POST", `/sales/${state.sale.id}/discount`, body);
      renderSale();
    } catch (error) { say("cart", explain(error)); }
  }
  if (!$("cart-message").textContent) $("line-box").hidden = true;
}

// -- cash in and out (存取现金): paid-in / paid-out with a reason, in the shift report --------------------------

function showCashBox() {
  $("cash-amount").value = "";
  $("cash-reason").value = "";
  $("cash-box").hidden = false;
  $("cash-amount").focus();
}

async function recordCash(event) {
  event.preventDefault();
  say("cart", "");
  const kind = document.querySelector("input[name=cash-kind]:checked").value;
  const amount = fenOf($("cash-amount").value);
  const reason = $("cash-reason").value.trim();
  if (!amount) return say("cart", `${t("amount")}?`);
  if (!reason) return say("cart", `${t("reason")}?`);
  try {
    await api("POST", `/shifts/${state.shift.id}/cash`, { kind, amount, reason });
    $("cash-box").hidden = true;
    say("cart", `${t(kind === "in" ? "cash_in" : "cash_out")} ${yuan(amount)} ✓`);
  } catch (error) { say("cart", explain(error)); }
}

// -- receipt reprint (重印) and refunds (退货, a manager's PIN) ------------------------------------------------

async function reprint(saleId, where) {
  say(where, "");
  try {
    const job = await api("POST", `/sales/${saleId}/reprint`);
    say(where, `${t("reprinted")} ${job.receipt_no}`);
  } catch (error) { say(where, explain(error)); }
}

function showRefund() {
  say("refund", "");
  state.refundSale = null;
  $("refund-receipt").value = "";
  $("refund-form").hidden = true;
  $("refund-done").hidden = true;
  show("refund");
  $("refund-receipt").focus();
}

async function findRefundSale(event) {
  event.preventDefault();
  say("refund", "");
  $("refund-done").hidden = true;
  try {
    const [sale] = (await api("GET", `/sales?receipt_no=${encodeURIComponent($("refund-receipt").value.trim())}`)).sales;
    state.refundSale = sale;
    $("refund-lines").replaceChildren(...sale.lines.map((line) => {
      const item = document.createElement("li");
      item.dataset.lineId = line.id;
      const qty = document.createElement("input");
      qty.className = "refund-qty";
      qty.inputMode = "numeric";
      qty.value = String(line.qty);
      qty.setAttribute("aria-label", `${t("qty")} ${line.name}`);
      item.append(span(line.name, "name"), span(yuan(line.total), "amount"), span(`${line.qty} × ${yuan(line.unit_price)}`, "detail"), qty);
      return item;
    }));
    $("refund-form").hidden = false;
    $("refund-pin").value = "";
  } catch (error) {
    $("refund-form").hidden = true;
    say("refund", explain(error));
  }
}

async function refundSale(event) {
  event.preventDefault();
  say("refund", "");
  const sale = state.refundSale;
  const lines = [...$("refund-lines").children].map((item) => ({
    line_id: item.dataset.lineId, qty: Number(item.querySelector("input").value) }))
    .filter((line) => line.qty > 0);
  if (!lines.length || lines.some((line) => !Number.isInteger(line.qty))) return say("refund", `${t("qty")}?`);
  const body = { sale_id: sale.id, lines, reason: $("refund-reason").value.trim() || t("refund"),
                 to: document.querySelector("input[name=refund-to]:checked").value,
                 approval: { pin: $("refund-pin").value } };
  $("refund-pin").value = "";
  try {
    const refund = await api("POST", "/refunds", body);
    const rows = [[t("refund_no"), refund.refund_no], [t("total"), yuan(refund.total)],
                  ...refund.payments.map((p) => [t(`tender_${p.method}`), yuan(p.amount)])];
    $("refund-done").replaceChildren(...rows.map(([name, value]) => {
      const row = document.createElement("div");
      row.append(span(name), span(value));
      return row;
    }));
    $("refund-done").dataset.refundId = refund.id;
    $("refund-done").hidden = false;
    $("refund-form").hidden = true;
  } catch (error) { say("refund", explain(error)); }
}

// -- e-invoice requests (电子发票): for the sale just paid, or any receipt by its number or its QR code scanned into
// the receipt box; the server checks the taxpayer ID and names the field at fault ----------------------------------

const INVOICE_FIELDS = { receipt: "invoice-receipt", title: "invoice-title", taxpayer_id: "invoice-taxpayer",
                         email: "invoice-email" };

function showInvoice(receipt) {
  say("invoice", "");
  $("invoice-form").reset();
  $("invoice-taxpayer").disabled = false;
  $("invoice-result").replaceChildren();
  markInvoiceField(null);
  $("invoice-receipt").value = receipt || "";
  show("invoice");
  $(receipt ? "invoice-title" : "invoice-receipt").focus();
  if (receipt) invoiceStatus();
}

function invoiceBuyer() {
  return document.querySelector("input[name=invoice-buyer]:checked").value;
}

function markInvoiceField(field) {
  Object.values(INVOICE_FIELDS).forEach((id) => $(id).removeAttribute("aria-invalid"));
  const input = field && INVOICE_FIELDS[field.split(".")[0]];
  if (!input) return;
  $(input).setAttribute("aria-invalid", "true");
  $(input).focus();
}

function invoiceRefused(error) {
  markInvoiceField(error.field);
  say("invoice", explain(error));
}

async function requestInvoice(event) {
  event.preventDefault();
  say("invoice", "");
  const body = { receipt: $("invoice-receipt").value.trim(), buyer: invoiceBuyer(),
                 title: $("invoice-title").value.trim(), email: $("invoice-email").value.trim() };
  if (body.buyer === "company") body.taxpayer_id = $("invoice-taxpayer").value.trim().toUpperCase();
  try {
    const request = await api("POST", "/invoice-requests", body);
    markInvoiceField(null);
    say("invoice", t("invoice_sent"));
    renderInvoices([request]);
  } catch (error) { invoiceRefused(error); }
}

async function invoiceStatus() {
  say("invoice", "");
  const receipt = $("invoice-receipt").value.trim();
  if (!receipt) return invoiceRefused({ field: "receipt", message: `${t("invoice_receipt")}?` });
  try {
    const answer = await api("GET", `/invoice-requests?receipt=${encodeURIComponent(receipt)}`);
    renderInvoices(answer.requests);
  } catch (error) { invoiceRefused(error); }
}

function renderInvoices(requests) {
  $("invoice-result").replaceChildren(...requests.map((r) => {
    const item = document.createElement("li");
    item.dataset.status = r.status;
    item.append(span(`${r.receipt_no} · ${r.title}`, "name"), span(yuan(r.amount), "amount"),
                span(t(`invoice_${r.status}`) + (r.invoice_no ? ` · ${r.invoice_no}` : "")
                     + (r.reason ? ` (${r.reason})` : ""), "detail"));
    return item;
  }));
}
