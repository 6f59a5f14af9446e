// Back office: marketing flows (营销流程) drawn on a canvas of plain SVG. Nodes (trigger, condition, action, wait)
// are dragged, joined by dragging from a node's port (or with the inspector's "connect" for keyboard users),
// their parameters edited in the inspector; the flow is saved as data, validated (errors shown on the node),
// previewed with a dry run, activated and paused. Works on its own: device token and staff session from Stored.
"use strict";

// This page's texts, added to the shared catalogue (kiosk_ui/shared/i18n.js) so t() and the language switch work.
Object.assign(CATALOGUE.zh, {
  flows_title: "营销流程", flows_canvas: "流程画布", flows_back: "返回后台", flows_unpaired: "此设备尚未配对：请先在后台首页配对并登录。",
  flows_login: "店长登录", flows_list: "流程", flows_pick: "选择流程", flows_new: "＋ 新流程", flows_name: "流程名称",
  flows_status: "状态", flows_add: "添加节点", flows_do: "操作", flows_save: "保存", flows_validate: "校验",
  flows_dry_run: "试运行预览", flows_activate: "启用", flows_pause: "暂停", flows_inspector: "节点设置",
  flows_select_hint: "点击画布上的节点进行编辑；从节点右侧圆点拖到另一节点即可连线。", flows_node: "节点",
  flows_kind: "类型", flows_connect: "连线", flows_connect_to: "连到", flows_branch: "分支",
  flows_connect_add: "添加连线", flows_delete_node: "删除节点", flows_delete_edge: "删除连线", flows_edge: "连线",
  flows_saved: "已保存", flows_valid: "校验通过，可以启用", flows_needs_manager: "需要店长权限",
  flows_reached: "预计触达", flows_entered: "新进入", flows_resumed: "等待结束", flows_sample: "样例会员 (已脱敏)",
  flows_code: "会员号", flows_phone: "手机", flows_none: "无", flows_optional: "(可选)",
  status_draft: "草稿", status_active: "已启用", status_paused: "已暂停",
  type_trigger: "触发", type_condition: "条件", type_action: "动作", type_wait: "等待",
  kind_inactive_days: "N天未到店", kind_interest: "浏览未购", kind_birthday: "N天内生日", kind_points_expiring: "积分将过期",
  kind_coupons_expiring: "优惠券将过期", kind_stored_value_below: "储值低于", kind_first_purchase: "首次购买",
  kind_level_up: "会员升级", kind_bought_a_not_b: "买了A未买B", kind_registered: "新会员入会",
  kind_level: "会员等级", kind_total_spend: "累计消费", kind_points: "积分", kind_stored_value: "储值余额",
  kind_visits: "到店次数", kind_issue_coupon: "发优惠券", kind_receipt_message: "小票留言", kind_kiosk_message: "自助机消息",
  kind_hq_message: "总部短信/微信", kind_days: "等待N天", kind_coupon_unused: "N天后券仍未用",
  param_days: "天数", param_sku: "商品编码", param_sku_a: "商品A编码", param_sku_b: "商品B编码", param_amount: "金额 (元)",
  param_level: "等级", param_levels: "等级 (逗号分隔)", param_min: "最少", param_max: "最多", param_min_fen: "最少 (元)",
  param_max_fen: "最多 (元)", param_definition_id: "优惠券定义编号", param_text: "文字", param_channel: "渠道",
  param_template: "模板名称", branch_yes: "是", branch_no: "否", branch_unused: "未使用", branch_used: "已使用",
  channel_sms: "短信", channel_wechat: "微信",
  flows_reentry: "再次进入", reentry_never: "每位会员只进入一次", reentry_after_days: "上次旅程结束N天后可再次进入",
  flows_reentry_days: "天数 (N)", flows_invalid: "流程未通过校验：请看节点上的错误",
  // validation errors by code (edge/marketing/graph.py); {name} is filled from the error's params
  flow_error_duplicate_node: "有两个节点都叫 {node}",
  flow_error_trigger_count: "一个流程只能有一个触发节点，现有 {count} 个",
  flow_error_unknown_type: "节点 {node}：不认识的节点类别",
  flow_error_unknown_kind: "节点 {node}：{type}节点没有这种类型",
  flow_error_bad_param: "节点 {node}（{kind}）的{param}：{reason}",
  flow_error_unknown_edge_node: "第 {edge} 条连线连到不存在的节点 {unknown}",
  flow_error_self_edge: "节点 {node}：连线不能连回自己",
  flow_error_branch_not_allowed: "节点 {node}（{kind}）不分支，连线不用标分支",
  flow_error_branch_label: "节点 {node}（{kind}）的每条出线都要标为 {branches}",
  flow_error_duplicate_edge: "节点 {node} 已经有这样一条出线",
  flow_error_edge_into_trigger: "节点 {node}：不能有连线进入触发节点",
  flow_error_trigger_leads_nowhere: "触发节点 {node} 没有连到下一个节点",
  flow_error_unreachable: "节点 {node} 无法从触发节点到达：请用连线连上",
  flow_error_condition_without_yes: "条件 {node} 没有“是”分支：满足条件的会员去哪里？",
  flow_error_follow_up_without_coupon: "等待 {node} 跟进优惠券，但前面没有发优惠券的动作",
  flow_error_loop_without_wait: "节点 {node} 在一个没有等待节点的环上：请在环中加入等待",
  flow_error_unknown_coupon_definition: "节点 {node}：没有优惠券定义 {value}",
  flow_error_unknown_sku: "节点 {node}：没有商品编码 {value}",
  flow_error_unknown_level: "节点 {node}：没有会员等级“{value}”（现有：{levels}）",
  flow_error_unknown_tag: "节点 {node}：没有这个标签 ({value})", flow_error_unknown_segment: "节点 {node}：没有这个分群 ({value})",
  kind_tag: "有标签", kind_segment: "属于分群", param_tag_id: "标签", param_segment_id: "分群",
  reason_missing: "必填", reason_greater_than_equal: "不能小于 {ge}", reason_less_than_equal: "不能大于 {le}",
  reason_greater_than: "须大于 {gt}", reason_less_than: "须小于 {lt}", reason_int_type: "须为整数",
  reason_string_type: "须为文字", reason_string_too_short: "不能为空", reason_string_too_long: "太长（最多 {max_length} 字）",
  reason_too_short: "至少 {min_length} 项", reason_too_long: "最多 {max_length} 项", reason_list_type: "须为列表",
  reason_literal_error: "须为 {expected}", reason_extra_forbidden: "此类型没有这个参数",
  reason_range_empty: "请填写最少、最多或两者", reason_range_inverted: "最多小于最少",
});
Object.assign(CATALOGUE.en, {
  flows_title: "Marketing flows", flows_canvas: "Flow canvas", flows_back: "Back office", flows_unpaired: "This device is not paired: pair it and log in on the back office home page first.",
  flows_login: "Manager login", flows_list: "Flows", flows_pick: "Choose a flow", flows_new: "+ New flow", flows_name: "Flow name",
  flows_status: "Status", flows_add: "Add a node", flows_do: "Actions", flows_save: "Save", flows_validate: "Validate",
  flows_dry_run: "Dry run preview", flows_activate: "Activate", flows_pause: "Pause", flows_inspector: "Node settings",
  flows_select_hint: "Click a node on the canvas to edit it; drag from a node's right-hand dot to another node to join them.",
  flows_node: "Node", flows_kind: "Kind", flows_connect: "Edges", flows_connect_to: "Join to", flows_branch: "Branch",
  flows_connect_add: "Add edge", flows_delete_node: "Delete node", flows_delete_edge: "Delete edge", flows_edge: "Edge",
  flows_saved: "Saved", flows_valid: "Valid: it can be activated", flows_needs_manager: "This needs a manager",
  flows_reached: "Would reach", flows_entered: "entering", flows_resumed: "waits over", flows_sample: "Sample members (masked)",
  flows_code: "Member code", flows_phone: "Phone", flows_none: "none", flows_optional: "(optional)",
  status_draft: "draft", status_active: "active", status_paused: "paused",
  type_trigger: "Trigger", type_condition: "Condition", type_action: "Action", type_wait: "Wait",
  kind_inactive_days: "Inactive N days", kind_interest: "Looked, didn't buy", kind_birthday: "Birthday in N days",
  kind_points_expiring: "Points expiring", kind_coupons_expiring: "Coupons expiring", kind_stored_value_below: "Stored value below",
  kind_first_purchase: "First purchase", kind_level_up: "Level up", kind_bought_a_not_b: "Bought A, not B",
  kind_registered: "Joined", kind_level: "Level", kind_total_spend: "Total spend", kind_points: "Points",
  kind_stored_value: "Stored value", kind_visits: "Visits", kind_issue_coupon: "Issue a coupon",
  kind_receipt_message: "Receipt message", kind_kiosk_message: "Kiosk message", kind_hq_message: "SMS/WeChat via HQ",
  kind_days: "Wait N days", kind_coupon_unused: "Coupon unused after N days",
  param_days: "Days", param_sku: "SKU", param_sku_a: "SKU of A", param_sku_b: "SKU of B", param_amount: "Amount (¥)",
  param_level: "Level", param_levels: "Levels (comma-separated)", param_min: "At least", param_max: "At most",
  param_min_fen: "At least (¥)", param_max_fen: "At most (¥)", param_definition_id: "Coupon definition id",
  param_text: "Text", param_channel: "Channel", param_template: "Template name", branch_yes: "yes", branch_no: "no",
  branch_unused: "unused", branch_used: "used", channel_sms: "SMS", channel_wechat: "WeChat",
  flows_reentry: "Re-entry", reentry_never: "Each member enters once", reentry_after_days: "Again N days after their last journey ended",
  flows_reentry_days: "Days (N)", flows_invalid: "The flow is not valid: see the errors on its nodes",
  flow_error_duplicate_node: "Two nodes are named {node}",
  flow_error_trigger_count: "A flow has exactly one trigger; it has {count}",
  flow_error_unknown_type: "Node {node}: unknown node type",
  flow_error_unknown_kind: "Node {node}: a {type} has no such kind",
  flow_error_bad_param: "Node {node} ({kind}), {param}: {reason}",
  flow_error_unknown_edge_node: "Edge {edge} joins an unknown node {unknown}",
  flow_error_self_edge: "Node {node}: an edge may not lead back to its own node",
  flow_error_branch_not_allowed: "Node {node} ({kind}) does not branch: its edge takes no branch label",
  flow_error_branch_label: "Node {node} ({kind}): label each edge out {branches}",
  flow_error_duplicate_edge: "Node {node} already has such an edge out",
  flow_error_edge_into_trigger: "Node {node}: nothing may lead into the trigger",
  flow_error_trigger_leads_nowhere: "Trigger {node} leads nowhere: join it to the next node",
  flow_error_unreachable: "Node {node} cannot be reached from the trigger: join it with an edge",
  flow_error_condition_without_yes: "Condition {node} has no 'yes' edge: where do members who pass go?",
  flow_error_follow_up_without_coupon: "Wait {node} follows up a coupon, but no coupon is issued before it",
  flow_error_loop_without_wait: "Node {node} is on a loop without a wait: add a wait to the loop",
  flow_error_unknown_coupon_definition: "Node {node}: no coupon definition {value}",
  flow_error_unknown_sku: "Node {node}: no product with SKU {value}",
  flow_error_unknown_level: "Node {node}: no member level '{value}' (levels: {levels})",
  flow_error_unknown_tag: "Node {node}: no such tag ({value})", flow_error_unknown_segment: "Node {node}: no such segment ({value})",
  kind_tag: "Has tag", kind_segment: "In segment", param_tag_id: "Tag", param_segment_id: "Segment",
  reason_missing: "required", reason_greater_than_equal: "at least {ge}", reason_less_than_equal: "at most {le}",
  reason_greater_than: "more than {gt}", reason_less_than: "less than {lt}", reason_int_type: "a whole number",
  reason_string_type: "text", reason_string_too_short: "must not be empty", reason_string_too_long: "too long (at most {max_length})",
  reason_too_short: "at least {min_length} entries", reason_too_long: "at most {max_length} entries", reason_list_type: "a list",
  reason_literal_error: "one of {expected}", reason_extra_forbidden: "this kind takes no such parameter",
  reason_range_empty: "give at least, at most or both", reason_range_inverted: "at most is below at least",
});

