// Back office: reports (报表) with charts. Works on its own: the device token and staff session come from Stored,
// as on /pos; an unpaired browser is sent to /admin/ to pair first. Charts: Chart.js from /ui/vendor (make setup).
"use strict";

Object.assign(CATALOGUE.zh, {
  reports_title: "报表", back_office: "后台首页", reports_pair_first: "此浏览器尚未配对。请先在后台首页配对设备。",
  reports_login: "店长登录", reports_need_manager: "报表需要店长权限",
  report_kind: "报表", report_from: "开始日期", report_to: "结束日期", report_period: "快捷期间",
  report_show: "查询", report_csv: "导出 CSV", report_none: "此期间没有数据",
  period_custom: "自定义", period_today: "今天", period_7: "最近 7 天", period_30: "最近 30 天",
  period_month: "本月", period_year: "最近一年",
  r_sales_hour: "销售：按小时", r_sales_day: "销售：按日", r_sales_week: "销售：按周",
  r_sales_category: "销售：按品类", r_sales_product: "销售：按商品", r_traffic: "客流：按时段",
  r_staff_salesperson: "导购排行", r_staff_cashier: "收银员排行", r_basket: "关联购买（购物篮）",
  r_stock: "库存周转与低库存", r_settlement: "储值跨店结算",
  c_hour: "小时", c_day: "日期", c_week: "周", c_category: "品类", c_name: "名称", c_sku: "编码", c_qty: "数量",
  c_lines: "行数", c_tickets: "单数", c_sales: "销售额", c_refunds: "退货笔数", c_refunded: "退货额", c_net: "净额",
  c_items: "件数", c_average_ticket: "客单价", c_member_rate: "会员占比", c_share: "占比", c_refund_qty: "退货数量",
  c_slot: "时段", c_per_day: "日均单数", c_rank: "排名", c_items_per_ticket: "客单件数",
  c_stored_value_sold: "售储值", c_target: "目标", c_progress: "完成率", c_pair: "商品组合", c_support: "支持度",
  c_confidence_a_b: "置信度 A→B", c_confidence_b_a: "置信度 B→A", c_lift: "提升度", c_on_hand: "库存",
  c_sold_qty: "售出", c_turnover: "周转次数", c_days_of_cover: "可售天数", c_low: "低库存", c_store_id: "门店",
  c_kind: "类型", c_account: "账户", c_entries: "笔数", c_amount: "金额",
  s_collected_here: "本店收取储值", s_spent_here: "本店消费储值", s_net_position: "本店净头寸",
  s_low_count: "低库存商品", s_tickets: "总单数",
  target_staff: "员工编号", target_amount: "目标净额 (元)", target_hint: "目标按上方期间与当前排行角色设定",
  target_set: "设定目标", target_saved: "目标已保存", yes: "是", no: "否",
});
Object.assign(CATALOGUE.en, {
  reports_title: "Reports", back_office: "Back office", reports_pair_first: "This browser is not paired yet. Pair it on the back-office home page first.",
  reports_login: "Manager login", reports_need_manager: "Reports need the manager role",
  report_kind: "Report", report_from: "From", report_to: "To", report_period: "Quick period",
  report_show: "Show", report_csv: "Export CSV", report_none: "No data in this period",
  period_custom: "Custom", period_today: "Today", period_7: "Last 7 days", period_30: "Last 30 days",
  period_month: "This month", period_year: "Last year",
  r_sales_hour: "Sales by hour", r_sales_day: "Sales by day", r_sales_week: "Sales by week",
  r_sales_category: "Sales by category", r_sales_product: "Sales by product", r_traffic: "Traffic by time slot",
  r_staff_salesperson: "Salesperson ranking", r_staff_cashier: "Cashier ranking", r_basket: "Bought together",
  r_stock: "Stock turnover and low stock", r_settlement: "Stored value across stores",
  c_hour: "Hour", c_day: "Day", c_week: "Week", c_category: "Category", c_name: "Name", c_sku: "SKU", c_qty: "Qty",
  c_lines: "Lines", c_tickets: "Tickets", c_sales: "Sales", c_refunds: "Refunds", c_refunded: "Refunded", c_net: "Net",
  c_items: "Items", c_average_ticket: "Average ticket", c_member_rate: "Member share", c_share: "Share",
  c_refund_qty: "Refunded qty", c_slot: "Time slot", c_per_day: "Tickets a day", c_rank: "Rank",
  c_items_per_ticket: "Items per ticket", c_stored_value_sold: "Stored value sold", c_target: "Target",
  c_progress: "Progress", c_pair: "Pair", c_support: "Support", c_confidence_a_b: "Confidence A→B",
  c_confidence_b_a: "Confidence B→A", c_lift: "Lift", c_on_hand: "On hand", c_sold_qty: "Sold",
  c_turnover: "Turnover", c_days_of_cover: "Days of cover", c_low: "Low", c_store_id: "Store", c_kind: "Kind",
  c_account: "Account", c_entries: "Entries", c_amount: "Amount",
  s_collected_here: "Collected here", s_spent_here: "Spent here", s_net_position: "Net position here",
  s_low_count: "Products low", s_tickets: "Tickets",
  target_staff: "Staff number", target_amount: "Target net sales (¥)", target_hint: "Set for the period above and the ranking's role",
  target_set: "Set target", target_saved: "Target saved", yes: "yes", no: "no",
});

