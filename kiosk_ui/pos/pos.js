// The cashier tablet: pairing, PIN login, shift, cart, the lane socket, the keyboard; the tender step is in tender.js
// and the desk work (price changes, cash in/out, refunds) in desk.js. Carts live on the server; this page shows them.
"use strict";

const $ = (id) => document.getElementById(id);
const SCREENS = ["pair", "login", "shift", "cart", "tender", "done", "close", "refund", "invoice"];
const FINAL_PAYMENT = new Set(["paid", "failed", "reversed"]);
// A keyboard-wedge scanner types a whole code within a few ms per key; a person is much slower.
const WEDGE_GAP_MS = 50;
const WEDGE_MIN_LENGTH = 6;

const state = { screen: null, shift: null, sale: null, payment: null, socket: null, card: null, split: [],
                editing: null, refundSale: null, pinLast: null, held: null };

function show(screen) {
  state.screen = screen;
  SCREENS.forEach((name) => { $(`screen-${name}`).hidden = name !== screen; });
  $("logout").hidden = !Stored.get("session") || screen === "pair" || screen === "login";
  $("close-shift").hidden = screen !== "cart";
  const focus = { login: "pin", cart: "scan-input", tender: "payment-code" }[screen];
  if (focus) $(focus).focus();
  holdTender();
}

function say(where, text) { $(`${where}-message`).textContent = text || ""; }

// The server's refusal in the screen's language: its error code looked up in the catalogue (error_<code>), the
// server's own words when the catalogue has none; the field at fault after it.
function explain(error) {
  const key = `error_${error.code}`;
  const text = error.code && t(key) !== key ? t(key) : error.message;
  return error.field ? `${text} (${error.field})` : text;
}

// -- pairing: request a code, show it, wait for a manager's approval --------------------------------------------------

const pairing = new Pairing("terminal");

const { start: startPairing, wait: waitForApproval } = pairingScreen(pairing, {
  show, begin, say: (text) => say("pair", text), explain,
});

// -- login and shift ---------------------------------------------------------------------------------------------------

async function logIn(event) {
  event.preventDefault();
  say("login", "");
  try {
    const answer = await api("POST", "/auth/login", { pin: $("pin").value });
    Stored.set("session", { token: answer.token, staff: answer.staff });
    $("pin").value = "";
    await afterLogin();
  } catch (error) {
    $("pin").value = "";
    if (error.status === 401) return unpaired();
    say("login", explain(error));
  }
}

function unpaired() {
  Stored.set("device", null);
  Stored.set("session", null);
  begin();
}

async function logOut() {
  try { await api("POST", "/auth/logout", undefined, { key: null }); } catch { /* the session ends here anyway */ }
  Stored.set("session", null);
  begin();
}

async function afterLogin() {
  const device = Stored.get("device");
  const session = Stored.get("session");
  $("who").textContent = `${session.staff.name} · ${t("lane")} ${device.lane ?? "-"}`;
  try {
    state.shift = await api("GET", "/shifts/current");
  } catch (error) {
    if (error.status === 401) return sessionEnded();
    if (error.status === 404) return show("shift");
    throw error;
  }
  await openCart();
}

function sessionEnded() {
  Stored.set("session", null);
  show("login");
}

async function openShift(event) {
  event.preventDefault();
  say("shift", "");
  const fen = fenOf($("opening-float").value);
  if (fen === null) return say("shift", `${t("opening_float")}: 0.00`);
  try {
    state.shift = await api("POST", "/shifts", { opening_float: fen });
    await openCart();
  } catch (error) { say("shift", explain(error)); }
}

// Closing the shift (交班): a blind count, then the Z report's cash lines.
function showClose() {
  say("close", "");
  $("counted").value = "";
  $("z-report").hidden = true;
  $("close-form").hidden = false;
  show("close");
  $("counted").focus();
}

