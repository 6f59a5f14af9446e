// The member card's insight lines on the cashier tablet: segment, lifecycle, favourite categories, tags.
// Kept in its own file: pos.js only calls memberInsight.show(id) and memberInsight.hide().
"use strict";

const memberInsight = {
  shownFor: null,

  async show(memberId) {
    this.shownFor = memberId;
    let profile;
    try {
      profile = await api("GET", `/members/${memberId}/profile`);
    } catch { return this.hide(); }  // insight is a nice-to-have at the till: never in the cashier's way
    if (this.shownFor !== memberId) return;
    const box = document.getElementById("member-insight");
    const facts = profile.computed ? [
      [t("ins_segment"), segmentLabel(profile.rfm.segment)],
      [t("ins_lifecycle"), t(`life_${profile.lifecycle}`)],
      [t("ins_favourites"), profile.favourite_categories.join("、") || t("ins_none")],
      [t("ins_tags"), profile.tags.map((tag) => tag.name).join("、") || t("ins_none")],
    ] : [[t("ins_segment"), t("ins_not_computed")]];
    box.replaceChildren(...facts.map(([name, value]) => {
      const row = document.createElement("div");
      const label = document.createElement("span");
      const text = document.createElement("span");
      label.textContent = name;
      text.textContent = value;
      row.append(label, text);
      return row;
    }));
    box.hidden = false;
  },

  hide() {
    this.shownFor = null;
    document.getElementById("member-insight").hidden = true;
  },
};
