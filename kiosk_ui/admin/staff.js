// Staff and PINs: the list, a role change, deactivation, a PIN reset with a manager's PIN, and adding staff.
// A PIN is typed into a password box, sent once and cleared: the server never answers one and this page shows none.
"use strict";

const ROLES = ["cashier", "manager", "admin"];
const team = { staff: [], resetting: null };

function roleSelect(member) {
  const select = el("select", { attrs: { "aria-label": `${t("role")} ${member.name}` } },
    ...ROLES.map((role) => el("option", { value: role, text: t(`role_${role}`), selected: role === member.role })));
  select.addEventListener("change", () => change(member, { role: select.value }));
  return select;
}

async function loadStaff() {
  try {
    team.staff = (await api("GET", "/staff")).staff;
    renderStaff();
  } catch (error) { say("staff-message", explain(error)); }
}

function renderStaff() {
  const me = Stored.get("session").staff;
  fillTable($("staff"), team.staff.map((member) => [
    member.name, member.id === me.id ? t(`role_${member.role}`) : roleSelect(member),
    t(member.active ? "staff_active" : "inactive"),
    member.id === me.id ? t("you") : button(member.active ? "deactivate" : "reactivate",
                                           () => change(member, { active: !member.active }),
                                           member.active ? "danger" : "secondary"),
    button("pin_reset", () => showReset(member)),
  ]));
  Array.from($("staff").rows).forEach((row, i) => {
    row.dataset.staffId = team.staff[i].id;
    row.classList.toggle("inactive", !team.staff[i].active);
  });
  $("staff-role").replaceChildren(...ROLES.map((role) => el("option", { value: role, text: t(`role_${role}`) })));
}

async function change(member, fields) {
  say("staff-message", "");
  try {
    const changed = await api("PATCH", `/staff/${member.id}`, fields);
    say("staff-message", `${changed.name}: ${t(`role_${changed.role}`)} · ${t(changed.active ? "staff_active" : "inactive")}`,
        true);
  } catch (error) { say("staff-message", explain(error)); }
  await loadStaff();
}

function showReset(member) {
  team.resetting = member;
  $("pin-reset-title").textContent = `${t("pin_reset")}: ${member.name}`;
  say("pin-reset-message", "");
  $("pin-reset").hidden = false;
  $("reset-pin").focus();
}

async function resetPin(event) {
  event.preventDefault();
  const pin = $("reset-pin").value;
  const approval = $("reset-approval").value;
  $("reset-pin").value = "";
  $("reset-approval").value = "";
  try {
    const member = await api("POST", `/staff/${team.resetting.id}/pin`, { pin, approval: { pin: approval } });
    say("pin-reset-message", `${member.name}: ${t("pin_was_reset")}`, true);
  } catch (error) { say("pin-reset-message", explain(error)); }
}

async function addStaff(event) {
  event.preventDefault();
  say("staff-add-message", "");
  const pin = $("staff-pin").value;
  $("staff-pin").value = "";
  try {
    const added = await api("POST", "/staff", { name: $("staff-name").value.trim(), role: $("staff-role").value, pin });
    $("staff-name").value = "";
    say("staff-add-message", `${t("staff_added")}: ${added.name} (${t(`role_${added.role}`)})`, true);
    await loadStaff();
  } catch (error) {
    say("staff-add-message", error.status === 403 ? `${t("staff_add_admin_only")} — ${error.message}` : explain(error));
  }
}

startArea(async () => {
  $("pin-reset-form").addEventListener("submit", resetPin);
  $("pin-reset-cancel").addEventListener("click", () => { $("pin-reset").hidden = true; });
  $("staff-form").addEventListener("submit", addStaff);
  document.addEventListener("languagechange", renderStaff);
  await loadStaff();
});
