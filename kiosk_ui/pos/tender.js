// The cashier tablet's tender step: cash with quick amounts, split tenders (card, external, stored value, points,
// coupons), scan payments for all or part of the total. Loaded before pos.js, which wires these to the page.
"use strict";

const PAYMENT_WAIT_MS = 10000;

// -- tender: cash with quick amounts and change, or a scanned payment code -----------------------------------------

// Other tenders taken before the last one; a split payment is completed in one request once they cover the total.
// A coupon's amount is what the server says it takes off this sale (its code goes in the reference box).
const OTHER_TENDERS = [
  { method: "card", reference: true },
  { method: "external", reference: true },
  { method: "stored_value", reference: false },
  { method: "points", reference: false },
  { method: "coupon", reference: true },
];

function remaining() {
  return state.sale.total - state.split.reduce((sum, payment) => sum + payment.amount, 0);
}

function showTender() {
  if (!state.sale || state.sale.lines.length === 0) return;
  say("tender", "");
  if (state.split.saleId !== state.sale.id) state.split = Object.assign([], { saleId: state.sale.id });
  $("member-pin-box").hidden = true;
  renderTender();
  renderMemberTenders();
  takeBackPaidScans();
  $("tendered").value = "";
  if (!state.payment || FINAL_PAYMENT.has(state.payment.state)) $("payment").hidden = true;
  show("tender");
}

function renderTender() {
  const due = remaining();
  $("tender-due").textContent = yuan(due);
  const amounts = [due, ...[1000, 5000, 10000].map((step) => Math.ceil(due / step) * step)]
    .filter((amount, index, all) => amount > 0 && all.indexOf(amount) === index);
  $("quick-amounts").replaceChildren(...amounts.map((amount, index) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "secondary";
    button.textContent = index === 0 ? `${t("exact")} ${yuan(amount)}` : yuan(amount);
    button.dataset.amount = amount;
    button.addEventListener("click", () => payCash(amount));
    return button;
  }));
  $("other-amount").value = (due / 100).toFixed(2);
  holdTender();
  $("split").replaceChildren(...state.split.map((payment, index) => {
    const row = document.createElement("div");
    row.dataset.method = payment.method;
    row.append(span(`${payment.label || t(`tender_${payment.method}`)} ${payment.reference || ""}`),
               span(yuan(payment.amount)));
    // a paid scan payment has taken the money: it is undone by its own cancel, not struck off the list
    if (!payment.scan) {
      row.append(lineButton("×", t("remove"), "remove", () => { state.split.splice(index, 1); renderTender(); }));
    }
    return row;
  }));
}

// With a member on the sale: what the points can pay, and the member's coupons usable today, one tap each.
function renderMemberTenders() {
  const card = state.sale.member && state.card;
  $("member-tenders").hidden = !card;
  if (!card) return;
  $("points-worth").textContent = `${t("points")} ${card.points.balance} = ${yuan(card.points.worth)}`;
  $("coupon-choices").replaceChildren(...card.coupons.map((coupon) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "secondary";
    button.dataset.code = coupon.code;
    button.textContent = coupon.name;
    button.addEventListener("click", () => {
      $("other-reference").value = coupon.code;
      addOtherTender(OTHER_TENDERS.find((tender) => tender.method === "coupon"));
    });
    return button;
  }));
}

async function addOtherTender(tender) {
  say("tender", "");
  let amount = fenOf($("other-amount").value);
  const reference = $("other-reference").value.trim();
  let label = null;
  if (tender.reference && !reference) return say("tender", t(tender.method === "coupon" ? "coupon_code_needed"
                                                                                          : "reference_needed"));
  if (tender.method === "coupon") {
    if (state.split.some((payment) => payment.method === "coupon" && payment.reference === reference)) return;
    try {
      const coupon = await api("GET", `/sales/${state.sale.id}/coupons/${encodeURIComponent(reference)}`);
      [amount, label] = [coupon.worth, `${t("tender_coupon")} ${coupon.name}`];
    } catch (error) { return say("tender", explain(error)); }
  }
  if (!amount || amount > remaining()) return say("tender", `${t("amount")}: ${yuan(1)} … ${yuan(remaining())}`);
  state.split.push({ method: tender.method, amount, ...(tender.reference ? { reference } : {}),
                     ...(label ? { label } : {}) });
  $("other-reference").value = "";
  if (remaining() === 0) return complete([]);
  renderTender();
}

// A payment code at the tender step pays the amount in the amount box (what is left, unless typed smaller):
// part of a split, the rest by another tender.
async function payByCode(code) {
  const amount = fenOf($("other-amount").value) || remaining();
  try {
    followPayment(await api("POST", `/sales/${state.sale.id}/payments`, { code, amount }));
  } catch (error) { say("tender", explain(error)); }
}