async function closeShift(event) {
  event.preventDefault();
  say("close", "");
  const fen = fenOf($("counted").value);
  if (fen === null) return say("close", `${t("counted")}?`);
  try {
    const report = await api("POST", `/shifts/${state.shift.id}/close`, { counted_cash: fen });
    const rows = [[t("sales_count"), String(report.sales.count)], [t("sales_net"), yuan(report.sales.net)],
                  [t("cash_expected"), yuan(report.cash.expected)], [t("counted"), yuan(report.cash.counted)],
                  [t("variance"), yuan(report.cash.variance)]];
    $("z-lines").replaceChildren(...rows.map(([name, value]) => {
      const row = document.createElement("div");
      row.append(span(name), span(value));
      return row;
    }));
    $("close-form").hidden = true;
    $("z-report").hidden = false;
    state.shift = null;
  } catch (error) { say("close", explain(error)); }
}

// -- the cart ----------------------------------------------------------------------------------------------------------

async function openCart() {
  await reloadSale();
  show("cart");
  connectLane();
}

async function reloadSale() {
  try {
    state.sale = await api("GET", "/sales/current");
  } catch (error) {
    if (error.status === 401) return sessionEnded();
    if (error.status !== 404) throw error;
    state.sale = null;
  }
  renderSale();
}

async function saleForScanning() {
  if (!state.sale || state.sale.status !== "open") {
    try {
      state.sale = await api("POST", "/sales", {});
    } catch (error) {
      if (error.status !== 409) throw error;
      state.sale = await api("GET", "/sales/current"); // the lane's scanner opened one first
    }
  }
  return state.sale;
}

// -- product search (name or SKU) ----------------------------------------------------------------------------------

let searchTimer = null;

function searchSoon() {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(search, 250);
}

async function search() {
  const text = $("search-input").value.trim();
  if (!text) return $("search-results").replaceChildren();
  try {
    const answer = await api("GET", `/products?q=${encodeURIComponent(text)}&limit=8`);
    if ($("search-input").value.trim() !== text) return; // typed on meanwhile
    $("search-results").replaceChildren(...answer.products.map((product) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "secondary";
      button.dataset.sku = product.sku;
      button.append(span(product.name), span(` ${yuan(product.price)}`, "detail"));
      button.addEventListener("click", () => addBySku(product.sku));
      return button;
    }));
  } catch (error) { say("cart", explain(error)); }
}

async function addBySku(sku) {
  say("cart", "");
  try {
    const sale = await saleForScanning();
    state.sale = await api("POST", `/sales/${sale.id}/lines`, { sku });
    renderSale();
    $("search-input").value = "";
    $("search-results").replaceChildren();
  } catch (error) { say("cart", explain(error)); }
  $("scan-input").focus();
}

// -- void (作废): a sale with lines needs a manager's PIN -------------------------------------------------------

function showVoid() {
  if (!state.sale || state.sale.status !== "open") return;
  $("void-pin").value = "";
  $("void-box").hidden = false;
  $("void-pin").focus();
}

async function voidSale(event) {
  event.preventDefault();
  say("cart", "");
  const body = { reason: $("void-reason").value.trim() || t("void") };
  if (state.sale.lines.length > 0) body.approval = { pin: $("void-pin").value };
  try {
    await api("POST", `/sales/${state.sale.id}/void`, body);
    state.sale = null;
    $("void-box").hidden = true;
    renderSale();
    $("scan-input").focus();
  } catch (error) {
    $("void-pin").value = "";
    say("cart", explain(error));
  }
}

// -- suspend (挂单) and resume (取单) ----------------------------------------------------------------------------

async function suspendSale() {
  if (!state.sale) return;
  say("cart", "");
  try {
    await api("POST", `/sales/${state.sale.id}/suspend`);
    state.sale = null;
    renderSale();
  } catch (error) { say("cart", explain(error)); }
  $("scan-input").focus();
}