// What each kind of node takes: [parameter, input, required]. Inputs: int, fen (typed in yuan), text, levels, channel,
// tag and segment (chosen from customer insight's tags and saved segments).
const DAYS = ["days", "int", true];
const KINDS = {
  trigger: {
    inactive_days: [DAYS], interest: [DAYS, ["sku", "text", false]], birthday: [DAYS], points_expiring: [DAYS],
    coupons_expiring: [DAYS], stored_value_below: [["amount", "fen", true]], first_purchase: [["days", "int", false]],
    level_up: [["days", "int", false], ["level", "text", false]],
    bought_a_not_b: [["sku_a", "text", true], ["sku_b", "text", true], DAYS], registered: [["days", "int", false]],
  },
  condition: {
    level: [["levels", "levels", true]], total_spend: [["min", "fen", false], ["max", "fen", false]],
    points: [["min", "int", false], ["max", "int", false]],
    stored_value: [["min", "fen", false], ["max", "fen", false]], visits: [["min", "int", false], ["max", "int", false]],
    tag: [["tag_id", "tag", true]], segment: [["segment_id", "segment", true]],
  },
  action: {
    issue_coupon: [["definition_id", "text", true]], receipt_message: [["text", "text", true]],
    kiosk_message: [["text", "text", true]], hq_message: [["channel", "channel", true], ["template", "text", true]],
  },
  wait: { days: [DAYS], coupon_unused: [DAYS] },
};
const BRANCHES = { condition: ["yes", "no"], coupon_unused: ["unused", "used"] };
const NODE_W = 190, NODE_H = 66, SVG_NS = "http://www.w3.org/2000/svg";

