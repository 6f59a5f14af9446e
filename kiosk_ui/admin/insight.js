// Back office, customer insight: member profile lookup, the segment builder with live counts, tags and their
// rules, the churn-warning list. Works on its own: the device token and staff session come from Stored.
"use strict";

const $ = (id) => document.getElementById(id);
const COUNT_DELAY_MS = 250;
const page = { tags: [], status: null, countTimer: null, shownMember: null, editing: null };
// Criteria a saved segment may hold that the builder has no control for: kept as they are when it is saved back.
const UNSHOWN_CRITERIA = ["tags_any", "tags_none", "min_p_buy", "max_p_buy"];

function say(where, text) { $(`${where}-message`).textContent = text || ""; }
function explain(error) { return error.field ? `${error.message} (${error.field})` : error.message; }

function show(screen) {
  ["unpaired", "login", "main"].forEach((name) => { $(`screen-${name}`).hidden = name !== screen; });
  $("logout").hidden = screen !== "main";
  if (screen === "login") $("pin").focus();
}

function item(...texts) {
  const li = document.createElement("li");
  li.textContent = texts.filter((text) => text !== null && text !== undefined && text !== "").join(" · ");
  return li;
}

function facts(rows) {
  return rows.map(([name, value]) => {
    const row = document.createElement("div");
    const label = document.createElement("span");
    const text = document.createElement("span");
    label.textContent = name;
    text.textContent = value;
    row.append(label, text);
    return row;
  });
}

function chip(group, value, label) {
  const wrap = document.createElement("label");
  const box = document.createElement("input");
  box.type = "checkbox";
  box.name = group;
  box.value = value;
  box.addEventListener("change", countSoon);
  wrap.append(box, document.createTextNode(label));
  return wrap;
}

function checked(group) {
  return Array.from(document.querySelectorAll(`input[name=${group}]:checked`), (box) => box.value);
}

function tick(group, values) {
  const wanted = new Set(values || []);
  document.querySelectorAll(`input[name=${group}]`).forEach((box) => { box.checked = wanted.has(box.value); });
}

function button(key, onClick) {
  const made = document.createElement("button");
  made.type = "button";
  made.className = "secondary";
  made.dataset.t = key;
  made.textContent = t(key);
  made.addEventListener("click", onClick);
  return made;
}

// -- session -------------------------------------------------------------------------------------------------

async function login(event) {
  event.preventDefault();
  say("login", "");
  try {
    const answer = await api("POST", "/auth/login", { pin: $("pin").value }, { key: null });
    Stored.set("session", { token: answer.token, staff: answer.staff });
    $("pin").value = "";
    start();
  } catch (error) { say("login", explain(error)); }
}

function logout() {
  Stored.set("session", null);
  start();
}

async function start() {
  translatePage();
  if (!Stored.get("device")) return show("unpaired");
  const session = Stored.get("session");
  if (!session) return show("login");
  $("who").textContent = session.staff ? session.staff.name : "";
  show("main");
  try {
    await loadStatus();
    await Promise.all([loadTags(), loadSegments(), loadChurn()]);
    countNow();
  } catch (error) {
    if (error.status === 401) { Stored.set("session", null); return show("login"); }
    $("refresh-status").textContent = explain(error);
  }
}

// -- refresh ----------------------------------------------------------------------------------------------------

async function loadStatus() {
  page.status = await api("GET", "/insight/status");
  const last = page.status.last_refresh;
  $("refresh-status").textContent = last ? `${t("ins_refreshed")}: ${last.as_of} (${last.members})` : "";
  const fill = (id, group, values, label) => {
    const wanted = checked(group);
    $(id).replaceChildren(...values.map((value) => chip(group, value, label(value))));
    tick(group, wanted);
  };
  fill("pick-segments", "segments", page.status.segments, segmentLabel);
  fill("pick-lifecycles", "lifecycles", page.status.lifecycles, (value) => t(`life_${value}`));
  fill("pick-levels", "levels", page.status.levels, (value) => value);
}

async function refresh() {
  try {
    const done = await api("POST", "/insight/refresh", { full: false });
    $("refresh-status").textContent = `${t("ins_refreshed")}: ${done.as_of} (${done.members})`;
    await Promise.all([loadTags(), loadSegments(), loadChurn()]);
    countNow();
    if (page.shownMember) showProfile(page.shownMember);
  } catch (error) { $("refresh-status").textContent = explain(error); }
}

// -- member profile --------------------------------------------------------------------------------------------

