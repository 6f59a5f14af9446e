// The translation catalogue: every text on a screen comes from here. Simplified Chinese by default.
"use strict";
const CATALOGUE = {
  zh: {
    offline: "无法连接服务器，正在重新连接… 购物车保存在服务器上，不会丢失",
    pair_title: "配对此平板", pair_name: "设备名称", pair_start: "请求配对",
    pair_code: "请店长在后台批准此配对码", pair_waiting: "等待店长批准…", pair_rejected: "配对被拒绝或已过期，请重新请求",
    pair_wrong_store: "此配对链接属于门店 {link}，这里是门店 {here}：请扫描本店打印的配对二维码",
    login_title: "收银员登录", pin: "PIN 密码", login: "登录", clear: "清除",
    shift_title: "开班", opening_float: "备用金 (元)", open_shift: "开班",
    scan_placeholder: "扫描或输入条码后按回车", scan: "扫描",
    cart_empty: "购物车为空，请扫描商品", promotions: "促销优惠", subtotal: "小计", discounts: "优惠合计", total: "应付",
    member: "会员", member_phone: "会员手机号", attach_member: "关联会员", no_member: "未关联会员",
    tender: "收款 (F2)", back: "返回 (Esc)", cash: "现金", tendered: "实收 (元)", exact: "正好",
    pay_cash: "现金收款", change: "找零", scan_pay_placeholder: "扫描顾客付款码", cancel_payment: "取消支付 (撤销)",
    waiting_customer: "等待顾客确认", paid: "支付成功", payment_failed: "支付未完成",
    sale_done: "交易完成", receipt_no: "小票号", next_sale: "下一单 (回车)", logout: "退出", lane: "收银台",
    qty: "数量", language: "English", fewer: "减少", more: "增加", remove: "删除",
    search_placeholder: "搜索商品：名称或编码", suspend: "挂单", resume: "取单", suspended: "挂起的单",
    none_suspended: "没有挂起的单",
    other_tenders: "其他方式 (可组合)", reference: "终端参考号", reference_needed: "请输入终端参考号", amount: "金额",
    tender_card: "银行卡", tender_external: "外部终端/扫码", tender_stored_value: "储值", tender_cash: "现金",
    tender_points: "积分抵现", tender_coupon: "优惠券", coupon_code_needed: "请在参考号栏输入或扫描券码",
    tender_wechat: "微信支付", tender_alipay: "支付宝", tender_unionpay: "云闪付",
    edit_price: "改价", new_price: "新单价 (元)", line_discount_percent: "折扣 (减百分之几)", apply: "确定",
    cash_in_out: "存取现金", cash_in: "存入现金", cash_out: "取出现金", cash_record: "登记", reason: "原因",
    refund: "退货", find: "查找", refund_to: "退款方式", refund_original: "原路退回", refund_no: "退货单号",
    reprint: "重印小票", reprinted: "已重印小票", member_payment_pin: "请顾客输入会员支付密码 (6 位)",
    pay_with_pin: "确认支付", sale_discount: "整单折扣",
    // the server's refusals by error code (the server's own words when a code is not here)
    error_approval_required: "需要店长输入 PIN 批准", error_approval_refused: "批准 PIN 不是店长的 PIN",
    error_too_many_attempts: "PIN 错误次数过多，请稍后再试", error_locked: "已锁定，请稍后再试",
    error_unauthorized: "登录已失效，请重新登录", error_role_required: "此操作需要店长权限",
    error_no_open_shift: "此收银台没有开班，请先开班", error_shift_open: "此收银台已开班",
    error_sale_open: "此收银台已有未完成的交易", error_sale_empty: "购物车为空",
    error_sale_completed: "此交易已完成", error_sale_voided: "此交易已作废", error_sale_suspended: "此交易已挂起",
    error_other_terminal: "此交易在另一台收银机上", error_payment_short: "付款金额不足",
    error_payment_in_flight: "有一笔扫码支付还在等待结果：请等待或撤销", error_nothing_due: "没有待付金额",
    error_amount_exceeds_due: "金额超过待付金额", error_code_used: "此付款码已使用，请顾客刷新付款码",
    error_not_a_payment_code: "这不是付款码", error_member_required: "请先关联会员",
    error_stored_value_short: "储值余额不足", error_points_short: "积分不足",
    error_payment_pin_required: "需要会员支付密码", error_payment_pin_wrong: "会员支付密码错误",
    error_coupon_redeemed: "此优惠券已使用", error_coupon_expired: "此优惠券已过期",
    error_coupon_not_yet_valid: "此优惠券尚未生效", error_coupon_other_member: "此优惠券属于其他会员",
    error_coupon_not_applicable: "本单未达到此优惠券的使用条件", error_invalid_coupon_code: "券码格式不正确",
    error_invalid_member_code: "会员码不正确", error_invalid_phone: "手机号不正确",
    error_no_printer: "此收银台没有配置小票打印机", error_refund_exceeds_sale: "退货数量超过可退数量",
    error_fully_refunded: "此交易已全部退货", error_refund_exceeds_payment: "退款金额超过原付款",
    error_paid_payment_left_out: "已付款的扫码支付必须计入本单", error_invalid_pin: "PIN 不正确",
    void: "作废", void_reason: "作废原因", manager_pin: "店长 PIN",
    close_shift: "交班", counted: "点钞现金 (元)", z_report: "交班报表 (Z)", sales_count: "交易笔数",
    sales_net: "销售净额", cash_expected: "应有现金", variance: "差额",
    level: "等级", stored_value: "储值余额", points: "积分", coupons: "可用优惠券", birthday: "本周生日",
    // the customer display
    display_pair_title: "配对顾客显示屏", display_pair_name: "显示屏名称", welcome: "欢迎光临",
    hello_member: "您好，{name}会员", today_offers: "今日优惠", paid_total: "已付", change_due: "找零",
    thanks: "谢谢惠顾，欢迎再来", items: "件商品", you_save: "为您节省",
  },
  en: {
    offline: "The server can't be reached; reconnecting… the cart is kept on the server",
    pair_title: "Pair this tablet", pair_name: "Device name", pair_start: "Request pairing",
    pair_code: "Ask a manager to approve this code", pair_waiting: "Waiting for a manager's approval…",
    pair_rejected: "Pairing rejected or expired; request again",
    pair_wrong_store: "This pairing link is for store {link}, but this is store {here}: scan the QR code this store printed",
    login_title: "Cashier login", pin: "PIN", login: "Log in", clear: "Clear",
    shift_title: "Open a shift", opening_float: "Cash float (¥)", open_shift: "Open shift",
    scan_placeholder: "Scan or type a code, then Enter", scan: "Scan",
    cart_empty: "The cart is empty: scan an item", promotions: "Promotions", subtotal: "Subtotal",
    discounts: "Discounts", total: "To pay",
    member: "Member", member_phone: "Member's phone", attach_member: "Attach member", no_member: "No member",
    tender: "Tender (F2)", back: "Back (Esc)", cash: "Cash", tendered: "Tendered (¥)", exact: "Exact",
    pay_cash: "Take cash", change: "Change", scan_pay_placeholder: "Scan the customer's payment code",
    cancel_payment: "Cancel payment (reverse)", waiting_customer: "waiting for the customer to confirm",
    paid: "Paid", payment_failed: "Not paid",
    sale_done: "Sale complete", receipt_no: "Receipt", next_sale: "Next sale (Enter)", logout: "Log out", lane: "Lane",
    qty: "Qty", language: "中文", fewer: "Fewer", more: "More", remove: "Remove",
    search_placeholder: "Search products: name or SKU", suspend: "Suspend", resume: "Resume",
    suspended: "Suspended sales", none_suspended: "No suspended sale",
    other_tenders: "Other tenders (split)", reference: "Terminal reference", amount: "Amount",
    reference_needed: "Type the terminal's reference", tender_card: "Bank card", tender_external: "External terminal/QR",
    tender_stored_value: "Stored value", tender_cash: "Cash",
    tender_points: "Points", tender_coupon: "Coupon", coupon_code_needed: "Type or scan the coupon code in the reference box",
    tender_wechat: "WeChat Pay", tender_alipay: "Alipay", tender_unionpay: "UnionPay",
    edit_price: "Price", new_price: "New unit price (¥)", line_discount_percent: "Discount (% off)", apply: "Apply",
    cash_in_out: "Cash in/out", cash_in: "Paid in", cash_out: "Paid out", cash_record: "Record", reason: "Reason",
    refund: "Refund", find: "Find", refund_to: "Refund to", refund_original: "The way it was paid",
    refund_no: "Refund", reprint: "Reprint receipt", reprinted: "Receipt reprinted",
    member_payment_pin: "The customer types the member's payment PIN (6 digits)", pay_with_pin: "Pay",
    sale_discount: "Sale discount",
    error_approval_required: "A manager's PIN is needed to approve this",
    error_approval_refused: "The approval PIN is not a manager's PIN",
    error_too_many_attempts: "Too many wrong PINs: try again later", error_locked: "Locked: try again later",
    error_unauthorized: "The session has ended: log in again", error_role_required: "This needs a manager",
    error_no_open_shift: "No shift is open on this till: open one first", error_shift_open: "A shift is open already",
    error_sale_open: "This till has a sale open already", error_sale_empty: "The cart is empty",
    error_sale_completed: "This sale is completed", error_sale_voided: "This sale is voided",
    error_sale_suspended: "This sale is suspended", error_other_terminal: "This sale is open on another till",
    error_payment_short: "The payments are short of the total",
    error_payment_in_flight: "A scan payment is still waiting for its answer: wait or cancel it",
    error_nothing_due: "Nothing is left to pay", error_amount_exceeds_due: "The amount is more than is left to pay",
    error_code_used: "This payment code was used: ask the customer to refresh it",
    error_not_a_payment_code: "This is not a payment code", error_member_required: "Attach the member first",
    error_stored_value_short: "Not enough stored value", error_points_short: "Not enough points",
    error_payment_pin_required: "The member's payment PIN is needed",
    error_payment_pin_wrong: "The member's payment PIN is wrong",
    error_coupon_redeemed: "This coupon has been used", error_coupon_expired: "This coupon has expired",
    error_coupon_not_yet_valid: "This coupon is not valid yet",
    error_coupon_other_member: "This coupon belongs to another member",
    error_coupon_not_applicable: "This sale does not qualify for the coupon",
    error_invalid_coupon_code: "Not a coupon code", error_invalid_member_code: "Not a member code",
    error_invalid_phone: "Not a mobile number", error_no_printer: "This till has no receipt printer",
    error_refund_exceeds_sale: "More than is left to refund", error_fully_refunded: "This sale is fully refunded",
    error_refund_exceeds_payment: "More than was paid that way",
    error_paid_payment_left_out: "A paid scan payment must count on this sale", error_invalid_pin: "Wrong PIN",
    void: "Void", void_reason: "Reason", manager_pin: "Manager's PIN",
    close_shift: "Close shift", counted: "Counted cash (¥)", z_report: "Z report", sales_count: "Sales",
    sales_net: "Net sales", cash_expected: "Expected cash", variance: "Variance",
    level: "Level", stored_value: "Stored value", points: "Points", coupons: "Usable coupons",
    birthday: "Birthday this week",
    // the customer display
    display_pair_title: "Pair this customer display", display_pair_name: "Display name", welcome: "Welcome",
    hello_member: "Hello, member {name}", today_offers: "Today's offers", paid_total: "Paid", change_due: "Change",
    thanks: "Thank you, see you again", items: "items", you_save: "You save",
  },
};

let language = localStorage.getItem("storeedge.language") || "zh";

function t(key) {
  return CATALOGUE[language][key] ?? CATALOGUE.zh[key] ?? key;
}

// Fills every element marked data-t (its text) or data-t-placeholder (its placeholder).
function translatePage(root = document) {
  document.documentElement.lang = language === "zh" ? "zh-CN" : "en";
  root.querySelectorAll("[data-t]").forEach((el) => { el.textContent = t(el.dataset.t); });
  root.querySelectorAll("[data-t-placeholder]").forEach((el) => { el.placeholder = t(el.dataset.tPlaceholder); });
}

function switchLanguage() {
  language = language === "zh" ? "en" : "zh";
  localStorage.setItem("storeedge.language", language);
  translatePage();
}