const $ = (id) => document.getElementById(id);
const state = { flows: [], flow: null, selected: null, errors: {}, errorList: [], counts: {}, drag: null,
                insight: { tag: [], segment: [] } };

function blankFlow() {
  return { id: null, name: "", status: "draft", nodes: [], edges: [], reentry: { mode: "never" } };
}

function say(text, good = false) {
  $("message").textContent = text;
  $("message").className = good ? "message ok" : "message";
}

function explain(error) {
  return error.field ? `${error.message} (${error.field})` : error.message;
}

// A template with {name} filled from values (a missing value leaves the name as it is).
function fill(template, values) {
  return template.replace(/\{(\w+)\}/g, (whole, name) => (values[name] ?? whole));
}

// A validation error in the page's language, from its code and params; the server's English message when the
// catalogue does not know the code (a newer server).
function problemText(error) {
  const key = `flow_error_${error.code}`;
  if (!error.code || !(key in CATALOGUE.zh)) return error.message;
  const params = error.params || {};
  const values = { ...params };
  if (params.kind) values.kind = t(`kind_${params.kind}`);
  if (params.type) values.type = t(`type_${params.type}`);
  if (params.param) values.param = t(`param_${params.param}`).replace(/ \(.*\)$/, "");
  if (params.branches) values.branches = params.branches.map((b) => t(`branch_${b}`)).join(" / ");
  if (params.levels) values.levels = params.levels.join(", ");
  if (params.reason) values.reason = `reason_${params.reason}` in CATALOGUE.zh ? fill(t(`reason_${params.reason}`), params)
    : error.message;
  return fill(t(key), values);
}