async function lookup(event) {
  event.preventDefault();
  say("lookup", "");
  const query = $("lookup-query").value.trim();
  const param = /^\+?\d{11,13}$/.test(query) ? "phone" : "code";
  try {
    const found = await api("GET", `/members?${param}=${encodeURIComponent(query)}`);
    await showProfile(found.members[0].id);
  } catch (error) { say("lookup", explain(error)); }
}

async function showProfile(memberId) {
  const profile = await api("GET", `/members/${memberId}/profile`);
  page.shownMember = memberId;
  const member = profile.member;
  const rows = [[member.code, `${member.name_masked || ""} ${member.phone_masked || ""}`], [t("level"), member.level]];
  if (profile.computed) {
    const rfm = profile.rfm;
    const slots = profile.time_slots;
    const p = profile.prediction;
    rows.push(
      [t("ins_segment"), segmentLabel(rfm.segment)],
      [t("ins_rfm"), rfm.r ? `R${rfm.r} F${rfm.f} M${rfm.m}` : t("ins_none")],
      [t("ins_lifecycle"), t(`life_${profile.lifecycle}`)],
      [t("ins_recency"), rfm.recency_days ?? "-"],
      [t("ins_frequency"), String(rfm.frequency)],
      [t("ins_monetary"), yuan(rfm.monetary)],
      [t("ins_basket"), yuan(profile.average_basket)],
      [t("ins_interval"), profile.usual_interval_days ?? "-"],
      [t("ins_favourites"), profile.favourite_categories.join("、") || t("ins_none")],
      [t("ins_tender"), profile.preferred_tender || "-"],
      [t("ins_slots"), `${t("ins_weekday")} ${slots.weekday} / ${t("ins_weekend")} ${slots.weekend}` +
        (slots.top_hour === null ? "" : ` · ${t("ins_top_hour")} ${slots.top_hour}:00`)],
      [t("ins_p_buy"), p.p_buy_30d === null ? "-" : `${Math.round(p.p_buy_30d * 100)}%`],
      [t("ins_next"), p.next_purchase || "-"],
    );
  } else {
    rows.push([t("ins_segment"), t("ins_not_computed")]);
  }
  rows.push([t("ins_tags"), profile.tags.map((tag) => tag.name).join("、") || t("ins_none")]);
  $("profile").replaceChildren(...facts(rows));
  showTagForm();
}

function showTagForm() {
  $("member-tag-form").hidden = !page.shownMember || !page.tags.some((tag) => tag.kind === "manual");
}

async function tagMember(event) {
  event.preventDefault();
  try {
    await api("POST", `/members/${page.shownMember}/tags`, { tag_id: $("member-tag").value });
    await Promise.all([showProfile(page.shownMember), loadTags()]);
  } catch (error) { say("lookup", explain(error)); }
}

// -- segment builder ---------------------------------------------------------------------------------------------

function criteria() {
  const spend = (id) => {
    const text = $(id).value.trim();
    return text ? fenOf(text) : null;
  };
  return {
    ...(page.editing ? page.editing.unshown : {}),
    segments: checked("segments"), lifecycles: checked("lifecycles"), levels: checked("levels"),
    tags_all: checked("tags"), min_monetary: spend("min-spend"), max_monetary: spend("max-spend"),
  };
}

function countSoon() {
  clearTimeout(page.countTimer);
  page.countTimer = setTimeout(countNow, COUNT_DELAY_MS);
}

async function countNow() {
  say("builder", "");
  try {
    const answer = await api("POST", "/insight/segments/preview", { criteria: criteria(), limit: 10 });
    $("segment-count").textContent = String(answer.count);
    $("segment-members").replaceChildren(...answer.members.map((m) => item(
      m.code, m.phone_masked, m.level, segmentLabel(m.segment), t(`life_${m.lifecycle}`), yuan(m.monetary))));
  } catch (error) { say("builder", explain(error)); }
}

async function saveSegment(event) {
  event.preventDefault();
  const body = { name: $("segment-name").value.trim(), criteria: criteria() };
  try {
    if (page.editing) await api("PUT", `/insight/segments/${page.editing.id}`, body);
    else await api("POST", "/insight/segments", body);
    stopEditing();
    await loadSegments();
  } catch (error) { say("builder", explain(error)); }
}

async function loadSegments() {
  const { segments } = await api("GET", "/insight/segments");
  $("saved-segments").replaceChildren(...segments.map((segment) => {
    const line = item(segment.name, `${segment.count} ${t("ins_members")}`);
    line.append(" ", button("ins_edit_segment", () => editSegment(segment)));
    return line;
  }));
}

