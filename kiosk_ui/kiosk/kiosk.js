// The self-service kiosk: join, sign in (phone + PIN or member card), one's own card and gifts, price check,
// e-invoice requests. After the idle time everything personal leaves the page and the member session ends.
"use strict";

const $ = (id) => document.getElementById(id);
const SCREENS = ["pair", "welcome", "join", "signin", "me", "pickup", "price", "invoice"];
const FIRST_INPUT = { join: "join-phone", signin: "signin-phone", price: "price-input", invoice: "invoice-receipt" };
// Where an error naming a field is shown, per screen: the server's field → the input.
const FIELDS = {
  join: { phone: "join-phone", pin: "join-pin", name: "join-name" },
  signin: { phone: "signin-phone", pin: "signin-pin", code: "signin-code" },
  me: { name: "details-name", birthday: "details-birthday", gender: "details-gender", pin: "pin-new",
        current_pin: "pin-current" },
  invoice: { receipt: "invoice-receipt", title: "invoice-title", taxpayer_id: "invoice-taxpayer",
             email: "invoice-email" },
  price: { barcode: "price-input" },
};

const MEMBER_CODE = /^[Mm]\d{12}$/;

const state = { screen: null, settings: null, idleTimer: null, me: null, messages: [], wedge: "" };

function show(screen) {
  state.screen = screen;
  SCREENS.forEach((name) => { $(`screen-${name}`).hidden = name !== screen; });
  $("home").hidden = screen === "pair" || screen === "welcome";
  $("signout").hidden = !Stored.get("session");
  if (FIRST_INPUT[screen]) $(FIRST_INPUT[screen]).focus();
  armIdle();
}

function say(where, text, good = false) {
  const box = $(`${where}-message`);
  box.textContent = text || "";
  box.classList.toggle("good", good);
}

// A refusal in the kiosk's language where the catalogue knows its code, else the server's own words.
function explain(error) {
  const known = error.code && CATALOGUE[language][`error_${error.code}`];
  return known || error.message;
}

function refused(where, error) {
  if (error.status === 401 && (error.code || "").startsWith("member_session")) return reset();  // ended or expired
  Object.values(FIELDS[where] || {}).forEach((id) => $(id).removeAttribute("aria-invalid"));
  const input = error.field && (FIELDS[where] || {})[error.field.split(".")[0]];
  if (input) {
    $(input).setAttribute("aria-invalid", "true");
    $(input).focus();
  }
  say(where, explain(error));
}

// -- pairing: as the cashier's tablet does, as a device of kind "kiosk" ----------------------------------------------

const pairing = new Pairing("kiosk");

const { start: startPairing, wait: waitForApproval } = pairingScreen(pairing, {
  show, begin, say: (text) => say("pair", text), explain,
});

function unpaired() {
  Stored.set("device", null);
  Stored.set("session", null);
  begin();
}

// -- idle: after the idle time the screen forgets everything personal and the session ends on the server ----------

function armIdle() {
  clearTimeout(state.idleTimer);
  const idle = state.settings ? state.settings.idle_seconds : 60;
  if (state.screen === "pair" || (state.screen === "welcome" && !Stored.get("session"))) return;
  state.idleTimer = setTimeout(reset, idle * 1000);
}

async function reset() {
  clearTimeout(state.idleTimer);
  if (Stored.get("session")) {
    try { await api("DELETE", "/kiosk/session"); } catch { /* it expires on the server by itself */ }
  }
  Stored.set("session", null);
  forgetPersonal();
  show("welcome");
}

function forgetPersonal() {
  state.me = null;
  state.messages = [];
  state.wedge = "";
  document.querySelectorAll("form").forEach((form) => form.reset());
  document.querySelectorAll("[aria-invalid]").forEach((input) => input.removeAttribute("aria-invalid"));
  ["me-messages", "me-card", "me-coupons", "me-pending", "gifts", "pickup-gift", "pickup-code", "pickup-qr",
   "pickup-slip", "price-name", "price-price", "price-member", "invoice-result"].forEach((id) => { $(id).replaceChildren(); });
  document.querySelectorAll(".message").forEach((box) => { box.textContent = ""; });
  $("price-result").hidden = true;
  $("me-messages-box").hidden = true;
  $("withdraw-confirm").hidden = true;
}

