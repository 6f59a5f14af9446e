// The back office shell: pairing this computer, a manager's PIN login, the nav, and what every area page shares.
// Every page works on its own: it reads the device token and the staff session from Stored, as /pos does, and
// without a manager's session shows a link back to /admin/ to log in.
"use strict";

const $ = (id) => document.getElementById(id);
const NAV = [
  ["index.html", "nav_home"], ["products.html", "nav_products"], ["stock.html", "nav_stock"],
  ["staff.html", "nav_staff"], ["devices.html", "nav_devices"], ["shifts.html", "nav_shifts"],
  ["settings.html", "nav_settings"], ["reports.html", "nav_reports"], ["insight.html", "nav_insight"],
  ["flows.html", "nav_flows"],
];
const BACK_OFFICE_ROLES = new Set(["manager", "admin"]);

// -- small DOM helpers shared by the area pages ----------------------------------------------------------------------

// el("td", {text, className, dataset, attrs, onclick}, ...children)
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  const { text, dataset, attrs, ...rest } = props;
  if (text !== undefined) node.textContent = text;
  Object.assign(node.dataset, dataset || {});
  Object.entries(attrs || {}).forEach(([name, value]) => node.setAttribute(name, value));
  Object.entries(rest).forEach(([name, value]) => {
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node[name] = value;
  });
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

function button(key, onclick, className = "secondary") {
  return el("button", { type: "button", className, text: t(key), onclick });
}

// A message under a form: an error in red, or (ok) a confirmation in green.
function say(id, text, ok = false) {
  const box = $(id);
  box.textContent = text || "";
  box.classList.toggle("ok", ok);
}

function explain(error) {
  return error.field ? `${error.message} (${error.field})` : error.message;
}

// A quantity as entered and shown: pieces, or grams for goods sold by weight.
function quantity(qty, soldBy) {
  return soldBy === "weight" ? `${qty} g` : String(qty);
}

// A table body from rows of cells; a cell is text or a node. A column whose header is marked num aligns right.
function fillTable(tbody, rows) {
  const head = tbody.parentElement.tHead;
  const numeric = head ? Array.from(head.rows[0].cells, (cell) => cell.classList.contains("num")) : [];
  const td = (cell, i) => {
    const className = numeric[i] || typeof cell === "number" ? "num" : "";
    if (cell instanceof Node) return el("td", { className }, cell);
    return el("td", { className, text: cell === null || cell === undefined ? "—" : String(cell) });
  };
  tbody.replaceChildren(...rows.map((cells) => el("tr", {}, ...cells.map(td))));
}

// -- the shell: header, nav, the login gate -----------------------------------------------------------------------------

function buildNav() {
  const here = location.pathname.endsWith("/admin") || location.pathname.endsWith("/admin/")
    ? "index.html" : location.pathname.split("/").pop();
  $("admin-nav").replaceChildren(...NAV.map(([file, key]) => el("a", {
    href: `/admin/${file}`, dataset: { t: key }, attrs: file === here ? { "aria-current": "page" } : {},
  })));
}

function showWho() {
  const session = Stored.get("session");
  $("who").textContent = session ? `${session.staff.name} · ${t(`role_${session.staff.role}`)}` : "";
  $("logout").hidden = !session;
  $("admin-nav").hidden = !session;
}

async function logOut() {
  try { await api("POST", "/auth/logout", undefined, { key: null }); } catch { /* the session ends here anyway */ }
  Stored.set("session", null);
  location.href = "/admin/";
}

function wireHeader() {
  buildNav();
  translatePage();
  $("language").addEventListener("click", () => {
    switchLanguage();
    showWho();
    document.dispatchEvent(new Event("languagechange"));
  });
  $("logout").addEventListener("click", logOut);
}

// An area page: runs init once a manager's session is confirmed, else says where to log in.
async function startArea(init) {
  wireHeader();
  const page = $("page");
  const gate = el("section", { id: "need-login", className: "screen narrow", hidden: true },
    el("p", { id: "need-login-text", dataset: { t: "need_login" } }),
    el("a", { href: "/admin/", className: "big-link", dataset: { t: "go_login" } }));
  page.before(gate);
  translatePage(gate);
  const refuse = (reason) => {
    page.hidden = true;
    gate.hidden = false;
    if (reason) $("need-login-text").textContent = reason;
    showWho();
  };
  if (!Stored.get("device") || !Stored.get("session")) return refuse();
  try {
    const me = await api("GET", "/auth/me");
    if (!BACK_OFFICE_ROLES.has(me.staff.role)) return refuse(t("managers_only"));
  } catch (error) {
    if (error.status === 401) Stored.set("session", null);
    return refuse(error instanceof Offline ? t("offline") : undefined);
  }
  showWho();
  page.hidden = false;
  await init();
}

// -- the home page: pairing, login, tiles --------------------------------------------------------------------------

const SCREENS = ["pair", "login", "home"];

function show(screen) {
  SCREENS.forEach((name) => { $(`screen-${name}`).hidden = name !== screen; });
  showWho();
  if (screen === "login") $("pin").focus();
}

const pairing = new Pairing("terminal");

const { start: startPairing, wait: waitForApproval } = pairingScreen(pairing, {
  show, begin, say: (text) => say("pair-message", text), explain,
});

// Only a manager or an admin gets in; a cashier's fresh session is ended at once and the reason shown.
async function logIn(event) {
  event.preventDefault();
  say("login-message", "");
  const pin = $("pin").value;
  $("pin").value = "";
  try {
    const answer = await api("POST", "/auth/login", { pin });
    Stored.set("session", { token: answer.token, staff: answer.staff });
    if (!BACK_OFFICE_ROLES.has(answer.staff.role)) {
      try { await api("POST", "/auth/logout", undefined, { key: null }); } catch { /* ends with the storage */ }
      Stored.set("session", null);
      return say("login-message", `${answer.staff.name}: ${t("cashier_refused")}`);
    }
    await home();
  } catch (error) {
    if (error.status === 401 && error.field !== "pin") {
      Stored.set("device", null);
      return begin();
    }
    say("login-message", explain(error));
  }
}

async function home() {
  show("home");
  $("home-tiles").replaceChildren(...NAV.slice(1).map(([file, key]) => el("a", {
    href: `/admin/${file}`, dataset: { t: key } })));
  translatePage($("home-tiles"));
  try {
    const pending = (await api("GET", "/devices/pairing")).requests;
    $("home-pending").textContent = pending.length
      ? pending.map((r) => `${r.code} ${r.name}`).join(", ") : t("none");
    const low = (await api("GET", "/reorder-points?low_only=true")).products;
    $("home-low").textContent = low.length ? low.map((p) => `${p.name} (${p.on_hand})`).join(", ") : t("none");
  } catch (error) {
    if (error.status === 401) { Stored.set("session", null); return show("login"); }
    $("home-pending").textContent = explain(error);
  }
}

async function begin() {
  if (pairing.pending) return waitForApproval();
  if (!Stored.get("device")) {
    $("pair-ask").hidden = false;
    $("pair-wait").hidden = true;
    return show("pair");
  }
  const session = Stored.get("session");
  if (!session || !BACK_OFFICE_ROLES.has(session.staff.role)) return show("login");
  try {
    await api("GET", "/auth/me");
    await home();
  } catch (error) {
    if (error.status === 401) Stored.set("session", null);
    show("login");
  }
}

if (document.body.dataset.page === "home") {
  wireHeader();
  $("pair-start").addEventListener("click", startPairing);
  $("login-form").addEventListener("submit", logIn);
  document.addEventListener("languagechange", () => { if (!$("screen-home").hidden) home(); });
  begin();
}