function branchesOf(node) {
  return BRANCHES[node.type] || BRANCHES[node.kind] || null;
}

// -- session: this page needs a paired device and a manager logged in ------------------------------------------------

function showScreen(name) {
  for (const screen of ["unpaired", "login", "editor"]) $(`screen-${screen}`).hidden = screen !== name;
  $("logout").hidden = name !== "editor";
  if (name === "login") $("pin").focus();
}

async function begin() {
  translatePage();
  if (!Stored.get("device")) return showScreen("unpaired");
  if (!Stored.get("session")) return showScreen("login");
  $("who").textContent = Stored.get("session").staff.name;
  try {
    await loadFlows();
  } catch (error) {
    if (error.status === 401) { Stored.set("session", null); return showScreen("login"); }
    showScreen("editor");
    return say(error.status === 403 ? t("flows_needs_manager") : explain(error));
  }
  showScreen("editor");
}

async function logIn(event) {
  event.preventDefault();
  $("login-message").textContent = "";
  try {
    const answer = await api("POST", "/auth/login", { pin: $("pin").value });
    Stored.set("session", { token: answer.token, staff: answer.staff });
    $("pin").value = "";
    await begin();
  } catch (error) {
    if (error.status === 401 && error.field !== "pin") { Stored.set("device", null); return begin(); }
    $("login-message").textContent = explain(error);
  }
}

async function logOut() {
  try { await api("POST", "/auth/logout", undefined, { key: null }); } catch { /* the session ends here anyway */ }
  Stored.set("session", null);
  begin();
}

// -- flows: list, choose, save, validate, preview, activate ---------------------------------------------------------

async function loadFlows(chosenId) {
  state.flows = (await api("GET", "/marketing/flows")).flows;
  const [tags, segments] = await Promise.all([api("GET", "/insight/tags"), api("GET", "/insight/segments")]);
  state.insight = { tag: tags.tags, segment: segments.segments };
  const pick = $("flow-pick");
  pick.replaceChildren(new Option(t("flows_new"), ""),
    ...state.flows.map((f) => new Option(`${f.name} · ${t(`status_${f.status}`)}`, f.id)));
  const chosen = state.flows.find((f) => f.id === chosenId);
  pick.value = chosen ? chosen.id : "";
  openFlow(chosen ? structuredClone(chosen) : (state.flow && !chosenId ? state.flow : blankFlow()));
}

