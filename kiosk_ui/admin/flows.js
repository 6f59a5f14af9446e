// Back office: marketing flows (营销流程) drawn on a canvas of plain SVG. Nodes (trigger, condition, action, wait)
// are dragged, joined by dragging from a node's port (or with the inspector's "connect" for keyboard users),
// their parameters edited in the inspector; the flow is saved as data, validated (errors shown on the node),
// previewed with a dry run, activated and paused. Works on its own: device token and staff session from Stored.
"use strict";

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
    say(error.field?.startsWith("reentry") ? t("flows_reentry_bad") : explain(error));
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
