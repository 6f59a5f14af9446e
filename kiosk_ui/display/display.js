// The customer display: follows one lane's sale live over the lane socket; shows offers while nobody is paying.
"use strict";

const $ = (id) => document.getElementById(id);
const SCREENS = ["pair", "idle", "cart", "done"];
const OFFER_EVERY_MS = 5000;
const DONE_FOR_MS = 30000; // the change stays up until the next customer's first item, or this long
const pairing = new Pairing("display"); // kept under the display's own names (Stored), apart from a tablet's
const state = { socket: null, sale: null, offers: [], offer: 0, offerTimer: null, doneTimer: null };

function show(screen) {
  SCREENS.forEach((name) => { $(`screen-${name}`).hidden = name !== screen; });
  document.body.dataset.screen = screen;
}

function span(text, className) {
  const element = document.createElement("span");
  element.textContent = text;
  if (className) element.className = className;
  return element;
}

// -- pairing ---------------------------------------------------------------------------------------------------

const { start: startPairing, wait: waitForApproval } = pairingScreen(pairing, {
  show, begin, say: (text) => ($("pair-message").textContent = text),
});

// -- the lane ------------------------------------------------------------------------------------------------

function connectLane() {
  const device = pairing.device;
  if (state.socket) return;
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const socket = new WebSocket(`${scheme}//${location.host}/ws/lane/${device.lane}?token=${encodeURIComponent(device.token)}`);
  state.socket = socket;
  socket.addEventListener("message", (event) => fromLane(JSON.parse(event.data)));
  socket.addEventListener("close", (event) => {
    state.socket = null;
    if (event.code === 1008) { // the token was refused: this display was revoked, pair again
      pairing.forget();
      return begin();
    }
    Connection.lost(); // the banner shows until the server answers; then the socket reopens
  });
}

function fromLane(message) {
  if (message.type === "lane.state") {
    state.offers = message.promotions || [];
    return showSale(message.sale);
  }
  if (message.type === "sale.changed") showSale(message.sale);
  if (message.type === "promotions.changed") newOffers(message.promotions);
}

// The promotions in effect changed (one created, changed or ended, or its hours began): an idle display shows the
// new list at once, starting with an offer it did not have (or had under another label), never an ended one.
function newOffers(offers) {
  const shownAs = (offer) => `${offer.id}\n${offer.label}`;
  const known = new Set(state.offers.map(shownAs));
  const fresh = offers.findIndex((offer) => !known.has(shownAs(offer)));
  state.offers = offers;
  state.offer = Math.max(fresh, 0);
  if (document.body.dataset.screen !== "idle") return;
  stopOffers();
  showIdle();
}

// What the customer sees follows the sale: its cart while open, the change once paid, offers otherwise.
function showSale(sale) {
  state.sale = sale;
  clearTimeout(state.doneTimer);
  if (sale && sale.status === "completed") return showDone(sale);
  if (sale && sale.status === "open" && (sale.lines.length > 0 || sale.member)) return showCart(sale);
  showIdle();
}

function greeting(sale) {
  const member = sale && sale.member;
  return member ? t("hello_member").replace("{name}", member.name_masked || member.phone_masked) : "";
}

function showCart(sale) {
  stopOffers();
  $("greeting").textContent = greeting(sale);
  $("greeting").hidden = !sale.member;
  const promotions = sale.promotions || [];
  $("lines").replaceChildren(...sale.lines.map((line) => {
    const item = document.createElement("li");
    item.dataset.lineId = line.id;
    const qty = line.sold_by === "weight" ? `${line.qty} g` : `${line.qty}`;
    item.append(span(line.name, "name"), span(yuan(line.gross), "amount"),
                span(`${qty} × ${yuan(line.unit_price)}`, "detail"), span(""));
    if (line.promo_discount > 0) {
      const labels = promotions.filter((p) => p.lines && p.lines[line.id]).map((p) => p.label).join("、");
      item.append(span(labels, "promo"), span(yuan(-line.promo_discount), "promo amount"));
    }
    return item;
  }));
  $("promotions").replaceChildren(...promotions.map((promotion) => {
    const item = document.createElement("li");
    item.className = "promo";
    item.dataset.promotionId = promotion.id;
    item.append(span(promotion.label), span(yuan(-promotion.amount)));
    return item;
  }));
  $("subtotal").textContent = yuan(sale.subtotal);
  $("discount-total").textContent = yuan(sale.discount_total); // "you save": a positive amount
  $("total").textContent = yuan(sale.total);
  show("cart");
}

function showDone(sale) {
  stopOffers();
  $("done-greeting").textContent = greeting(sale);
  $("done-greeting").hidden = !sale.member;
  $("done-total").textContent = yuan(sale.total + (sale.rounding || 0));
  $("done-paid").textContent = yuan(sale.paid + sale.change);
  $("done-change").textContent = yuan(sale.change);
  show("done");
  state.doneTimer = setTimeout(showIdle, DONE_FOR_MS);
}

// Idle: the promotions any customer gets now, one after another.
function showIdle() {
  show("idle");
  $("idle-offers").hidden = state.offers.length === 0;
  if (state.offers.length === 0 || state.offerTimer) return;
  const next = () => {
    const offer = state.offers[state.offer % state.offers.length];
    $("idle-offer").textContent = offer.label;
    $("idle-offer").dataset.promotionId = offer.id;
    state.offer += 1;
  };
  next();
  state.offerTimer = setInterval(next, OFFER_EVERY_MS);
}

function stopOffers() {
  clearInterval(state.offerTimer);
  state.offerTimer = null;
}

Connection.onBack(() => { if (pairing.device) connectLane(); });

function begin() {
  if (pairing.pending) return waitForApproval();
  if (!pairing.device) {
    $("pair-ask").hidden = false;
    $("pair-wait").hidden = true;
    return show("pair");
  }
  if (pairing.device.lane == null) { // approved without a lane: nothing to follow; pair again onto one
    pairing.forget();
    $("pair-message").textContent = `${t("pair_rejected")}: ${t("lane")}?`;
    return begin();
  }
  showIdle();
  connectLane();
}

translatePage();
$("pair-start").addEventListener("click", startPairing);
begin();