function openFlow(flow) {
  state.flow = flow;
  state.selected = null;
  state.errors = {};
  state.errorList = [];
  state.counts = {};
  $("flow-name").value = flow.name;
  $("flow-reentry").value = flow.reentry?.mode || "never";
  $("flow-reentry-days").value = flow.reentry?.days ?? "";
  showReentryDays();
  $("flow-status").textContent = t(`status_${flow.status}`);
  $("errors").replaceChildren();
  $("preview").hidden = true;
  render();
}

// The days field shows only for "again after N days"; what is typed goes to the server as typed (it names a bad one).
function showReentryDays() {
  const hidden = $("flow-reentry").value !== "after_days";
  $("flow-reentry-days").hidden = hidden;
  document.querySelector("label[for=flow-reentry-days]").hidden = hidden;
}

function reentry() {
  if ($("flow-reentry").value !== "after_days") return { mode: "never" };
  const text = $("flow-reentry-days").value.trim();
  return { mode: "after_days", days: /^\d+$/.test(text) ? Number(text) : (text || null) };
}

function body() {
  const flow = state.flow;
  return {
    name: $("flow-name").value.trim(),
    reentry: reentry(),
    nodes: flow.nodes.map(({ id, type, kind, params, x, y }) => ({ id, type, kind, params, x, y })),
    edges: flow.edges.map(({ from, to, branch }) => ({ from, to, branch: branch || null })),
  };
}

async function save() {
  say("");
  try {
    const saved = state.flow.id
      ? await api("PATCH", `/marketing/flows/${state.flow.id}`, body())
      : await api("POST", "/marketing/flows", body());
    await loadFlows(saved.id);
    say(t("flows_saved"), true);
    return true;
  } catch (error) {
    say(explain(error));
    return false;
  }
}

function showErrors(errors) {
  state.errorList = errors;
  renderErrors();
  render();
}

// The errors (kept as the server gave them) in the page's language: on their nodes and in the list.
function renderErrors() {
  state.errors = {};
  const list = $("errors");
  list.replaceChildren();
  for (const error of state.errorList) {
    const text = problemText(error);
    if (error.node) (state.errors[error.node] ||= []).push(text);
    const item = document.createElement("li");
    item.textContent = text;
    list.append(item);
  }
}

// Activation or a dry run refused an invalid flow: validation shows every error, translated, on its node.
async function refusedAsInvalid(error) {
  if (error.code !== "flow_invalid") return false;
  await validate();
  say(t("flows_invalid"));
  return true;
}

async function validate() {
  say("");
  try {
    const { nodes, edges } = body();
    const answer = await api("POST", "/marketing/flows/validate", { nodes, edges });
    showErrors(answer.errors);
    if (answer.valid) say(t("flows_valid"), true);
  } catch (error) { say(explain(error)); }
}

async function dryRun() {
  say("");
  if (state.flow.status !== "active" && !(await save())) return;
  try {
    const preview = await api("GET", `/marketing/flows/${state.flow.id}/dry-run`);
    showErrors([]);
    state.counts = preview.reached;
    render();
    const panel = $("preview");
    panel.hidden = false;
    const heading = document.createElement("h2");
    heading.textContent = `${t("flows_reached")}: ${t("flows_entered")} ${preview.entered} · ` +
      `${t("flows_resumed")} ${preview.resumed}`;
    const table = document.createElement("table");
    const caption = table.createCaption();
    caption.textContent = t("flows_sample");
    const head = table.createTHead().insertRow();
    for (const key of ["flows_code", "flows_phone"]) {
      const th = document.createElement("th");
      th.textContent = t(key);
      head.append(th);
    }
    const rows = table.createTBody();
    for (const person of preview.sample) {
      const row = rows.insertRow();
      row.insertCell().textContent = person.code;
      row.insertCell().textContent = person.phone_masked || "-";
    }
    if (!preview.sample.length) rows.insertRow().insertCell().textContent = t("flows_none");
    panel.replaceChildren(heading, table);
  } catch (error) {
    if (!(await refusedAsInvalid(error))) say(explain(error));
  }
}

async function setActive(active) {
  say("");
  if (!state.flow.id && !(await save())) return;
  try {
    const flow = await api("POST", `/marketing/flows/${state.flow.id}/${active ? "activate" : "pause"}`);
    await loadFlows(flow.id);
  } catch (error) {
    if (!(await refusedAsInvalid(error))) say(explain(error));
  }
}