// -- joining and signing in ------------------------------------------------------------------------------------------

function showJoin() {
  const notice = state.settings.privacy_notice;
  $("notice").textContent = notice.text;
  $("marketing-text").textContent = notice.purposes.marketing || "";
  $("join-marketing").parentElement.hidden = !notice.purposes.marketing;
  show("join");
}

async function join(event) {
  event.preventDefault();
  say("join", "");
  const notice = state.settings.privacy_notice;
  const purposes = ["membership"].concat($("join-marketing").checked ? ["marketing"] : []);
  const body = { phone: $("join-phone").value.trim(), pin: $("join-pin").value,
                 consent: { notice_version: notice.version, agreed: $("join-agree").checked, purposes } };
  if ($("join-name").value.trim()) body.name = $("join-name").value.trim();
  try {
    signedIn(await api("POST", "/kiosk/members", body, { key: null }));
  } catch (error) { refused("join", error); }
}

async function signIn(event) {
  event.preventDefault();
  say("signin", "");
  const body = { phone: $("signin-phone").value.trim() };
  const code = $("signin-code").value.trim();
  if (code) body.code = code; else body.pin = $("signin-pin").value;
  if (!code && !body.pin) return say("signin", t("kiosk_pin_missing"));
  try {
    signedIn(await api("POST", "/kiosk/sessions", body, { key: null }));
  } catch (error) {
    $("signin-pin").value = "";
    $("signin-code").value = "";
    refused("signin", error);
  }
}

async function signedIn(answer) {
  Stored.set("session", { token: answer.token });
  document.querySelectorAll("#join-form, #signin-form").forEach((form) => form.reset());
  await showMe();
}

// -- the member's own card -------------------------------------------------------------------------------------------

async function showMe() {
  try {
    state.me = await api("GET", "/kiosk/me");
    state.settings = await api("GET", "/kiosk/settings");
  } catch (error) {
    if (error.status === 401) return reset();
    throw error;
  }
  renderMe();
  show("me");
  await showMessages();
}

// The marketing messages waiting for the member (a welcome flow's greeting…): once on screen each is marked shown,
// so the server does not offer it again; this session keeps showing it until the member leaves or the page resets.
async function showMessages() {
  let waiting;
  try {
    waiting = (await api("GET", "/kiosk/me/messages")).messages;
  } catch (error) {
    if (error.status === 401) return reset();
    return;  // the card works without its messages
  }
  const known = new Set(state.messages.map((m) => m.id));
  state.messages.push(...waiting.filter((m) => !known.has(m.id)));
  renderMessages();
  for (const message of waiting) {
    try { await api("POST", `/kiosk/me/messages/${message.id}/shown`); } catch { /* offered again next time */ }
  }
}

function renderMessages() {
  $("me-messages").replaceChildren(...state.messages.map((m) => {
    const li = item(m.text);
    li.dataset.messageId = m.id;
    return li;
  }));
  $("me-messages-box").hidden = state.messages.length === 0;
}

function row(label, value) {
  const div = document.createElement("div");
  const name = document.createElement("span");
  const shown = document.createElement("strong");
  name.textContent = label;
  shown.textContent = value;
  div.append(name, shown);
  return div;
}

function item(text) {
  const li = document.createElement("li");
  li.textContent = text;
  return li;
}

function renderMe() {
  const me = state.me;
  $("me-card").replaceChildren(
    row(t("member"), me.member.code), row(t("kiosk_phone"), me.details.phone_masked),
    row(t("level"), me.level.name), row(t("points"), String(me.points.balance)),
    row(t("stored_value"), yuan(me.stored_value.total)));
  $("me-coupons").replaceChildren(...(me.coupons.length ? me.coupons.map((c) => item(`${c.name} · ${c.valid_to}`))
                                                         : [item(t("kiosk_none"))]));
  $("me-pending").replaceChildren(...(me.gift_redemptions.length
    ? me.gift_redemptions.map((r) => item(`${r.gift} × ${r.qty} · ${r.code}`)) : [item(t("kiosk_none"))]));
  $("gifts").replaceChildren(...state.settings.gifts.map((gift) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "secondary";
    button.dataset.giftId = gift.id;
    button.textContent = `${t("kiosk_redeem")} ${gift.name} · ${gift.points} ${t("kiosk_points_each")}`;
    button.disabled = gift.points > me.points.balance || gift.left === 0;
    button.addEventListener("click", () => redeem(gift));
    return button;
  }));
  $("details-name").value = me.details.name || "";
  $("details-birthday").value = me.details.birthday || "";
  $("details-gender").value = me.details.gender || "";
  $("withdraw-marketing").hidden = !(me.consent && me.consent.purposes.includes("marketing"));
}