async function listSuspended() {
  say("cart", "");
  try {
    const answer = await api("GET", "/sales?status=suspended");
    $("suspended").replaceChildren(...answer.sales.map((sale) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "secondary";
      button.dataset.saleId = sale.id;
      const items = sale.lines.map((line) => line.name).join("、");
      button.textContent = `${sale.opened_at.slice(11, 16)} · ${items} · ${yuan(sale.total)}`;
      button.addEventListener("click", () => resumeSale(sale.id));
      return button;
    }));
    $("suspended-box").hidden = false;
    if (answer.sales.length === 0) say("cart", t("none_suspended"));
  } catch (error) { say("cart", explain(error)); }
}

async function resumeSale(saleId) {
  try {
    if (state.sale && state.sale.status === "open" && state.sale.lines.length === 0) {
      // an empty sale cannot be suspended; voiding it (no manager needed when empty) frees the terminal
      await api("POST", `/sales/${state.sale.id}/void`, { reason: "empty sale, replaced by a resumed one" });
    }
    state.sale = await api("POST", `/sales/${saleId}/resume`);
    $("suspended-box").hidden = true;
    renderSale();
  } catch (error) { say("cart", explain(error)); }
  $("scan-input").focus();
}

// One rule for the tablet's scan box, a wedge scanner and the tender step: the server tells item, member or payment.
async function scanCode(code) {
  code = code.trim();
  if (!code) return;
  const where = state.screen === "tender" ? "tender" : "cart";
  say(where, "");
  if (where === "tender") return payByCode(code);
  try {
    const sale = await saleForScanning();
    const answer = await api("POST", `/sales/${sale.id}/scan`, { code });
    state.sale = answer.sale;
    renderSale();
    if (answer.kind === "payment") {
      showTender();
      followPayment(answer.payment);
    }
  } catch (error) { say(where, explain(error)); }
}

function renderSale() {
  const sale = state.sale;
  const lines = sale ? sale.lines : [];
  const promotions = sale ? sale.promotions : [];
  $("cart-empty").hidden = lines.length > 0;
  $("lines").replaceChildren(...lines.map((line) => lineItem(line, promotions)));
  $("lines").dataset.items = lines.reduce((sum, line) => sum + (line.sold_by === "weight" ? 1 : line.qty), 0);
  $("promotions-box").hidden = promotions.length === 0;
  $("promotions").replaceChildren(...promotions.map((promotion) => {
    const item = document.createElement("li");
    item.className = "promo";
    item.dataset.promotionId = promotion.id;
    item.append(span(promotion.label), span(yuan(-promotion.amount)));
    return item;
  }));
  $("subtotal").textContent = yuan(sale ? sale.subtotal : 0);
  $("discount-total").textContent = yuan(sale ? -sale.discount_total : 0);
  $("total").textContent = yuan(sale ? sale.total : 0);
  if (state.screen === "tender" && sale && sale.status === "open") renderTender();
  const member = sale && sale.member;
  $("member-card").textContent = member ? `${member.name_masked || ""} ${member.phone_masked} · ${member.code}`
                                        : t("no_member");
  if (!member) {
    state.card = null;
    $("member-details").hidden = true;
    memberInsight.hide();
  } else if (!state.card || state.card.member.id !== member.id) {
    loadCard(member.id);
  }
}

// The member card: level, stored value, points, usable coupons and a birthday this week.
async function loadCard(memberId) {
  try {
    state.card = await api("GET", `/members/${memberId}/card`);
  } catch (error) { return say("cart", explain(error)); }
  const card = state.card;
  const facts = [
    [t("level"), card.level.name],
    [t("stored_value"), yuan(card.stored_value.total)],
    [t("points"), String(card.points.balance)],
    [t("coupons"), card.coupons.length ? card.coupons.map((c) => c.name).join("、") : "-"],
  ];
  if (card.birthday.this_week) facts.push([t("birthday"), `${card.birthday.on} 🎂`]);
  $("member-details").replaceChildren(...facts.map(([name, value]) => {
    const row = document.createElement("div");
    row.append(span(name), span(value));
    return row;
  }));
  $("member-details").hidden = false;
  memberInsight.show(memberId);
}

function span(text, className) {
  const element = document.createElement("span");
  element.textContent = text;
  if (className) element.className = className;
  return element;
}