const $ = (id) => document.getElementById(id);

// Each report: its API path, the columns shown (a row key, or a function of the row), and what the chart plots.
const REPORTS = {
  sales_hour: { path: "/reports/sales?by=hour", label: "hour", value: "net", columns: ["hour", "tickets", "sales", "refunded", "net", "average_ticket"] },
  sales_day: { path: "/reports/sales?by=day", label: "day", value: "net", chart: "line", columns: ["day", "tickets", "sales", "refunded", "net", "average_ticket", "member_rate"] },
  sales_week: { path: "/reports/sales?by=week", label: "week", value: "net", chart: "line", columns: ["week", "tickets", "sales", "refunded", "net", "average_ticket"] },
  sales_category: { path: "/reports/sales?by=category", label: "category", value: "net", columns: ["category", "qty", "sales", "refunded", "net", "share"] },
  sales_product: { path: "/reports/sales?by=product&limit=30", label: "name", value: "net", columns: ["sku", "name", "qty", "tickets", "net"] },
  traffic: { path: "/reports/traffic", label: "slot", value: "tickets", columns: ["slot", "tickets", "per_day", "sales"] },
  staff_salesperson: { path: "/reports/staff?role=salesperson", role: "salesperson", label: "name", value: "net", columns: ["rank", "name", "tickets", "net", "average_ticket", "items_per_ticket", "member_rate", "stored_value_sold", "target", "progress"] },
  staff_cashier: { path: "/reports/staff?role=cashier", role: "cashier", label: "name", value: "net", columns: ["rank", "name", "tickets", "net", "average_ticket", "items_per_ticket", "member_rate", "stored_value_sold", "target", "progress"] },
  basket: { path: "/reports/basket", label: "pair", value: "lift", columns: ["pair", "tickets", "support", "confidence_a_b", "confidence_b_a", "lift"], summary: ["tickets"] },
  stock: { path: "/reports/stock", label: "name", value: "days_of_cover", onlyLow: true, columns: ["sku", "name", "on_hand", "sold_qty", "turnover", "days_of_cover", "low"], summary: ["low_count"] },
  settlement: { path: "/reports/settlement", label: "store_kind", value: "amount", columns: ["store_id", "kind", "account", "entries", "amount"], summary: ["collected_here", "spent_here", "net_position"] },
};
const DERIVED = { pair: (row) => `${row.a_name} + ${row.b_name}`, store_kind: (row) => `${row.store_id} ${row.kind}` };
const PERIODS = ["period_30", "period_7", "period_today", "period_month", "period_year", "period_custom"];
let chart = null;
let current = null;