async function redeem(gift) {
  say("me", "");
  try {
    const redeemed = await api("POST", "/kiosk/me/gift-redemptions", { gift_id: gift.id, qty: 1 });
    $("pickup-gift").textContent = `${redeemed.gift} × ${redeemed.qty} · ${redeemed.points} ${t("kiosk_points_each")}`;
    $("pickup-code").textContent = redeemed.code;
    $("pickup-slip").textContent = redeemed.slip ? t("kiosk_slip_printed") : "";
    $("pickup-qr").innerHTML = await image(`/kiosk/me/gift-redemptions/${redeemed.code}/code.svg`);
    show("pickup");
  } catch (error) { refused("me", error); }
}

// An image the API draws (a QR code), fetched with the device token and the member session like any call.
async function image(path) {
  const headers = { "X-Device-Token": Stored.get("device").token };
  const session = Stored.get("session");
  if (session) headers.Authorization = `Bearer ${session.token}`;
  const answer = await fetch(`/api/v1${path}`, { headers, cache: "no-store" });
  return answer.ok ? answer.text() : "";
}

async function saveDetails(event) {
  event.preventDefault();
  const changes = {};
  if ($("details-name").value.trim()) changes.name = $("details-name").value.trim();
  if ($("details-birthday").value) changes.birthday = $("details-birthday").value;
  if ($("details-gender").value) changes.gender = $("details-gender").value;
  try {
    await api("PATCH", "/kiosk/me", changes);
    await showMe();
    say("me", t("kiosk_saved"), true);
  } catch (error) { refused("me", error); }
}

async function setPin(event) {
  event.preventDefault();
  const body = { pin: $("pin-new").value };
  if ($("pin-current").value) body.current_pin = $("pin-current").value;
  try {
    await api("POST", "/kiosk/me/pin", body, { key: null });
    $("pin-form").reset();
    say("me", t("kiosk_pin_saved"), true);
  } catch (error) {
    $("pin-form").reset();
    refused("me", error);
  }
}

async function withdraw(purposes) {
  try {
    const answer = await api("POST", "/kiosk/me/consent/withdraw", { purposes });
    if (answer.signed_out) {
      await reset();
      return;
    }
    await showMe();
    say("me", t("kiosk_withdrawn"), true);
  } catch (error) {
    $("withdraw-confirm").hidden = true;
    refused("me", error);
  }
}

// -- price check -----------------------------------------------------------------------------------------------------

async function priceCheck(event) {
  event.preventDefault();
  const barcode = $("price-input").value.trim();
  $("price-input").value = "";
  say("price", "");
  if (!barcode) return;
  try {
    const checked = await api("POST", "/kiosk/price-checks", { barcode });
    const product = checked.product;
    $("price-name").textContent = product.name;
    $("price-price").textContent = yuan(product.price);
    $("price-member").textContent = product.member_price !== null
      ? `${t("kiosk_member_price")} ${yuan(product.member_price)}` : "";
    $("price-result").hidden = false;
  } catch (error) {
    $("price-result").hidden = true;
    refused("price", error);
  }
  $("price-input").focus();
}

// -- e-invoice request -----------------------------------------------------------------------------------------------

function buyer() {
  return document.querySelector("input[name=buyer]:checked").value;
}

async function requestInvoice(event) {
  event.preventDefault();
  say("invoice", "");
  const body = { receipt: $("invoice-receipt").value.trim(), buyer: buyer(), title: $("invoice-title").value.trim(),
                 email: $("invoice-email").value.trim() };
  if (buyer() === "company") body.taxpayer_id = $("invoice-taxpayer").value.trim().toUpperCase();
  try {
    const request = await api("POST", "/invoice-requests", body);
    say("invoice", t("invoice_sent"), true);
    renderInvoices([request]);
  } catch (error) { refused("invoice", error); }
}

