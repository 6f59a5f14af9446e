"""Members: joining with consent (PIPL), lookup and masking, the sale's member, manager changes, export, erasure."""

from __future__ import annotations

import json

import pytest

from tests.conftest import MANAGER_PIN, WATER, ApiClient
from edge.audit.journal import AuditRecord, verify
from edge.errors import Conflict, DomainError, NotFound
from edge.members.identity import check_member_code, looks_like_member_code, new_member_code
from edge.members.models import Member, MemberConsent
from edge.members.service import Consent
from edge.outbox.events import OutboxEvent
from edge.sales.models import Sale

PHONE = "13812341234"
NOTICE = "2026-11"
AGREED = Consent(notice_version=NOTICE, purposes=("membership",))


def counts() -> tuple[int, int, int, int]:
    return (Member.select().count(), MemberConsent.select().count(), OutboxEvent.select().count(),
            AuditRecord.select().count())


def events(kind: str) -> list[dict]:
    return [json.loads(e.data) for e in OutboxEvent.select().where(OutboxEvent.type == kind).order_by(OutboxEvent.seq)]


def join(store, caller, phone=PHONE, consent=AGREED, **personal):
    return store.members.register(caller, phone=phone, consent=consent, channel="pos", **personal)


def test_joining_records_the_member_the_consent_the_event_and_the_audit(store, cashier):
    member = join(store, cashier, phone="+86 138 1234 1234", name="王小明", birthday="1990-05-06", gender="male")

    assert member.phone == PHONE and member.status == "active" and not member.minor
    assert looks_like_member_code(member.code) and check_member_code(member.code) == member.code
    consent = MemberConsent.get(MemberConsent.member_id == member.id)
    assert (consent.notice_version, json.loads(consent.purposes), consent.channel) == (NOTICE, ["membership"], "pos")
    assert consent.device_id == cashier.device_id and consent.staff_id == cashier.staff_id
    [event] = events("member.registered")
    assert event["phone"] == PHONE and event["consent"]["purposes"] == ["membership"]
    record = AuditRecord.get(AuditRecord.action == "member.registered")
    assert PHONE not in record.data and "138****1234" in record.data
    assert verify().ok


def test_the_cashier_sees_personal_data_masked(store, cashier):
    member = join(store, cashier, name="王小明", birthday="1990-05-06")
    shown = store.members.as_dict(member)
    assert shown["phone_masked"] == "138****1234" and shown["name_masked"] == "王**"
    assert "phone" not in shown and "name" not in shown and "birthday" not in shown
    assert shown["birthday_month_day"] == "05-06"


@pytest.mark.parametrize("phone, reason", [
    ("12345678901", "not a valid mainland mobile"),
    ("02112345678", "not a valid mainland mobile"),  # a Shanghai landline
    ("+1 650 253 0000", "only mainland China"),
    ("1381234123", "not a valid mainland mobile"),
    ("phone", "not a phone number"),
])
def test_an_invalid_phone_is_refused_naming_it_and_nothing_is_written(store, cashier, phone, reason):
    before = counts()
    with pytest.raises(DomainError, match=reason) as refused:
        join(store, cashier, phone=phone)
    assert refused.value.field == "phone"
    assert counts() == before


@pytest.mark.parametrize("consent, field", [
    (Consent(notice_version="2025-01", purposes=("membership",)), "consent.notice_version"),
    (Consent(notice_version=NOTICE, purposes=("marketing",)), "consent.purposes"),
    (Consent(notice_version=NOTICE, purposes=("membership", "resale")), "consent.purposes"),
])
def test_joining_needs_consent_to_the_current_notice(store, cashier, consent, field):
    before = counts()
    with pytest.raises(DomainError) as refused:
        join(store, cashier, consent=consent)
    assert refused.value.field == field
    assert counts() == before


@pytest.mark.parametrize("personal, field", [
    ({"birthday": "1990-02-30"}, "birthday"),
    ({"birthday": "2999-01-01"}, "birthday"),
    ({"gender": "unknown"}, "gender"),
    ({"name": "  "}, "name"),
])
def test_bad_personal_details_are_refused(store, cashier, personal, field):
    before = counts()
    with pytest.raises(DomainError) as refused:
        join(store, cashier, **personal)
    assert refused.value.field == field
    assert counts() == before


def test_a_duplicate_phone_is_refused(store, cashier):
    join(store, cashier)
    before = counts()
    with pytest.raises(Conflict) as refused:
        join(store, cashier, phone="138-1234-1234")
    assert refused.value.code == "duplicate_phone"
    assert counts() == before