// -- editing the graph ------------------------------------------------------------------------------------------------

function nextId(type) {
  const prefix = type[0];
  let n = 1;
  while (state.flow.nodes.some((node) => node.id === `${prefix}${n}`)) n += 1;
  return `${prefix}${n}`;
}

function addNode(type) {
  const flow = state.flow;
  const index = flow.nodes.length;
  const node = { id: nextId(type), type, kind: Object.keys(KINDS[type])[0], params: {},
                 x: 30 + (index % 5) * 260, y: 30 + Math.floor(index / 5) * 130 };
  flow.nodes.push(node);
  select({ node: node.id });
  nodeElement(node.id)?.focus();
}

function findNode(id) {
  return state.flow.nodes.find((node) => node.id === id);
}

function addEdge(from, to, branch) {
  const source = findNode(from);
  const branches = branchesOf(source);
  if (from === to) return;
  if (branches && !branch) branch = branches.find((b) => !state.flow.edges.some((e) => e.from === from && e.branch === b));
  if (!branches) branch = null;
  state.flow.edges = state.flow.edges.filter((e) => !(e.from === from && (e.branch || null) === (branch || null)));
  state.flow.edges.push({ from, to, branch: branch || null });
  render();
  renderInspector();
}

function removeSelected() {
  const selected = state.selected;
  if (!selected) return;
  if (selected.node) {
    state.flow.nodes = state.flow.nodes.filter((n) => n.id !== selected.node);
    state.flow.edges = state.flow.edges.filter((e) => e.from !== selected.node && e.to !== selected.node);
  } else {
    state.flow.edges.splice(selected.edge, 1);
  }
  select(null);
}

function select(selected) {
  state.selected = selected;
  render();
  renderInspector();
}

// -- drawing ---------------------------------------------------------------------------------------------------------

function svg(tag, attrs = {}, text) {
  const element = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs)) element.setAttribute(name, value);
  if (text !== undefined) element.textContent = text;
  return element;
}

function nodeElement(id) {
  return document.querySelector(`#nodes [data-node="${CSS.escape(id)}"]`);
}

function summary(node) {
  return (KINDS[node.type]?.[node.kind] || []).filter(([name]) => node.params[name] !== undefined)
    .map(([name, input]) => `${t(`param_${name}`).replace(/ \(.*\)$/, "")} ${shownValue(node.params[name], input)}`)
    .join(" · ").slice(0, 30);
}

function insightName(input, id) {
  return state.insight[input].find((item) => item.id === id)?.name ?? id;
}

function shownValue(value, input) {
  if (input === "fen") return yuan(value);
  if (input === "levels") return value.join(",");
  if (input === "channel") return t(`channel_${value}`);
  if (input === "tag" || input === "segment") return insightName(input, value);
  return String(value);
}

function render() {
  const flow = state.flow;
  const edges = $("edges"), nodes = $("nodes");
  edges.replaceChildren();
  nodes.replaceChildren();
  flow.edges.forEach((edge, index) => {
    const from = findNode(edge.from), to = findNode(edge.to);
    if (!from || !to) return;
    const x1 = from.x + NODE_W, y1 = from.y + NODE_H / 2, x2 = to.x, y2 = to.y + NODE_H / 2;
    const bend = Math.max(40, Math.abs(x2 - x1) / 2);
    const d = `M ${x1} ${y1} C ${x1 + bend} ${y1}, ${x2 - bend} ${y2}, ${x2} ${y2}`;
    const selected = state.selected && state.selected.edge === index;
    const group = svg("g", { class: `edge${selected ? " selected" : ""}`, "data-edge": index,
                             "data-from": edge.from, "data-to": edge.to });
    group.append(svg("path", { d, class: "hit" }), svg("path", { d, class: "line", "marker-end": "url(#arrow)" }));
    if (edge.branch) group.append(svg("text", { x: (x1 + x2) / 2, y: (y1 + y2) / 2 - 6 }, t(`branch_${edge.branch}`)));
    group.addEventListener("pointerdown", (event) => { event.stopPropagation(); select({ edge: index }); });
    edges.append(group);
  });
  for (const node of flow.nodes) {
    const problems = state.errors[node.id] || [];
    const selected = state.selected && state.selected.node === node.id;
    const label = `${t(`type_${node.type}`)}: ${t(`kind_${node.kind}`)}`;
    const group = svg("g", {
      class: `node ${node.type}${selected ? " selected" : ""}${problems.length ? " invalid" : ""}`,
      transform: `translate(${node.x} ${node.y})`, tabindex: "0", role: "button", "data-node": node.id,
      "aria-label": `${node.id} ${label}${problems.length ? ` — ${problems.join("; ")}` : ""}`,
    });
    group.append(svg("rect", { width: NODE_W, height: NODE_H, rx: 10 }),
                 svg("text", { x: 10, y: 22, class: "title" }, `${node.id} · ${label}`),
                 svg("text", { x: 10, y: 46 }, summary(node)));
    if (state.counts[node.id] !== undefined) {
      group.append(svg("text", { x: NODE_W - 10, y: -6, "text-anchor": "end", class: "count" }, `${state.counts[node.id]}`));
    }
    problems.forEach((problem, i) => group.append(svg("text", { x: 0, y: NODE_H + 18 + i * 16, class: "error" },
                                                          problem.length > 48 ? `${problem.slice(0, 47)}…` : problem)));
    const port = svg("circle", { cx: NODE_W, cy: NODE_H / 2, r: 9, class: "port", "data-port": node.id });
    group.append(port);
    group.addEventListener("pointerdown", (event) => startDrag(event, node, event.target === port));
    group.addEventListener("keydown", (event) => nodeKey(event, node));
    nodes.append(group);
  }
}

