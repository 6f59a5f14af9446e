// Settings: what a manager changes while the shop runs (each on its own page), and the config file, read-only.
"use strict";

const AREA_PAGES = { products: "products.html", stock: "stock.html", staff: "staff.html", devices: "devices.html" };

async function loadSettings() {
  const settings = await api("GET", "/settings");
  $("run-time").replaceChildren(...settings.run_time.map((item) => el("li", {},
    AREA_PAGES[item.area] ? el("a", { href: `/admin/${AREA_PAGES[item.area]}`, text: t(`run_time_${item.area}`) })
      : el("span", { text: t(`run_time_${item.area}`) }))));
  $("versions").textContent = `StoreEdge ${settings.version} · ${t("schema_version")} ${settings.schema_version}`;
  fillTable($("config"), settings.config.map((row) => [
    row.key, typeof row.value === "object" && row.value !== null ? JSON.stringify(row.value) : row.value]));
}

startArea(async () => {
  document.addEventListener("languagechange", loadSettings);
  await loadSettings();
});