def test_a_child_joins_only_with_a_guardians_consent_and_is_marked_sensitive(store, cashier):
    with pytest.raises(DomainError) as refused:
        join(store, cashier, birthday="2020-01-01")
    assert refused.value.code == "guardian_required"
    child = join(store, cashier, birthday="2020-01-01",
                 consent=Consent(notice_version=NOTICE, purposes=("membership",), guardian_name="王大明"))
    assert child.minor
    assert MemberConsent.get(MemberConsent.member_id == child.id).guardian_name == "王大明"


def test_lookup_by_phone_or_code_and_a_mistyped_code_is_caught(store, cashier):
    member = join(store, cashier)
    assert store.members.find(phone="138 1234 1234").id == member.id
    assert store.members.find(code=member.code).id == member.id
    wrong_check_digit = member.code[:-1] + str((int(member.code[-1]) + 1) % 10)
    with pytest.raises(DomainError, match="check digit"):
        store.members.find(code=wrong_check_digit)
    with pytest.raises(NotFound):
        store.members.find(phone="13912349876")


def test_member_codes_are_not_product_barcodes():
    codes = {new_member_code() for _ in range(200)}
    assert len(codes) == 200
    assert all(looks_like_member_code(code) for code in codes)
    assert not looks_like_member_code(WATER)


def test_a_completed_sale_names_its_member(store, cashier):
    member = join(store, cashier)
    sale = store.sales.open(cashier)
    store.sales.add_line(sale.id, cashier, barcode=WATER, qty=1)
    store.sales.set_member(sale.id, cashier, member)
    store.sales.complete(sale.id, cashier, [{"method": "cash", "amount": 200}])
    [completed] = events("sale.completed")
    assert completed["member"] == {"id": member.id, "code": member.code, "phone_masked": "138****1234",
                                   "name_masked": None}


def test_an_inactive_member_cannot_be_named_on_a_sale_until_reactivated(store, cashier, manager):
    member = join(store, cashier)
    store.members.set_active(manager, member.id, False)
    sale = store.sales.open(cashier)
    with pytest.raises(Conflict, match="inactive"):
        store.sales.set_member(sale.id, cashier, store.members.find(member_id=member.id))
    store.members.set_active(manager, member.id, True)
    store.sales.set_member(sale.id, cashier, store.members.find(member_id=member.id))
    assert Sale.get_by_id(sale.id).member_id == member.id
    assert [r.action for r in AuditRecord.select().where(AuditRecord.entity_id == member.id)
            .order_by(AuditRecord.seq)] == ["member.registered", "member.deactivated", "member.activated"]


def test_editing_audits_which_fields_changed_but_not_their_values(store, cashier, manager):
    member = join(store, cashier, name="王小明")
    store.members.update(manager, member.id, {"name": "王晓明", "phone": "13912345678"})
    member = Member.get_by_id(member.id)
    assert (member.name, member.phone) == ("王晓明", "13912345678")
    record = AuditRecord.get(AuditRecord.action == "member.updated")
    assert json.loads(record.data)["fields"] == ["name", "phone"]
    assert "13912345678" not in record.data and "王晓明" not in record.data
    assert events("member.updated")[-1]["phone"] == "13912345678"


def test_merging_a_duplicate_moves_its_sales_and_its_lookups(store, cashier, manager):
    keep = join(store, cashier)
    duplicate = join(store, cashier, phone="13912345678")
    sale = store.sales.open(cashier)
    store.sales.add_line(sale.id, cashier, barcode=WATER, qty=1)
    store.sales.set_member(sale.id, cashier, duplicate)
    store.sales.complete(sale.id, cashier, [{"method": "cash", "amount": 200}])

    store.members.merge(manager, keep.id, duplicate.id)

    assert Sale.get_by_id(sale.id).member_id == keep.id
    assert store.members.find(phone="13912345678").id == keep.id
    assert Member.get_by_id(duplicate.id).status == "merged"
    with pytest.raises(Conflict):
        store.members.merge(manager, keep.id, duplicate.id)
    with pytest.raises(DomainError):
        store.members.merge(manager, keep.id, keep.id)


def test_export_gives_the_member_everything_held_and_is_audited(store, cashier, manager):
    member = join(store, cashier, name="王小明")
    sale = store.sales.open(cashier)
    store.sales.add_line(sale.id, cashier, barcode=WATER, qty=2)
    store.sales.set_member(sale.id, cashier, member)
    completed = store.sales.complete(sale.id, cashier, [{"method": "cash", "amount": 400}])

    exported = store.members.export(manager, member.id)

    assert exported["member"]["phone"] == PHONE and exported["member"]["name"] == "王小明"
    assert [c["purposes"] for c in exported["consents"]] == [["membership"]]
    assert exported["purchases"] == [{"receipt_no": completed.receipt_no, "completed_at": completed.completed_at,
                                      "total": 400}]
    assert AuditRecord.select().where(AuditRecord.action == "member.exported").count() == 1


