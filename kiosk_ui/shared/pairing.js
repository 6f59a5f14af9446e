// Pairing any screen with the store: ask for a code, show it, poll the claim until a manager approves it.
"use strict";

const PAIR_POLL_MS = 1500;

// The pending request and the device are kept in Stored, under the screen's own names: a customer display opened on
// a paired tablet does not take the tablet's token.
class Pairing {
  constructor(kind) {
    this.kind = kind;
  }

  get pending() { return Stored.get("pairing"); }
  get device() { return Stored.get("device"); }
  forget() { Stored.set("device", null); }

  async request(name) {
    const request = await api("POST", "/devices/pair", { name, kind: this.kind }, { key: null });
    Stored.set("pairing", { id: request.id, code: request.code, secret: request.secret });
    return request.code;
  }

  // Resolves with the device once approved; rejects with the reason when the request is rejected or expired.
  // While the server is away it keeps asking.
  async approved() {
    const pairing = this.pending;
    while (this.pending) {
      let answer = null;
      try {
        answer = await api("POST", `/devices/pair/${pairing.id}/claim`, { secret: pairing.secret }, { key: null });
      } catch (error) {
        if (!(error instanceof Offline)) return this._ended(error.message);
      }
      if (answer && answer.token) {
        const device = { token: answer.token, ...answer.device };
        Stored.set("device", device);
        Stored.set("pairing", null);
        return device;
      }
      if (answer && answer.state !== "pending") return this._ended(answer.state);
      await new Promise((resolve) => setTimeout(resolve, PAIR_POLL_MS));
    }
    return this._ended("cancelled");
  }

  _ended(reason) {
    Stored.set("pairing", null);
    throw new Error(reason);
  }
}

// The pairing screen every screen has (#pair-name, #pair-ask, #pair-wait, #pair-code): start() asks for a code
// and shows it, wait() shows a pending one until a manager approves it, then begin(); refusals go to say(text).
function pairingScreen(pairing, { show, begin, say, explain = (error) => error.message }) {
  const element = (id) => document.getElementById(id);
  async function wait() {
    element("pair-ask").hidden = true;
    element("pair-wait").hidden = false;
    element("pair-code").textContent = pairing.pending.code;
    show("pair");
    try {
      await pairing.approved();
    } catch (error) {
      element("pair-ask").hidden = false;
      element("pair-wait").hidden = true;
      return say(`${t("pair_rejected")}: ${error.message}`);
    }
    begin();
  }
  async function start() {
    say("");
    try {
      await pairing.request(element("pair-name").value.trim());
      wait();
    } catch (error) { say(explain(error)); }
  }
  return { start, wait };
}