// A payment code at the lane's own scanner (through the gateway) pays by the same rule: the lane socket is told the
// amount in the box for this sale as shown (null once off the tender step), each time it changes.
function holdTender() {
  const sale = state.sale;
  const amount = state.screen === "tender" && sale && sale.status === "open"
    ? fenOf($("other-amount").value) || remaining() || null : null;
  const held = amount === null ? state.held && { ...state.held, amount: null }
                               : { sale_id: sale.id, total: sale.total, amount };
  const socket = state.socket;
  if (!held || JSON.stringify(held) === JSON.stringify(state.held)) return;
  if (!socket || socket.readyState !== WebSocket.OPEN) return; // the socket's open sends it
  socket.send(JSON.stringify({ type: "tender", ...held }));
  state.held = amount === null ? null : held;
}

// A paid scan payment is kept by the server until the sale completes: after a reload it joins the split again.
async function takeBackPaidScans() {
  const saleId = state.sale.id;
  try {
    const answer = await api("GET", `/sales/${saleId}/payments`);
    if (!state.sale || state.sale.id !== saleId) return;
    answer.payments.filter((payment) => payment.state === "paid").forEach(keepPaidScan);
    renderTender();
  } catch (error) { say("tender", explain(error)); }
}

function keepPaidScan(payment) {
  if (state.split.some((row) => row.reference === payment.id)) return;
  state.split.push({ method: payment.provider, amount: payment.amount, reference: payment.id,
                     label: payment.provider_label, scan: true });
}

function backToCart() {
  if (state.payment && !FINAL_PAYMENT.has(state.payment.state)) return; // a payment in flight: cancel it first
  show("cart");
}

function payCash(amount) {
  return complete([{ method: "cash", amount }]);
}

// The tenders taken so far plus the last one, in one request: the server checks them all, or takes none.
async function complete(last) {
  say("tender", "");
  try {
    const sale = await api("POST", `/sales/${state.sale.id}/complete`,
                           { payments: [...state.split.map(({ label, scan, ...payment }) => payment), ...last] });
    state.split = Object.assign([], { saleId: null });
    $("member-pin-box").hidden = true;
    finished(sale);
  } catch (error) {
    say("tender", explain(error));
    if (MEMBER_PIN_ASKED.has(error.code)) askMemberPin(last);
  }
}

// Stored value above the configured amount needs the member's own payment PIN, typed by the customer.
const MEMBER_PIN_ASKED = new Set(["payment_pin_required", "payment_pin_wrong"]);

function askMemberPin(last) {
  state.pinLast = last;
  $("member-pin").value = "";
  $("member-pin-box").hidden = false;
  $("member-pin").focus();
}

function payWithMemberPin(event) {
  event.preventDefault();
  const pin = $("member-pin").value;
  $("member-pin").value = "";
  state.split.filter((payment) => payment.method === "stored_value").forEach((payment) => { payment.pin = pin; });
  complete(state.pinLast || []);
}

function finished(sale) {
  state.sale = sale;
  state.payment = null;
  say("done", "");
  $("done-receipt").textContent = sale.receipt_no;
  $("done-change").textContent = yuan(sale.change || 0);
  show("done");
  $("next-sale").focus();
}

function nextSale() {
  state.sale = null;
  renderSale();
  show("cart");
}

function renderPayment(payment) {
  const box = $("payment");
  box.hidden = false;
  box.className = `payment ${payment.state}`;
  $("payment-provider").textContent = payment.provider_label;
  $("payment-amount").textContent = yuan(payment.amount);
  $("payment-code-masked").textContent = payment.code;
  const words = { paying: t("waiting_customer"), paid: t("paid"), failed: t("payment_failed") };
  $("payment-state").textContent = `${words[payment.state] || payment.state} — ${payment.message}`;
  $("payment-state").dataset.state = payment.state;
  $("payment-notice").textContent = payment.simulator_notice || "";
  $("payment-cancel").hidden = FINAL_PAYMENT.has(payment.state);
}

// Long-polls the attempt until it is final; the sale completes by itself once its payments cover the total.
async function followPayment(payment) {
  state.payment = payment;
  renderPayment(payment);
  while (state.payment && state.payment.id === payment.id && !FINAL_PAYMENT.has(payment.state)) {
    try {
      payment = await api("GET", `/payments/${payment.id}?wait_ms=${PAYMENT_WAIT_MS}`);
    } catch (error) {
      if (!(error instanceof Offline)) { say("tender", explain(error)); return; }
      await new Promise((resolve) => setTimeout(resolve, 1000));
      continue;
    }
    if (!state.payment || state.payment.id !== payment.id) return;
    state.payment = payment;
    renderPayment(payment);
  }
  if (payment.state === "paid") {
    const sale = await api("GET", `/sales/${payment.sale_id}`);
    if (sale.status === "completed") return finished(sale);
    state.sale = sale;
    keepPaidScan(payment); // part of a split: the rest is still to pay
    if (remaining() === 0) return complete([]);
    renderSale();
  }
}

async function cancelPayment() {
  if (!state.payment) return;
  try {
    renderPayment(await api("POST", `/payments/${state.payment.id}/cancel`));
  } catch (error) { say("tender", explain(error)); }
}