def test_erasure_removes_personal_data_and_keeps_anonymous_history(store, cashier, manager):
    member = join(store, cashier, name="王小明", birthday="1990-05-06", gender="male")
    with pytest.raises(DomainError):
        store.members.erase(manager, member.id, " ")
    store.members.erase(manager, member.id, "the member asked")

    erased = Member.get_by_id(member.id)
    assert (erased.phone, erased.name, erased.birthday, erased.gender, erased.status) == (
        None, None, None, None, "erased")
    assert MemberConsent.get(MemberConsent.member_id == member.id).withdrawn_at is not None
    with pytest.raises(NotFound):
        store.members.find(phone=PHONE)
    assert events("member.erased") == [{"id": member.id, "code": member.code, "reason": "the member asked"}]
    join(store, cashier)  # the number is free to join again
    assert verify().ok


# -- over HTTP --------------------------------------------------------------


def register_body(phone=PHONE, **extra) -> dict:
    return {"phone": phone, "consent": {"notice_version": NOTICE, "agreed": True, "purposes": ["membership"]},
            **extra}


def test_http_register_find_scan_and_attach(api):
    notice = api.get("/members/privacy-notice").json
    assert notice["version"] == NOTICE and "membership" in notice["purposes"]
    created = api.post("/members", register_body(name="王小明"))
    assert created.status_code == 201 and created.json["phone_masked"] == "138****1234"
    assert "phone" not in created.json
    found = api.get("/members?phone=13812341234").json["members"]
    assert [m["id"] for m in found] == [created.json["id"]]

    sale = api.post("/sales").json
    as_member = api.post(f"/sales/{sale['id']}/scan", {"code": created.json["code"]})
    assert as_member.json["kind"] == "member" and as_member.json["sale"]["member"]["id"] == created.json["id"]
    as_item = api.post(f"/sales/{sale['id']}/scan", {"code": WATER})
    assert as_item.json["kind"] == "item" and as_item.json["sale"]["total"] == 200
    cleared = api.delete(f"/sales/{sale['id']}/member")
    assert cleared.status_code == 200 and cleared.json["member"] is None
    by_phone = api.post(f"/sales/{sale['id']}/member", {"phone": PHONE})
    assert by_phone.json["member"]["code"] == created.json["code"]


def test_http_member_code_image_is_a_qr_svg(api):
    member = api.post("/members", register_body()).json
    image = api.get(f"/members/{member['id']}/code.svg")
    assert image.status_code == 200 and image.mimetype == "image/svg+xml"
    assert image.data.startswith(b"<svg") and member["code"].encode() in image.data


@pytest.mark.parametrize("body, field", [
    (register_body(phone="12345"), "phone"),
    ({"phone": PHONE}, "consent"),
    ({**register_body(), "consent": {"notice_version": NOTICE, "agreed": False, "purposes": ["membership"]}},
     "consent.agreed"),
    (register_body(gender="x"), "gender"),
    (register_body(nickname="bob"), "nickname"),
])
def test_http_bad_registrations_name_the_field_and_write_nothing(store, api, body, field):
    before = counts()
    refused = api.post("/members", body)
    assert 400 <= refused.status_code < 500
    assert refused.json["error"]["field"] == field
    assert counts() == before


def test_http_manager_changes_need_the_manager_role(store, api, flask_app):
    member = api.post("/members", register_body()).json
    assert api.patch(f"/members/{member['id']}", {"name": "王小明"}).status_code == 403
    assert api.post(f"/members/{member['id']}/export").status_code == 403

    _, token = store.staff.add_device("office", "terminal", 9)
    manager = ApiClient(flask_app, token)
    manager.login(MANAGER_PIN)
    patched = manager.patch(f"/members/{member['id']}", {"name": "王小明"})
    assert patched.status_code == 200 and patched.json["name_masked"] == "王**"
    exported = manager.post(f"/members/{member['id']}/export", headers={"Idempotency-Key": "export-1"})
    assert exported.status_code == 200 and exported.json["member"]["name"] == "王小明"
    stored = store.db.peewee.execute_sql("SELECT COUNT(*) FROM idempotency_record WHERE key = 'export-1'")
    assert stored.fetchone() == (0,)  # personal data is never kept for a replay
    erased = manager.delete(f"/members/{member['id']}", json={"reason": "the member asked"})
    assert erased.status_code == 200 and erased.json["status"] == "erased"
    assert api.get(f"/members/{member['id']}").status_code == 404
