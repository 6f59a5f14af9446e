// What every screen shares: amounts, the device's pairing and token, the API client, the offline banner.
"use strict";

// Amounts are integer fen on the wire; shown as ¥ with two decimals.
function yuan(fen) {
  const sign = fen < 0 ? "-" : "";
  const abs = Math.abs(fen);
  return `${sign}¥${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, "0")}`;
}

function fenOf(text) {
  const match = /^\s*(\d+)(?:\.(\d{1,2}))?\s*$/.exec(text || "");
  if (!match) return null;
  return Number(match[1]) * 100 + Number((match[2] || "0").padEnd(2, "0"));
}

// An Idempotency-Key without crypto.randomUUID, which a tablet on plain http (not a secure context) lacks.
function newKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `HTTP ${status}`);
    this.status = status;
    this.code = error.code;
    this.field = error.field;
  }
}

class Offline extends Error {}

function storedJson(key) {
  try { return JSON.parse(localStorage.getItem(key)); } catch { return null; }
}

// The screen this page belongs to (/pos, /display, /kiosk, /admin and its pages).
const SCREEN = ["pos", "display", "kiosk", "admin"].find((name) => location.pathname.split("/")[1] === name) || "ui";

// The device's pairing lives in localStorage (it survives reloads and restarts); so does the staff session. Each
// screen has its own names (storeedge.<screen>.<name>): a manager opening /admin on the cashier's tablet, or a
// display opened on it, neither replaces the tablet's device token nor ends its cashier's session.
const Stored = {
  key(name) { return `storeedge.${SCREEN}.${name}`; },
  get(name) { return storedJson(this.key(name)); },
  set(name, value) {
    if (value === null) localStorage.removeItem(this.key(name));
    else localStorage.setItem(this.key(name), JSON.stringify(value));
  },
};

// Before each screen had its own names, /pos, /admin and /kiosk shared storeedge.device, .session and .pairing (the
// display's were storeedge.display.*, its names now). After the upgrade a screen that could have owned them adopts
// them instead of pairing again: a terminal's device goes to /pos and to /admin (one device for both, as it was), a
// kiosk's to /kiosk; the staff session and a pending pairing move to the first of them opened.
const LEGACY_OWNERS = { terminal: ["pos", "admin"], kiosk: ["kiosk"] };

function adoptLegacyStorage() {
  const legacy = (name) => storedJson(`storeedge.${name}`);
  const device = legacy("device");
  const owners = (device && LEGACY_OWNERS[device.kind]) || ["pos", "admin", "kiosk"];
  if (!owners.includes(SCREEN) || Stored.get("device") || Stored.get("pairing")) return;
  if (!device && !legacy("pairing")) return;
  ["device", "session", "pairing"].forEach((name) => {
    if (legacy(name)) Stored.set(name, legacy(name));
    if (name !== "device") localStorage.removeItem(`storeedge.${name}`);
  });
  if (owners.every((owner) => storedJson(`storeedge.${owner}.device`))) localStorage.removeItem("storeedge.device");
}
adoptLegacyStorage();

const Connection = {
  online: true,
  listeners: [],
  onBack(listener) { this.listeners.push(listener); },

  lost() {
    if (!this.online) return;
    this.online = false;
    document.getElementById("offline-banner").hidden = false;
    this._probe();
  },

  // Asks /health every second until the server answers, then tells the screen (which reloads its state).
  async _probe() {
    while (!this.online) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      try {
        const answer = await fetch("/api/v1/health", { cache: "no-store" });
        if (answer.ok) {
          this.online = true;
          document.getElementById("offline-banner").hidden = true;
          this.listeners.forEach((listener) => listener());
        }
      } catch { /* still away */ }
    }
  },
};

// One API call. Mutations carry an Idempotency-Key, so a retry after a lost answer is not done twice.
async function api(method, path, body, { key } = {}) {
  const headers = { "Accept": "application/json" };
  const device = Stored.get("device");
  const session = Stored.get("session");
  if (device) headers["X-Device-Token"] = device.token;
  if (session) headers["Authorization"] = `Bearer ${session.token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && key !== null) headers["Idempotency-Key"] = key || newKey();
  let answer;
  try {
    answer = await fetch(`/api/v1${path}`, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store",
    });
  } catch (error) {
    Connection.lost();
    throw new Offline(t("offline"));
  }
  if (answer.status === 502 || answer.status === 503 || answer.status === 504) {
    Connection.lost();
    throw new Offline(t("offline"));
  }
  const data = await answer.json().catch(() => null);
  if (!answer.ok) throw new ApiError(answer.status, data);
  return data;
}