async function invoiceStatus() {
  say("invoice", "");
  const receipt = $("invoice-receipt").value.trim();
  if (!receipt) return refused("invoice", { field: "receipt", message: t("invoice_receipt") });
  try {
    const answer = await api("GET", `/invoice-requests?receipt=${encodeURIComponent(receipt)}`);
    renderInvoices(answer.requests);
  } catch (error) { refused("invoice", error); }
}

function renderInvoices(requests) {
  $("invoice-result").replaceChildren(...requests.map((r) => {
    const li = item(`${r.receipt_no} · ${yuan(r.amount)} · ${r.title} · ${t(`invoice_${r.status}`)}`
                    + (r.reason ? ` (${r.reason})` : "") + (r.invoice_no ? ` · ${r.invoice_no}` : ""));
    li.dataset.status = r.status;
    return li;
  }));
}

// -- a scan on the welcome screen: a member card opens the sign-in, anything else is a price check ------------------
// The welcome screen has no text field, so keys typed there can only come from a keyboard-wedge scanner.

function onWelcomeKey(event) {
  if (state.screen !== "welcome" || event.target.tagName === "INPUT") {
    state.wedge = "";
    return;
  }
  if (event.key !== "Enter") {
    if (event.key.length === 1) state.wedge = (state.wedge + event.key).slice(-64);
    return;
  }
  const code = state.wedge;
  state.wedge = "";
  if (code.length < 6) return;
  event.preventDefault();
  if (MEMBER_CODE.test(code)) {
    show("signin");
    $("signin-code").value = code;
    return;
  }
  show("price");
  $("price-input").value = code;
  $("price-form").requestSubmit();
}

// -- start -----------------------------------------------------------------------------------------------------------

async function begin() {
  if (pairing.pending) return waitForApproval();
  if (!Stored.get("device")) {
    $("pair-ask").hidden = false;
    $("pair-wait").hidden = true;
    return show("pair");
  }
  try {
    state.settings = await api("GET", "/kiosk/settings");
  } catch (error) {
    if (error.status === 401 || error.status === 403) return unpaired();  // unpaired, or not paired as a kiosk
    if (error instanceof Offline) return Connection.onBack(() => state.settings === null && begin());
    throw error;
  }
  $("kiosk-store").textContent = state.settings.store;
  await reset();  // a reload starts clean: a session left from before ends
}

function wire() {
  translatePage();
  $("language").addEventListener("click", () => { switchLanguage(); if (state.me) renderMe(); });
  $("home").addEventListener("click", () => show("welcome"));
  $("pair-start").addEventListener("click", startPairing);
  $("go-signin").addEventListener("click", () => (Stored.get("session") ? showMe() : show("signin")));
  $("go-join").addEventListener("click", showJoin);
  $("go-price").addEventListener("click", () => show("price"));
  $("go-invoice").addEventListener("click", () => show("invoice"));
  $("join-form").addEventListener("submit", join);
  $("signin-form").addEventListener("submit", signIn);
  $("details-form").addEventListener("submit", saveDetails);
  $("pin-form").addEventListener("submit", setPin);
  $("withdraw-marketing").addEventListener("click", () => withdraw(["marketing"]));
  $("withdraw-membership").addEventListener("click", () => { $("withdraw-confirm").hidden = false; });
  $("withdraw-no").addEventListener("click", () => { $("withdraw-confirm").hidden = true; });
  $("withdraw-yes").addEventListener("click", () => withdraw(["membership"]));
  $("signout").addEventListener("click", reset);
  $("pickup-done").addEventListener("click", showMe);
  $("price-form").addEventListener("submit", priceCheck);
  $("invoice-form").addEventListener("submit", requestInvoice);
  $("invoice-status").addEventListener("click", invoiceStatus);
  document.querySelectorAll("input[name=buyer]").forEach((radio) => radio.addEventListener("change", () => {
    $("invoice-taxpayer").disabled = buyer() !== "company";
  }));
  document.addEventListener("keydown", onWelcomeKey);
  ["pointerdown", "keydown", "input"].forEach((kind) => document.addEventListener(kind, armIdle, true));
  begin();
}

wire();
