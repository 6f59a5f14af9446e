// The e-invoice request's texts, for every screen that takes one (the kiosk and the cashier tablet).
"use strict";

Object.assign(CATALOGUE.zh, {
  invoice: "电子发票", invoice_ask: "申请电子发票",
  invoice_receipt: "小票二维码或小票号", invoice_scan_receipt: "扫描小票上的二维码，或输入小票号",
  invoice_buyer: "发票类型", invoice_buyer_company: "企业", invoice_buyer_personal: "个人",
  invoice_title: "发票抬头", invoice_taxpayer_id: "纳税人识别号 (统一社会信用代码，18位)",
  invoice_email: "接收发票的电子邮箱", invoice_submit: "提交申请", invoice_check: "查询进度",
  invoice_sent: "申请已提交，开具后将发送到您的邮箱",
  invoice_requested: "已提交", invoice_processing: "开具中", invoice_issued: "已开具", invoice_rejected: "被退回",
  error_invalid_taxpayer_id: "纳税人识别号不正确，请核对（18位，含校验位）",
  error_taxpayer_id_required: "企业发票需要填写纳税人识别号", error_invalid_email: "请输入有效的电子邮箱",
  error_invalid_receipt: "无法识别此小票，请输入小票号", error_other_store: "此小票不是本店开具的",
  error_invoice_already_requested: "此小票已申请过发票",
});
Object.assign(CATALOGUE.en, {
  invoice: "E-invoice", invoice_ask: "Request an e-invoice",
  invoice_receipt: "Receipt QR code or number", invoice_scan_receipt: "Scan the QR code on the receipt, or type its number",
  invoice_buyer: "Invoice for", invoice_buyer_company: "Company", invoice_buyer_personal: "Person",
  invoice_title: "Invoice title", invoice_taxpayer_id: "Taxpayer ID (unified social credit code, 18 characters)",
  invoice_email: "E-mail for the invoice", invoice_submit: "Request", invoice_check: "Check status",
  invoice_sent: "Requested: the invoice will be e-mailed once issued",
  invoice_requested: "requested", invoice_processing: "being issued", invoice_issued: "issued",
  invoice_rejected: "rejected",
  error_invalid_taxpayer_id: "The taxpayer ID is not valid: check its 18 characters",
  error_taxpayer_id_required: "A company invoice needs the taxpayer ID", error_invalid_email: "Type a valid e-mail",
  error_invalid_receipt: "This receipt can't be read: type its number",
  error_other_store: "This receipt is from another store",
  error_invoice_already_requested: "An invoice was already requested for this receipt",
});