function say(text) { $("report-message").textContent = text || ""; }

function show(screen) {
  for (const name of ["unpaired", "login", "reports"]) $(`screen-${name}`).hidden = name !== screen;
  $("logout").hidden = screen !== "reports";
  const session = Stored.get("session");
  $("who").textContent = session && screen === "reports" ? session.staff.name : "";
  if (screen === "login") $("pin").focus();
}

// -- the period --------------------------------------------------------------------------------------------------

function isoDay(date) {
  return `${date.getFullYear()}-${String(date.getMonth() + 1).padStart(2, "0")}-${String(date.getDate()).padStart(2, "0")}`;
}

function applyPeriod(name) {
  const today = new Date();
  const from = new Date(today);
  if (name === "period_custom") return;
  if (name === "period_7") from.setDate(today.getDate() - 6);
  if (name === "period_30") from.setDate(today.getDate() - 29);
  if (name === "period_month") from.setDate(1);
  if (name === "period_year") from.setDate(today.getDate() - 364);
  $("from").value = isoDay(from);
  $("to").value = isoDay(today);
}

function query() {
  const report = REPORTS[$("report").value];
  const joiner = report.path.includes("?") ? "&" : "?";
  return `${report.path}${joiner}from=${$("from").value}&to=${$("to").value}`;
}

// -- showing a report ------------------------------------------------------------------------------------------------

function cell(row, column, money) {
  const value = DERIVED[column] ? DERIVED[column](row) : row[column];
  if (value === null || value === undefined) return "—";
  if (money.includes(column)) return yuan(value);
  if (typeof value === "boolean") return t(value ? "yes" : "no");
  if (["member_rate", "share", "progress", "support", "confidence_a_b", "confidence_b_a"].includes(column)) {
    return `${(value * 100).toFixed(1)}%`;
  }
  return String(value);
}

function drawTable(report, answer) {
  const head = $("table").tHead;
  const body = $("table").tBodies[0];
  head.innerHTML = "";
  body.innerHTML = "";
  // numbers line up on the right; a column is numeric when its first value is
  const numeric = (column) => answer.rows.length > 0 && typeof answer.rows[0][column] === "number";
  const header = head.insertRow();
  for (const column of report.columns) {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = t(`c_${column}`);
    if (numeric(column)) th.className = "num";
    header.appendChild(th);
  }
  for (const row of answer.rows) {
    const tr = body.insertRow();
    if (row.low) tr.className = "low";
    for (const column of report.columns) {
      const td = tr.insertCell();
      td.textContent = cell(row, column, answer.money);
      if (numeric(column)) td.className = "num";
    }
  }
}

function drawSummary(report, answer) {
  const box = $("report-summary");
  box.innerHTML = "";
  const values = { ...(answer.summary || {}), tickets: answer.tickets, low_count: answer.low_count };
  for (const key of report.summary || []) {
    const span = document.createElement("span");
    const money = ["collected_here", "spent_here", "net_position"].includes(key);
    span.textContent = `${t(`s_${key}`)}: ${money ? yuan(values[key]) : values[key]}`;
    box.appendChild(span);
  }
}

function drawChart(report, answer) {
  const rows = report.onlyLow ? answer.rows.filter((row) => row.low && row.days_of_cover !== null) : answer.rows;
  const shown = rows.slice(0, 40);
  const money = answer.money.includes(report.value);
  const labels = shown.map((row) => String(DERIVED[report.label] ? DERIVED[report.label](row) : row[report.label]));
  const values = shown.map((row) => (money ? row[report.value] / 100 : row[report.value]));
  if (chart) chart.destroy();
  chart = new Chart($("chart"), {
    type: report.chart || "bar",
    data: { labels, datasets: [{ label: `${t(`c_${report.value}`)}${money ? " (¥)" : ""}`, data: values, backgroundColor: "#0b5cad", borderColor: "#0b5cad" }] },
    options: { responsive: true, maintainAspectRatio: false, animation: false, scales: { y: { beginAtZero: true } } },
  });
  $("chart").dataset.points = String(values.length);
}