function lineItem(line, promotions) {
  const item = document.createElement("li");
  item.dataset.lineId = line.id;
  const qty = line.sold_by === "weight" ? `${line.qty} g` : `${line.qty}`;
  item.append(span(line.name, "name"), span(yuan(line.gross), "amount"),
              span(`${qty} × ${yuan(line.unit_price)}`, "detail"), span(""));
  if (line.promo_discount > 0) {
    // every promotion that took something off this line, by name: the customer asks "why this price?"
    const labels = promotions.filter((p) => p.lines && p.lines[line.id]).map((p) => p.label).join("、");
    item.append(span(`${t("promotions")}: ${labels}`, "promo"), span(yuan(-line.promo_discount), "promo amount"));
  }
  const controls = document.createElement("div");
  controls.className = "line-controls";
  if (line.sold_by !== "weight") {
    controls.append(lineButton("−", t("fewer"), "fewer", () => changeQty(line, line.qty - 1)),
                    lineButton("+", t("more"), "more", () => changeQty(line, line.qty + 1)));
  }
  controls.append(lineButton(t("edit_price"), t("edit_price"), "edit", () => showLineEdit(line)),
                  lineButton(t("remove"), t("remove"), "remove", () => removeLine(line)));
  item.append(controls);
  return item;
}

function lineButton(text, label, action, onClick) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "secondary";
  button.textContent = text;
  button.dataset.action = action;
  button.setAttribute("aria-label", label);
  button.addEventListener("click", onClick);
  return button;
}

async function editLine(method, line, body) {
  say("cart", "");
  try {
    state.sale = await api(method, `/sales/${state.sale.id}/lines/${line.id}`, body);
    renderSale();
  } catch (error) { say("cart", explain(error)); }
  $("scan-input").focus();
}

function changeQty(line, qty) {
  return qty < 1 ? removeLine(line) : editLine("PATCH", line, { qty });
}

function removeLine(line) {
  return editLine("DELETE", line);
}

async function attachMember(event) {
  event.preventDefault();
  say("cart", "");
  try {
    const sale = await saleForScanning();
    state.sale = await api("POST", `/sales/${sale.id}/member`, { phone: $("member-phone").value.trim() });
    $("member-phone").value = "";
    renderSale();
  } catch (error) { say("cart", explain(error)); }
  $("scan-input").focus();
}

// -- the lane's socket: the lane's own scanner fills this cart -----------------------------------------------------

function connectLane() {
  const device = Stored.get("device");
  if (!device || device.lane == null || state.socket) return;
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const socket = new WebSocket(`${scheme}//${location.host}/ws/lane/${device.lane}?token=${encodeURIComponent(device.token)}`);
  state.socket = socket;
  socket.addEventListener("open", () => { state.held = null; holdTender(); }); // a new socket holds nothing yet
  socket.addEventListener("message", (event) => fromLane(JSON.parse(event.data)));
  socket.addEventListener("close", () => {
    state.socket = null;
    state.held = null;
    // the server went away (or restarted): the banner shows until it answers, then the socket reopens
    if (Stored.get("session")) Connection.lost();
  });
}

function fromLane(message) {
  if (message.type === "scan.rejected") return say(state.screen === "tender" ? "tender" : "cart", message.message);
  if (message.type === "tender.held") $("other-amount").dataset.held = message.amount ?? "";
  if (!message.type.startsWith("cart.") || !message.sale) return;
  state.sale = message.sale;
  renderSale();
  if (state.screen === "done") show("cart"); // the lane's scanner started the next customer's sale
  if (message.type === "cart.payment") {
    showTender();
    followPayment(message.payment);
  }
}

Connection.onBack(async () => {
  if (!Stored.get("session")) return;
  if (["cart", "tender"].includes(state.screen)) await reloadSale();
  if (state.payment && !FINAL_PAYMENT.has(state.payment.state)) followPayment(state.payment);
  connectLane();
});

// -- keyboard: a wedge scanner anywhere, and shortcuts on a desktop -------------------------------------------------

