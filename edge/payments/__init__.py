"""Scan-to-pay (扫码收银): payment codes of WeChat Pay, Alipay and UnionPay, as durable attempts."""
