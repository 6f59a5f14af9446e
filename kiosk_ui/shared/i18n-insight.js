// The insight screens' texts (member profile on the cashier's card, back-office /admin/insight.html), added to
// the shared catalogue from their own file so the screens that do not show insight need not load them.
"use strict";
Object.assign(CATALOGUE.zh, {
  ins_segment: "客群", ins_lifecycle: "生命周期", ins_favourites: "偏好品类", ins_tags: "标签",
  ins_not_computed: "画像尚未生成",
  "life_new": "新客", "life_active": "活跃", "life_at-risk": "有流失风险", "life_sleeping": "沉睡", "life_lost": "流失",
  ins_title: "客户画像", ins_lookup: "会员画像查询", ins_member_query: "会员手机号或会员码", ins_find: "查询",
  ins_rfm: "RFM", ins_recency: "最近消费 (天前)", ins_frequency: "消费天数", ins_monetary: "消费金额",
  ins_basket: "客单价", ins_tender: "常用支付", ins_slots: "到店时段", ins_weekday: "工作日", ins_weekend: "周末",
  ins_top_hour: "最常到店", ins_p_buy: "30天内购买概率", ins_next: "预计下次购买", ins_interval: "平均间隔 (天)",
  ins_builder: "客群筛选", ins_count: "符合条件的会员", ins_min_spend: "最低消费 (元)", ins_max_spend: "最高消费 (元)",
  ins_levels: "等级", ins_segments: "RFM 客群", ins_lifecycles: "生命周期阶段", ins_tags_all: "须含标签",
  ins_save_segment: "保存客群", ins_segment_name: "客群名称", ins_saved: "已保存的客群",
  ins_tags_rules: "标签与规则", ins_tag_name: "标签名称", ins_tag_group: "标签组", ins_tag_kind: "类型",
  ins_kind_auto: "自动 (按规则)", ins_kind_manual: "手动", ins_add_tag: "新建标签", ins_rule: "规则",
  ins_rule_category: "品类", ins_rule_times: "次数至少", ins_rule_days: "天内", ins_add_rule: "添加规则",
  ins_members: "人", ins_churn: "流失预警", ins_refresh: "立即更新画像", ins_refreshed: "画像已更新",
  ins_login_title: "店长登录", ins_need_pairing: "此设备尚未配对，请先到后台首页配对", ins_back_office: "后台首页",
  ins_tag_member: "添加手动标签", ins_none: "无", ins_last_visit: "最近到店",
  ins_edit_segment: "编辑", ins_editing: "正在编辑客群", ins_save_changes: "保存修改", ins_cancel_edit: "取消编辑",
});
Object.assign(CATALOGUE.en, {
  ins_segment: "Segment", ins_lifecycle: "Lifecycle", ins_favourites: "Favourite categories", ins_tags: "Tags",
  ins_not_computed: "No profile yet",
  "life_new": "New", "life_active": "Active", "life_at-risk": "At risk", "life_sleeping": "Sleeping", "life_lost": "Lost",
  ins_title: "Customer insight", ins_lookup: "Member profile", ins_member_query: "Member phone or code", ins_find: "Find",
  ins_rfm: "RFM", ins_recency: "Last purchase (days ago)", ins_frequency: "Purchase days", ins_monetary: "Spend",
  ins_basket: "Average basket", ins_tender: "Usual tender", ins_slots: "Visit times", ins_weekday: "Weekdays",
  ins_weekend: "Weekends", ins_top_hour: "Usual hour", ins_p_buy: "P(buy in 30 days)", ins_next: "Next purchase (est.)",
  ins_interval: "Usual interval (days)",
  ins_builder: "Segment builder", ins_count: "Matching members", ins_min_spend: "Min spend (¥)",
  ins_max_spend: "Max spend (¥)", ins_levels: "Levels", ins_segments: "RFM segments", ins_lifecycles: "Lifecycle stages",
  ins_tags_all: "Must have tags", ins_save_segment: "Save segment", ins_segment_name: "Segment name",
  ins_saved: "Saved segments", ins_tags_rules: "Tags and rules", ins_tag_name: "Tag name", ins_tag_group: "Tag group",
  ins_tag_kind: "Kind", ins_kind_auto: "Automatic (rules)", ins_kind_manual: "Manual", ins_add_tag: "New tag",
  ins_rule: "Rule", ins_rule_category: "Category", ins_rule_times: "At least times", ins_rule_days: "Within days",
  ins_add_rule: "Add rule", ins_members: "members", ins_churn: "Churn warnings", ins_refresh: "Refresh profiles now",
  ins_refreshed: "Profiles refreshed", ins_login_title: "Manager login",
  ins_need_pairing: "This device is not paired yet: pair it on the back-office home page",
  ins_back_office: "Back office", ins_tag_member: "Add a manual tag", ins_none: "none", ins_last_visit: "Last visit",
  ins_edit_segment: "Edit", ins_editing: "Editing segment", ins_save_changes: "Save changes",
  ins_cancel_edit: "Stop editing",
});
// RFM segment names are Chinese terms of the trade; English shows a gloss.
const SEGMENT_GLOSS = {
  "重要价值": "Champions", "重要保持": "Loyal, lapsing", "重要发展": "Big spenders, few visits",
  "重要挽留": "Big spenders, lapsing", "一般价值": "Frequent, small baskets", "一般保持": "Frequent, lapsing",
  "一般发展": "Recent, occasional", "一般挽留": "Low value, lapsing",
};
function segmentLabel(name) {
  if (!name) return t("ins_none");
  return language === "en" ? `${SEGMENT_GLOSS[name] || name} (${name})` : name;
}