const wedge = { chars: "", last: 0, target: null, before: "" };
const SCAN_BOXES = new Set(["scan-input", "payment-code"]);

function onKey(event) {
  const now = performance.now();
  if (event.key.length === 1 && !event.ctrlKey && !event.metaKey && !event.altKey) {
    if (now - wedge.last > WEDGE_GAP_MS || wedge.target !== event.target) {
      wedge.chars = "";
      wedge.target = event.target;
      wedge.before = "value" in event.target ? event.target.value : "";
    }
    wedge.chars += event.key;
    wedge.last = now;
    return;
  }
  if (event.key === "Enter") {
    const burst = wedge.chars.length >= WEDGE_MIN_LENGTH && now - wedge.last <= WEDGE_GAP_MS * 3;
    const code = wedge.chars;
    wedge.chars = "";
    if (burst && !SCAN_BOXES.has(event.target.id) && ["cart", "tender", "done"].includes(state.screen)) {
      // a scan that landed in another field (or nowhere): take it back out and scan it; on the change screen
      // it is the next customer's first item
      event.preventDefault();
      event.stopPropagation();
      if ("value" in event.target) event.target.value = wedge.before;
      if (state.screen === "done") nextSale();
      scanCode(code);
      return;
    }
    if (state.screen === "done" && event.target.id !== "next-sale") { event.preventDefault(); nextSale(); }
    return;
  }
  if (event.key === "F2" && state.screen === "cart") { event.preventDefault(); showTender(); }
  if (event.key === "Escape" && state.screen === "tender") { event.preventDefault(); backToCart(); }
  if (event.key === "Escape" && state.screen === "cart") {
    ["void-box", "line-box", "cash-box"].forEach((id) => { $(id).hidden = true; });
  }
  if (event.key === "Escape" && state.screen === "refund") { event.preventDefault(); show("cart"); }
  if (event.key === "Escape" && state.screen === "invoice") { event.preventDefault(); $("invoice-back").click(); }
}

// -- start -------------------------------------------------------------------------------------------------------

function buildKeypad() {
  const keys = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "C", "0", "⌫"];
  $("pin-keypad").replaceChildren(...keys.map((key) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "secondary";
    button.textContent = key;
    button.setAttribute("aria-label", key === "C" ? t("clear") : key === "⌫" ? "backspace" : key);
    button.addEventListener("click", () => {
      const pin = $("pin");
      pin.value = key === "C" ? "" : key === "⌫" ? pin.value.slice(0, -1) : (pin.value + key).slice(0, 8);
    });
    return button;
  }));
}

// The pairing link `storeedge devices pair-qr` prints: /pos?pair=<store id>, the store the tablet is meant for.
let pairLink = new URLSearchParams(location.search).get("pair");

// A link naming another store (the tablet reached the wrong box) is refused, and again on a reload. One naming this
// store is used once: an unpaired tablet asks for its code straight away, with the name already in the form.
async function followPairLink() {
  let here = null;
  try {
    here = (await api("GET", "/health")).store_id;
  } catch { /* the box does not answer yet: pairing waits for a person, as without the link */ }
  if (here !== null && here !== pairLink) {
    $("pair-ask").hidden = true;
    $("pair-wait").hidden = true;
    show("pair");
    return say("pair", t("pair_wrong_store").replace("{link}", pairLink).replace("{here}", here));
  }
  pairLink = null;
  history.replaceState(null, "", location.pathname);
  if (here !== null && !pairing.pending && !pairing.device) return startPairing();
  return begin();
}

async function begin() {
  if (pairLink !== null) return followPairLink();
  if (pairing.pending) return waitForApproval();
  if (!pairing.device) {
    $("pair-ask").hidden = false;
    $("pair-wait").hidden = true;
    return show("pair");
  }
  if (!Stored.get("session")) return show("login");
  try {
    await afterLogin();
  } catch (error) {
    if (error instanceof Offline) Connection.onBack(() => state.screen === null && begin());
  }
}