async function load() {
  const name = $("report").value;
  const report = REPORTS[name];
  say("");
  try {
    const answer = await api("GET", query());
    current = { name, answer };
    $("report-heading").textContent = `${t(`r_${name}`)} · ${answer.period.from} — ${answer.period.to}`;
    drawSummary(report, answer);
    drawTable(report, answer);
    drawChart(report, answer);
    $("target-form").hidden = !report.role;
    if (!answer.rows.length) say(t("report_none"));
    document.body.dataset.report = name;
  } catch (error) {
    if (error.status === 401) return showLogin();
    say(error.status === 403 ? t("reports_need_manager") : error.message);
  }
}

// CSV: fetched with the device token and session (a plain link could not send them), then saved as a file.
async function downloadCsv() {
  const device = Stored.get("device");
  const session = Stored.get("session");
  const answer = await fetch(`/api/v1${query()}&format=csv`, {
    headers: { "X-Device-Token": device.token, Authorization: `Bearer ${session.token}` }, cache: "no-store",
  });
  if (!answer.ok) return say(t("report_none"));
  const link = document.createElement("a");
  link.href = URL.createObjectURL(await answer.blob());
  link.download = (answer.headers.get("Content-Disposition") || "").split("filename=")[1]?.replaceAll('"', "") || "report.csv";
  link.click();
  URL.revokeObjectURL(link.href);
}

async function setTarget(event) {
  event.preventDefault();
  const report = REPORTS[$("report").value];
  const amount = fenOf($("target-amount").value);
  try {
    await api("POST", "/reports/targets", {
      staff_id: Number($("target-staff").value), role: report.role, from: $("from").value, to: $("to").value, amount,
    });
    say(t("target_saved"));
    await load();
  } catch (error) { say(error.message); }
}

// -- login -------------------------------------------------------------------------------------------------------------

function showLogin() {
  Stored.set("session", null);
  show("login");
}

async function login(event) {
  event.preventDefault();
  $("login-message").textContent = "";
  try {
    const answer = await api("POST", "/auth/login", { pin: $("pin").value });
    Stored.set("session", { token: answer.token, staff: answer.staff });
    $("pin").value = "";
    start();
  } catch (error) {
    if (error.status === 401) {  // the device token is no longer known: pair again
      Stored.set("device", null);
      return show("unpaired");
    }
    $("login-message").textContent = error.message;
  }
}

function start() {
  if (!Stored.get("device")) return show("unpaired");
  if (!Stored.get("session")) return show("login");
  show("reports");
  load();
}

function setUp() {
  translatePage();
  for (const name of Object.keys(REPORTS)) $("report").add(new Option(t(`r_${name}`), name));
  for (const name of PERIODS) $("period").add(new Option(t(name), name));
  applyPeriod("period_30");
  $("period").addEventListener("change", () => applyPeriod($("period").value));
  for (const id of ["from", "to"]) $(id).addEventListener("change", () => { $("period").value = "period_custom"; });
  $("filters").addEventListener("submit", (event) => { event.preventDefault(); load(); });
  $("report").addEventListener("change", load);
  $("csv").addEventListener("click", downloadCsv);
  $("target-form").addEventListener("submit", setTarget);
  $("login-form").addEventListener("submit", login);
  $("logout").addEventListener("click", showLogin);
  $("language").addEventListener("click", () => {
    switchLanguage();
    [...$("report").options].forEach((option) => { option.text = t(`r_${option.value}`); });
    [...$("period").options].forEach((option) => { option.text = t(option.value); });
    if (current) load();
  });
  Connection.onBack(load);
  start();
}

setUp();