// A saved segment into the builder: its choices ticked, its spend in yuan, its name ready to change.
function editSegment(segment) {
  const held = segment.criteria;
  const unshown = Object.fromEntries(UNSHOWN_CRITERIA.filter((key) => key in held).map((key) => [key, held[key]]));
  page.editing = { id: segment.id, name: segment.name, unshown };
  ["segments", "lifecycles", "levels"].forEach((group) => tick(group, held[group]));
  tick("tags", held.tags_all);
  const spend = (fen) => (fen === undefined || fen === null ? "" : (fen / 100).toFixed(2));
  $("min-spend").value = spend(held.min_monetary);
  $("max-spend").value = spend(held.max_monetary);
  $("segment-name").value = segment.name;
  showEditing();
  countNow();
}

function stopEditing() {
  page.editing = null;
  $("segment-name").value = "";
  showEditing();
}

function showEditing() {
  $("editing").hidden = $("cancel-edit").hidden = !page.editing;
  $("editing-name").textContent = page.editing ? page.editing.name : "";
  const save = $("save-segment-button");
  save.dataset.t = page.editing ? "ins_save_changes" : "ins_save_segment";
  save.textContent = t(save.dataset.t);
}

// -- tags and rules -------------------------------------------------------------------------------------------------

async function loadTags() {
  page.tags = (await api("GET", "/insight/tags")).tags;
  $("tags").replaceChildren(...page.tags.map((tag) => item(
    tag.group ? `${tag.group} / ${tag.name}` : tag.name, t(tag.kind === "auto" ? "ins_kind_auto" : "ins_kind_manual"),
    `${tag.members} ${t("ins_members")}`,
    ...tag.rules.filter((rule) => rule.active).map((rule) => `${rule.category} ≥${rule.min_times} / ${rule.days}d`))));
  const options = (kind) => page.tags.filter((tag) => tag.kind === kind).map((tag) => {
    const option = document.createElement("option");
    option.value = tag.id;
    option.textContent = tag.name;
    return option;
  });
  $("rule-tag").replaceChildren(...options("auto"));
  $("member-tag").replaceChildren(...options("manual"));
  showTagForm();
  const wanted = new Set(checked("tags"));
  $("pick-tags").replaceChildren(...page.tags.map((tag) => chip("tags", tag.id, tag.name)));
  document.querySelectorAll("input[name=tags]").forEach((box) => { box.checked = wanted.has(box.value); });
}

async function addTag(event) {
  event.preventDefault();
  say("tags", "");
  try {
    await api("POST", "/insight/tags", { name: $("tag-name").value.trim(), group: $("tag-group").value.trim(),
                                         kind: $("tag-kind").value });
    $("tag-name").value = "";
    await loadTags();
  } catch (error) { say("tags", explain(error)); }
}

async function addRule(event) {
  event.preventDefault();
  say("tags", "");
  try {
    await api("POST", `/insight/tags/${$("rule-tag").value}/rules`, {
      category: $("rule-category").value.trim(), min_times: Number($("rule-times").value),
      days: Number($("rule-days").value) });
    await loadTags();
  } catch (error) { say("tags", explain(error)); }
}

// -- churn list ------------------------------------------------------------------------------------------------------

async function loadChurn() {
  const { members } = await api("GET", "/insight/churn?limit=50");
  $("churn").replaceChildren(...members.map((m) => item(
    m.code, m.phone_masked, segmentLabel(m.segment), t(`life_${m.lifecycle}`), yuan(m.monetary),
    `${t("ins_last_visit")} ${m.last_visit}`, `${t("ins_p_buy")} ${Math.round(m.p_buy_30d * 100)}%`)));
}

// -- wiring -------------------------------------------------------------------------------------------------------

$("login-form").addEventListener("submit", login);
$("logout").addEventListener("click", logout);
$("language").addEventListener("click", () => { switchLanguage(); start(); });
$("refresh").addEventListener("click", refresh);
$("lookup-form").addEventListener("submit", lookup);
$("member-tag-form").addEventListener("submit", tagMember);
$("builder").addEventListener("input", countSoon);
$("save-segment").addEventListener("submit", saveSegment);
$("cancel-edit").addEventListener("click", stopEditing);
$("tag-form").addEventListener("submit", addTag);
$("rule-form").addEventListener("submit", addRule);
Connection.onBack(start);
start();