function wire() {
  translatePage();
  buildKeypad();
  $("language").addEventListener("click", () => { switchLanguage(); renderSale(); });
  $("logout").addEventListener("click", logOut);
  $("pair-start").addEventListener("click", startPairing);
  $("login-form").addEventListener("submit", logIn);
  $("shift-form").addEventListener("submit", openShift);
  $("scan-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const code = $("scan-input").value;
    $("scan-input").value = "";
    scanCode(code);
  });
  $("code-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const code = $("payment-code").value;
    $("payment-code").value = "";
    scanCode(code);
  });
  $("member-form").addEventListener("submit", attachMember);
  $("void").addEventListener("click", showVoid);
  $("void-form").addEventListener("submit", voidSale);
  $("void-cancel").addEventListener("click", () => { $("void-box").hidden = true; $("scan-input").focus(); });
  $("close-shift").addEventListener("click", showClose);
  $("close-back").addEventListener("click", () => show("cart"));
  $("close-form").addEventListener("submit", closeShift);
  $("close-done").addEventListener("click", logOut);
  $("search-input").addEventListener("input", searchSoon);
  $("suspend").addEventListener("click", suspendSale);
  $("resume").addEventListener("click", listSuspended);
  $("to-tender").addEventListener("click", showTender);
  $("tender-back").addEventListener("click", backToCart);
  $("other-amount").addEventListener("input", holdTender);
  $("cash-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const fen = fenOf($("tendered").value);
    if (fen === null) return say("tender", `${t("tendered")}?`);
    payCash(fen);
  });
  $("payment-cancel").addEventListener("click", cancelPayment);
  $("other-tenders").replaceChildren(...OTHER_TENDERS.map((tender) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "secondary";
    button.dataset.method = tender.method;
    button.dataset.t = `tender_${tender.method}`;
    button.addEventListener("click", () => addOtherTender(tender));
    return button;
  }));
  translatePage($("other-tenders"));
  $("next-sale").addEventListener("click", nextSale);
  $("reprint").addEventListener("click", () => reprint(state.sale.id, "done"));
  $("member-pin-box").addEventListener("submit", payWithMemberPin);
  $("line-form").addEventListener("submit", applyLineEdit);
  $("line-cancel").addEventListener("click", () => { $("line-box").hidden = true; $("scan-input").focus(); });
  $("to-cash").addEventListener("click", showCashBox);
  $("to-sale-discount").addEventListener("click", () => showLineEdit(null));
  $("cash-move-form").addEventListener("submit", recordCash);
  $("cash-cancel").addEventListener("click", () => { $("cash-box").hidden = true; $("scan-input").focus(); });
  $("to-refund").addEventListener("click", showRefund);
  $("refund-find").addEventListener("submit", findRefundSale);
  $("refund-form").addEventListener("submit", refundSale);
  $("refund-reprint").addEventListener("click", () => reprint(state.refundSale.id, "refund"));
  $("refund-back").addEventListener("click", () => show("cart"));
  $("to-invoice").addEventListener("click", () => showInvoice());
  $("done-invoice").addEventListener("click", () => showInvoice(state.sale.receipt_no));
  $("invoice-form").addEventListener("submit", requestInvoice);
  $("invoice-status").addEventListener("click", invoiceStatus);
  $("invoice-receipt").addEventListener("keydown", (event) => {
    // a receipt's QR code scanned (or its number typed) ends with Enter: show what was asked for it so far
    if (event.key !== "Enter") return;
    event.preventDefault();
    invoiceStatus();
    $("invoice-title").focus();
  });
  $("invoice-back").addEventListener("click", () => (state.sale && state.sale.status === "completed" ? nextSale()
                                                                                                     : show("cart")));
  document.querySelectorAll("input[name=invoice-buyer]").forEach((radio) => radio.addEventListener("change", () => {
    $("invoice-taxpayer").disabled = invoiceBuyer() !== "company";
  }));
  document.addEventListener("keydown", onKey, true);
  begin();
}

wire();
