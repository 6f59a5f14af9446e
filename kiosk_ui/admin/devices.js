// Devices: pairing codes waiting for approval, the paired devices (unpair), the shop's hardware and a test print.
"use strict";

const REFRESH_MS = 3000; // new pairing codes and hardware states show up without a reload

async function loadPairings() {
  try {
    const requests = (await api("GET", "/devices/pairing")).requests;
    const tbody = $("pairings");
    if (!requests.length) return fillTable(tbody, [[t("none"), "", "", "", "", ""]]);
    const shown = Array.from(tbody.rows, (row) => row.dataset.code).join();
    if (shown === requests.map((r) => r.code).join()) return; // keep a lane being typed
    fillTable(tbody, requests.map((request) => {
      const lane = el("input", { inputMode: "numeric", maxLength: 2, attrs: { "aria-label": `${t("lane")} ${request.code}` } });
      return [request.code, request.name, t(`kind_${request.kind}`), lane,
              button("approve", () => decide(request, true, lane.value), ""),
              button("reject", () => decide(request, false), "danger")];
    }));
    Array.from(tbody.rows).forEach((row, i) => { row.dataset.code = requests[i].code; });
  } catch (error) { say("pairing-message", explain(error)); }
}

async function decide(request, approve, laneText) {
  say("pairing-message", "");
  const body = { code: request.code };
  if (approve && laneText && laneText.trim()) body.lane = Number(laneText);
  try {
    await api("POST", `/devices/pair/${approve ? "approve" : "reject"}`, body);
    say("pairing-message", `${request.code} ${request.name}: ${t(approve ? "approved" : "rejected")}`, true);
  } catch (error) { say("pairing-message", explain(error)); }
  $("pairings").replaceChildren();
  await loadPairings();
  await loadDevices();
}

async function loadDevices() {
  const mine = Stored.get("device").id;
  const devices = (await api("GET", "/devices")).devices;
  fillTable($("devices"), devices.map((device) => [
    device.name, t(`kind_${device.kind}`), device.lane, t(device.active ? "paired" : "revoked"),
    device.id === mine ? t("this_device") : device.active ? button("revoke", () => revoke(device), "danger") : null,
  ]));
  Array.from($("devices").rows).forEach((row, i) => { row.dataset.deviceId = devices[i].id; });
}

async function revoke(device) {
  say("device-message", "");
  try {
    await api("DELETE", `/devices/${device.id}`);
    say("device-message", `${device.name}: ${t("revoked")}`, true);
  } catch (error) { say("device-message", explain(error)); }
  await loadDevices();
}

let shownHardware = null;

async function loadHardware(force = false) {
  let hardware;
  try {
    hardware = (await api("GET", "/hardware/devices")).devices;
  } catch (error) { return say("hardware-message", explain(error)); }
  const seen = JSON.stringify(hardware);
  if (seen === shownHardware && !force) return; // unchanged: keep the buttons (and the focus) where they are
  shownHardware = seen;
  if (!hardware.length) return fillTable($("hardware"), [[t("no_hardware"), "", "", "", "", ""]]);
  fillTable($("hardware"), hardware.map((device) => [
    device.name, t(`hw_${device.kind}`), device.lane ?? t("all_lanes"),
    el("span", { text: t(`state_${device.state}`) + (device.detail ? ` (${device.detail})` : ""),
                 className: device.state === "connected" ? "" : "low" }),
    device.updated_at ? device.updated_at.slice(0, 19).replace("T", " ") : null,
    device.kind === "printer" ? button("test_print", () => testPrint(device)) : null,
  ]));
}

async function testPrint(device) {
  say("hardware-message", "");
  try {
    const job = await api("POST", `/hardware/printers/${encodeURIComponent(device.name)}/test`);
    say("hardware-message", `${device.name}: ${t("test_print_queued")} (${job.status})`, true);
  } catch (error) { say("hardware-message", explain(error)); }
}

startArea(async () => {
  document.addEventListener("languagechange", () => {
    $("pairings").replaceChildren();
    loadPairings(); loadDevices(); loadHardware(true);
  });
  await loadPairings();
  await loadDevices();
  await loadHardware();
  setInterval(() => { loadPairings(); loadHardware(); }, REFRESH_MS);
});