// -- pointer and keyboard on the canvas ------------------------------------------------------------------------------

function canvasPoint(event) {
  const box = $("canvas").getBoundingClientRect();
  return { x: event.clientX - box.left, y: event.clientY - box.top };
}

function startDrag(event, node, fromPort) {
  event.preventDefault();
  event.stopPropagation();
  const point = canvasPoint(event);
  state.drag = { node: node.id, fromPort, dx: point.x - node.x, dy: point.y - node.y };
  if (!fromPort) select({ node: node.id });
}

function moveDrag(event) {
  const drag = state.drag;
  if (!drag) return;
  const point = canvasPoint(event);
  const node = findNode(drag.node);
  if (drag.fromPort) {
    const rubber = $("rubber");
    rubber.hidden = false;
    rubber.setAttribute("d", `M ${node.x + NODE_W} ${node.y + NODE_H / 2} L ${point.x} ${point.y}`);
    return;
  }
  node.x = Math.max(0, Math.round(point.x - drag.dx));
  node.y = Math.max(0, Math.round(point.y - drag.dy));
  nodeElement(node.id).setAttribute("transform", `translate(${node.x} ${node.y})`);
}

function endDrag(event) {
  const drag = state.drag;
  state.drag = null;
  if (!drag) return;
  $("rubber").hidden = true;
  if (drag.fromPort) {
    const target = document.elementsFromPoint(event.clientX, event.clientY)
      .map((element) => element.closest && element.closest("[data-node]")).find(Boolean);
    if (target && target.dataset.node !== drag.node) addEdge(drag.node, target.dataset.node);
  } else {
    render();
    nodeElement(drag.node)?.focus();
  }
}

function nodeKey(event, node) {
  const step = { ArrowLeft: [-10, 0], ArrowRight: [10, 0], ArrowUp: [0, -10], ArrowDown: [0, 10] }[event.key];
  if (event.key === "Enter" || event.key === " ") {
    event.preventDefault();
    select({ node: node.id });
    $("node-kind").focus();
  } else if (step) {
    event.preventDefault();
    node.x = Math.max(0, node.x + step[0]);
    node.y = Math.max(0, node.y + step[1]);
    render();
    nodeElement(node.id).focus();
  } else if (event.key === "Delete") {
    select({ node: node.id });
    removeSelected();
  }
}

// -- the inspector: a node's kind, parameters and edges, or an edge --------------------------------------------------

