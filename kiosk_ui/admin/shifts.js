// Shift reports: the shifts, newest first; an X report while a shift is open, its Z report once closed.
"use strict";

async function loadShifts() {
  say("shifts-message", "");
  const status = $("shift-status").value;
  try {
    const shifts = (await api("GET", `/shifts?limit=100${status ? `&status=${status}` : ""}`)).shifts;
    const names = new Map((await api("GET", "/staff")).staff.map((member) => [member.id, member.name]));
    fillTable($("shifts"), shifts.map((shift) => [
      shift.opened_at.slice(0, 16).replace("T", " "), shift.lane, names.get(shift.opened_by), t(`shift_${shift.status}`),
      shift.variance === null ? null : yuan(shift.variance),
      button(shift.status === "open" ? "x_report" : "z_report", () => showReport(shift)),
    ]));
    Array.from($("shifts").rows).forEach((row, i) => { row.dataset.shiftId = shifts[i].id; });
    if (!shifts.length) fillTable($("shifts"), [[t("none"), "", "", "", "", ""]]);
  } catch (error) { say("shifts-message", explain(error)); }
}

async function showReport(shift) {
  try {
    const report = await api("GET", `/shifts/${shift.id}/report`);
    const { sales, cash, refunds } = report;
    const rows = [
      [t("opened_at"), (report.opened_at || "").slice(0, 16).replace("T", " ")],
      [t("closed_at"), report.closed_at ? report.closed_at.slice(0, 16).replace("T", " ") : "—"],
      [t("sales_count"), String(sales.count)], [t("sales_gross"), yuan(sales.gross)],
      [t("discounts"), yuan(-sales.discounts)], [t("sales_net"), yuan(sales.net)],
      ...Object.entries(report.tenders).map(([method, amount]) => [`· ${t(`tender_${method}`)}`, yuan(amount)]),
      [t("refunds"), `${refunds.count} · ${yuan(refunds.total)}`], [t("voids"), String(report.voids)],
      [t("no_sale_opens"), String(report.no_sale_opens)], [t("opening_float"), yuan(cash.opening_float)],
      [t("cash_expected"), yuan(cash.expected)],
      [t("counted"), cash.counted === null ? "—" : yuan(cash.counted)],
      [t("variance"), cash.variance === null ? "—" : yuan(cash.variance)],
    ];
    $("report-title").textContent = `${t(report.kind === "X" ? "x_report" : "z_report")} · ${t("lane")} ${report.lane ?? "-"}`;
    $("report-lines").replaceChildren(...rows.map(([name, value]) => el("div", {}, el("span", { text: name }),
                                                                        el("span", { text: value }))));
    $("report").hidden = false;
  } catch (error) { say("shifts-message", explain(error)); }
}

startArea(async () => {
  $("shift-status").addEventListener("change", loadShifts);
  document.addEventListener("languagechange", loadShifts);
  await loadShifts();
});
