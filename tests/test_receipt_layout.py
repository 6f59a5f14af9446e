"""The receipt layout engine, read back through the ESC/POS decoder: what prints, and that columns line up."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from drivers import text as t
from drivers.printer.document import Receipt, TextPage
from drivers.printer.layout import render
from tests.escpos_decoder import decode

RECEIPT = Receipt(
    title="人民路店", header=["上海市人民路1号", "电话 021-12345678"], receipt_no="20261123-0007",
    at="2026-11-23 12:00", cashier="张三", lane=2,
    lines=[
        {"name": "可口可乐 330ml", "qty_text": "2", "unit_price": 300, "total": 450,
         "discounts": [{"label": "第二件半价", "amount": 150}]},
        {"name": "Evian water", "qty_text": "1", "unit_price": 500, "total": 500},
        {"name": "红富士苹果（山东烟台特级大果）", "qty_text": "0.535kg", "unit_price": 1280, "total": 685},
    ],
    discounts=[{"label": "会员95折", "amount": 82}], subtotal=1635, total=1553,
    payments=[{"label": "储值", "amount": 1000}, {"label": "现金", "amount": 1000}], change=447,
    member={"code": "M000123", "level": "银卡", "points_earned": 15, "points_balance": 1015,
            "stored_value_balance": 9000},
    footer=["谢谢惠顾", "Thank you"], invoice_url="https://invoice.example/req?r=20261123-0007&s=S001",
)


@pytest.mark.parametrize("paper_mm, columns", [(58, 32), (80, 48)])
def test_every_line_fits_the_paper_by_display_width(paper_mm, columns):
    printed = decode(render(RECEIPT, paper_mm).escpos)
    assert max(t.width(line) for line in printed.lines) == columns


@pytest.mark.parametrize("paper_mm", [58, 80])
def test_amounts_end_in_the_last_column(paper_mm):
    printed = decode(render(RECEIPT, paper_mm).escpos)
    columns = {58: 32, 80: 48}[paper_mm]
    for label, figure in [("小计", "16.35"), ("会员95折", "-0.82"), ("应付", "￥15.53"), ("找零", "￥4.47"),
                          ("储值余额", "￥90.00")]:
        line = next(l for l in printed.lines if l.startswith(label))
        assert line.endswith(figure) and t.width(line) == columns


def test_item_figures_line_up_under_their_headings():
    printed = decode(render(RECEIPT, 80).escpos)
    heading = next(l for l in printed.lines if l.startswith("商品"))
    cola = next(l for l in printed.lines if l.startswith("可口可乐"))  # 14 columns: fits 80 mm
    water = next(l for l in printed.lines if l.startswith("Evian"))
    # each amount column ends where its heading ends, whatever the width of the name before it
    for row in (cola, water):
        assert t.width(row) == t.width(heading)
    assert cola.endswith("2      3.00      4.50") and water.endswith("1      5.00      5.00")


def test_a_long_name_gets_a_line_of_its_own():
    printed = decode(render(RECEIPT, 58).escpos)
    index = printed.lines.index("红富士苹果（山东烟台特级大果）")
    assert printed.lines[index + 1].split() == ["0.535kg", "12.80", "6.85"]


def test_what_the_receipt_prints():
    printed = decode(render(RECEIPT, 80).escpos)
    text = printed.text()
    for part in ("人民路店", "单号 20261123-0007", "收银员 张三", "第二件半价", "会员95折", "储值", "现金",
                 "M000123 银卡", "本次积分", "1015", "谢谢惠顾"):
        assert part in text
    assert "重印" not in text
    assert printed.qr == ["https://invoice.example/req?r=20261123-0007&s=S001"]
    assert printed.barcodes == ["20261123-0007"]
    assert printed.events[-1] == "cut" and printed.cuts == 1
    assert "应付" in " ".join(printed.bold_lines)


def test_yuan_sign_is_the_fullwidth_one_in_two_gb18030_bytes():
    data = render(RECEIPT, 80).escpos
    assert "￥".encode("gb18030") in data and len("￥".encode("gb18030")) == 2
    assert "¥".encode("gb18030") not in data
    assert data.startswith(b"\x1b@\x1c&")  # initialise, then the printer's Chinese mode


def test_reprint_is_marked_as_a_copy():
    printed = decode(render(RECEIPT.model_copy(update={"reprint": True}), 58).escpos)
    assert "*** 重印 ***" in [line.strip() for line in printed.lines]


def test_printer_without_chinese_font_gets_chinese_lines_as_images():
    printed = decode(render(RECEIPT, 58, chinese="raster").escpos)
    text_lines = [l for l in printed.lines if not l.startswith("[image")]
    assert all(t.is_ascii(line) for line in text_lines)
    assert any(line.startswith("Evian water") for line in text_lines)
    assert printed.images and set(printed.images) == {(384, 24)}
    assert printed.qr and printed.barcodes == ["20261123-0007"]


def test_text_page_wraps_to_the_paper():
    page = TextPage(title="打印机测试", body=["中" * 40], qr="hello")
    printed = decode(render(page, 58).escpos)
    assert printed.lines[2:4] == ["中" * 16, "中" * 16] and printed.qr == ["hello"]


@settings(max_examples=40, deadline=None)
@given(name=st.text(alphabet=st.sampled_from("可乐水ABC ab1（）·×"), min_size=1, max_size=30),
       total=st.integers(min_value=0, max_value=99_999_99))
def test_any_name_and_amount_keep_the_columns(name, total):
    doc = Receipt.model_validate({**RECEIPT.model_dump(),
                                  "lines": [{"name": name, "qty_text": "1", "unit_price": total, "total": total}]})
    for paper_mm, columns in [(58, 32), (80, 48)]:
        printed = decode(render(doc, paper_mm).escpos)
        assert all(t.width(line) <= columns for line in printed.lines)
        heading = next(i for i, line in enumerate(printed.lines) if line.startswith("商品"))
        item_lines = printed.lines[heading + 1:printed.lines.index("-" * columns, heading)]
        assert item_lines[-1].endswith(t.money(total)) and t.width(item_lines[-1]) == columns


def test_width_counts_chinese_double():
    assert (t.width("可口可乐"), len("可口可乐"), t.width("￥1.00"), t.width("Cola")) == (8, 4, 6, 4)
    assert t.pad_left("可乐", 6) == "  可乐" and t.clip("可口可乐", 5) == "可口"


def test_logo_from_nv_memory_comes_first():
    printed = decode(render(RECEIPT, 80, logo=1).escpos)
    assert printed.nv_images == [1] and printed.events[0] == "nv_image"


def test_logo_file_goes_out_as_a_raster_the_paper_wide(tmp_path):
    from PIL import Image

    logo = tmp_path / "logo.png"
    Image.new("L", (800, 100), 0).save(logo)  # wider than 58 mm paper: scaled down to 384 dots
    printed = decode(render(RECEIPT, 58, logo=str(logo)).escpos)
    assert printed.images == [(384, 48)] and printed.events[0] == "image"