function renderInspector() {
  const selected = state.selected;
  const node = selected && selected.node ? findNode(selected.node) : null;
  const edge = selected && selected.edge !== undefined ? state.flow.edges[selected.edge] : null;
  $("inspector-empty").hidden = Boolean(node || edge);
  $("node-form").hidden = !node;
  $("edge-form").hidden = !edge;
  if (edge) {
    $("edge-label").textContent = `${t("flows_edge")}: ${edge.from} → ${edge.to}`;
    const branches = branchesOf(findNode(edge.from));
    $("edge-branch").replaceChildren(...(branches || [""]).map((b) => new Option(b ? t(`branch_${b}`) : "—", b)));
    $("edge-branch").value = edge.branch || "";
    $("edge-branch").disabled = !branches;
  }
  if (!node) return;
  $("node-id").textContent = node.id;
  $("node-type").textContent = t(`type_${node.type}`);
  $("node-kind").replaceChildren(...Object.keys(KINDS[node.type]).map((kind) => new Option(t(`kind_${kind}`), kind)));
  $("node-kind").value = node.kind;
  const fields = (KINDS[node.type][node.kind] || []).map(([name, input, required]) => paramField(node, name, input,
                                                                                                  required));
  $("node-params").replaceChildren(...fields.flat());
  const others = state.flow.nodes.filter((n) => n.id !== node.id && n.type !== "trigger");
  $("connect-to").replaceChildren(...others.map((n) => new Option(`${n.id} · ${t(`kind_${n.kind}`)}`, n.id)));
  const branches = branchesOf(node);
  $("connect-branch").replaceChildren(...(branches || [""]).map((b) => new Option(b ? t(`branch_${b}`) : "—", b)));
  $("connect-branch").disabled = !branches;
}

function paramField(node, name, input, required) {
  const id = `param-${name}`;
  const label = document.createElement("label");
  label.htmlFor = id;
  label.textContent = `${t(`param_${name}`)}${required ? "" : ` ${t("flows_optional")}`}`;
  let control;
  if (input === "channel") {
    control = document.createElement("select");
    control.append(new Option("—", ""), ...["sms", "wechat"].map((c) => new Option(t(`channel_${c}`), c)));
  } else if (input === "tag" || input === "segment") {
    control = document.createElement("select");
    control.append(new Option("—", ""), ...state.insight[input].map((item) => new Option(item.name, item.id)));
  } else {
    control = document.createElement("input");
    control.autocomplete = "off";
    if (input === "int" || input === "fen") control.inputMode = input === "fen" ? "decimal" : "numeric";
  }
  control.id = id;
  const value = node.params[name];
  control.value = value === undefined ? "" : input === "fen" ? yuan(value).replace("¥", "")
    : input === "levels" ? value.join(",") : String(value);
  control.addEventListener("input", () => {
    const text = control.value.trim();
    let parsed = text;
    if (text === "") parsed = undefined;
    else if (input === "int") parsed = /^\d+$/.test(text) ? Number(text) : text;
    else if (input === "fen") parsed = fenOf(text) ?? text;
    else if (input === "levels") parsed = text.split(/[,，]/).map((s) => s.trim()).filter(Boolean);
    if (parsed === undefined) delete node.params[name];
    else node.params[name] = parsed;
    render();
  });
  return [label, control];
}

function changeKind() {
  const node = findNode(state.selected.node);
  node.kind = $("node-kind").value;
  node.params = {};
  state.flow.edges.forEach((edge) => { if (edge.from === node.id) edge.branch = null; });
  render();
  renderInspector();
}

// -- wiring ---------------------------------------------------------------------------------------------------------

function wire() {
  $("language").addEventListener("click", () => { switchLanguage(); renderErrors(); render(); renderInspector(); });
  $("logout").addEventListener("click", logOut);
  $("login-form").addEventListener("submit", logIn);
  $("flow-pick").addEventListener("change", () => {
    const chosen = state.flows.find((f) => f.id === $("flow-pick").value);
    openFlow(chosen ? structuredClone(chosen) : blankFlow());
  });
  for (const type of ["trigger", "condition", "action", "wait"]) $(`add-${type}`).addEventListener("click", () => addNode(type));
  $("flow-reentry").addEventListener("change", showReentryDays);
  $("save").addEventListener("click", save);
  $("validate").addEventListener("click", validate);
  $("dry-run").addEventListener("click", dryRun);
  $("activate").addEventListener("click", () => setActive(true));
  $("pause").addEventListener("click", () => setActive(false));
  $("node-kind").addEventListener("change", changeKind);
  $("connect").addEventListener("click", () => {
    if ($("connect-to").value) addEdge(state.selected.node, $("connect-to").value, $("connect-branch").value || null);
  });
  $("delete-node").addEventListener("click", removeSelected);
  $("delete-edge").addEventListener("click", removeSelected);
  $("edge-branch").addEventListener("change", () => {
    state.flow.edges[state.selected.edge].branch = $("edge-branch").value || null;
    render();
  });
  $("canvas").addEventListener("pointerdown", () => select(null));
  window.addEventListener("pointermove", moveDrag);
  window.addEventListener("pointerup", endDrag);
  Connection.onBack(begin);
}

wire();
state.flow = blankFlow();
begin();
