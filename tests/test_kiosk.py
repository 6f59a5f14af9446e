"""The self-service kiosk's rules without HTTP: joining with consent and a PIN, signing in (PIN or member code,
throttled, locked out), sessions bound to one member and one kiosk, price checks told to listeners, gifts with a
pickup slip, one's own details, and withdrawing consent (which erases, through the members' erase rules)."""

from __future__ import annotations

import json

import pytest

from edge.errors import Conflict, DomainError, Forbidden, NotFound, TooManyAttempts, Unauthorized
from edge.hardware.models import PrintJob
from edge.kiosk.models import KioskMemberPin, KioskSession
from edge.members.models import Member, MemberConsent
from edge.members.service import Consent
from tests.conftest import WATER, terminal
from tests.domain_helpers import with_check_digit
from tests.domain2_helpers import PIN_FAILURE_TABLES, audit_records, events, nothing_written, refused

PHONE, OTHER_PHONE, PIN = "13912345678", "13800138000", "284915"
CONSENT = Consent(notice_version="2026-11", purposes=("membership", "marketing"))


@pytest.fixture
def kiosk(store):
    return store.staff.add_device("自助机", "kiosk")[0]


def join(store, kiosk, phone: str = PHONE, pin: str = PIN, **personal):
    return store.kiosk.register(kiosk, phone=phone, pin=pin, consent=CONSENT, **personal)


def expire(token_session) -> None:
    KioskSession.update(expires_at="2020-01-01T00:00:00+00:00").where(
        KioskSession.token_hash == token_session.token_hash).execute()


def test_joining_records_the_consent_hashes_the_pin_and_signs_in(store, kiosk):
    token, session = join(store, kiosk, name="王小明")
    member = Member.get_by_id(session.member.id)
    consent = MemberConsent.get(MemberConsent.member_id == member.id)
    assert (consent.notice_version, json.loads(consent.purposes), consent.channel, consent.device_id) == (
        "2026-11", ["marketing", "membership"], "kiosk", kiosk.id)
    stored = KioskMemberPin.get_by_id(member.id)
    assert stored.pin_hash.startswith("$argon2id$") and PIN not in stored.pin_hash
    assert store.kiosk.session(kiosk, token).member.id == member.id
    assert [e["data"]["consent"]["channel"] for e in events("member.registered")] == ["kiosk"]
    assert [r["entity_id"] for r in audit_records("kiosk.registered")] == [member.id]


@pytest.mark.parametrize("pin, code", [("12345", "invalid_pin"), ("12a456", "invalid_pin"), ("123456", "weak_pin"),
                                       ("000000", "weak_pin"), ("987654", "weak_pin")])
def test_a_pin_too_short_or_too_easy_refuses_joining_and_writes_nothing(store, kiosk, pin, code):
    with nothing_written(store), refused(DomainError, field="pin", code=code):
        join(store, kiosk, pin=pin)


def test_joining_with_a_stale_notice_writes_nothing(store, kiosk):
    with nothing_written(store), refused(DomainError, field="consent.notice_version", code="stale_notice"):
        store.kiosk.register(kiosk, phone=PHONE, pin=PIN, consent=Consent("2020-01", ("membership",)))


def test_a_member_signs_in_with_phone_and_pin_or_phone_and_own_code(store, kiosk):
    _, joined = join(store, kiosk)
    by_pin, _ = store.kiosk.sign_in(kiosk, phone=PHONE, pin=PIN)
    by_code, _ = store.kiosk.sign_in(kiosk, phone="+86 139 1234 5678", code=joined.member.code.lower())
    assert {store.kiosk.session(kiosk, t).member.id for t in (by_pin, by_code)} == {joined.member.id}


@pytest.mark.parametrize("credential", [{"pin": "284916"}, {"code": "M000000000000"}])
def test_a_wrong_pin_or_code_gives_no_session_and_is_counted(store, kiosk, credential):
    join(store, kiosk)
    sessions = KioskSession.select().count()
    with nothing_written(store, ignore=PIN_FAILURE_TABLES), refused(Unauthorized, code="sign_in_failed"):
        store.kiosk.sign_in(kiosk, phone=PHONE, **credential)
    assert KioskSession.select().count() == sessions
    assert len(audit_records("kiosk.sign_in_failed")) == 2  # once for the member, once for this kiosk


def test_an_unknown_phone_is_answered_like_a_wrong_pin(store, kiosk):
    join(store, kiosk)
    with refused(Unauthorized, field="pin", code="sign_in_failed") as unknown:
        store.kiosk.sign_in(kiosk, phone=OTHER_PHONE, pin=PIN)
    with refused(Unauthorized, field="pin", code="sign_in_failed") as wrong:
        store.kiosk.sign_in(kiosk, phone=PHONE, pin="284916")
    assert unknown.value.message == wrong.value.message


def test_wrong_pins_lock_the_member_out_even_with_the_right_pin_then(store, kiosk):
    join(store, kiosk)
    other_kiosk = store.staff.add_device("自助机2", "kiosk")[0]
    for attempt in range(store.config.security.pin_max_attempts):
        with refused(Unauthorized):
            store.kiosk.sign_in(kiosk if attempt % 2 else other_kiosk, phone=PHONE, pin="284916")
    third_kiosk = store.staff.add_device("自助机3", "kiosk")[0]
    with refused(TooManyAttempts, field="pin"):
        store.kiosk.sign_in(third_kiosk, phone=PHONE, pin=PIN)


def test_guessing_many_phone_numbers_locks_the_kiosk(store, kiosk):
    for n in range(store.config.security.pin_max_attempts):
        with refused(Unauthorized):
            store.kiosk.sign_in(kiosk, phone=f"1391234560{n}", pin=PIN)
    join(store, store.staff.add_device("柜台自助机", "kiosk")[0])
    with refused(TooManyAttempts, field="phone"):
        store.kiosk.sign_in(kiosk, phone=PHONE, pin=PIN)


def test_trying_numbers_by_joining_counts_towards_the_kiosks_lockout(store, kiosk):
    join(store, store.staff.add_device("柜台自助机", "kiosk")[0])
    for _ in range(store.config.security.pin_max_attempts):
        with refused(Conflict, field="phone", code="duplicate_phone"):
            join(store, kiosk)
    with refused(TooManyAttempts, field="phone"):
        join(store, kiosk, phone=OTHER_PHONE)


def test_a_session_works_only_on_its_kiosk_until_it_ends_or_expires(store, kiosk):
    token, session = join(store, kiosk)
    other_kiosk = store.staff.add_device("自助机2", "kiosk")[0]
    with refused(Unauthorized, code="member_session_invalid"):
        store.kiosk.session(other_kiosk, token)
    assert store.kiosk.sign_out(other_kiosk, token) is False  # another kiosk cannot end it either
    expire(session)
    with refused(Unauthorized, code="member_session_expired"):
        store.kiosk.session(kiosk, token)
    fresh, _ = store.kiosk.sign_in(kiosk, phone=PHONE, pin=PIN)
    assert store.kiosk.sign_out(kiosk, fresh) is True
    with refused(Unauthorized, code="member_session_invalid"):
        store.kiosk.session(kiosk, fresh)
    with refused(Unauthorized, code="member_session_required"):
        store.kiosk.session(kiosk, None)


def test_the_overview_is_the_members_own_card(store, kiosk, manager):
    _, session = join(store, kiosk, name="王小明")
    _, other = join(store, kiosk, phone=OTHER_PHONE)
    store.points.adjust(manager, session.member.id, 500, "活动")
    overview = store.kiosk.overview(session)
    assert overview["member"]["id"] == session.member.id and overview["points"]["balance"] == 500
    assert overview["details"]["phone_masked"] == "139****5678" and overview["pin_set"] is True
    assert overview["consent"]["purposes"] == ["marketing", "membership"]
    assert store.kiosk.overview(other)["points"]["balance"] == 0


def test_a_price_check_tells_the_listeners_only_for_a_signed_in_member(store, kiosk):
    heard = []
    store.kiosk.price_check_listeners.append(lambda member_id, product_id: heard.append((member_id, product_id)))
    anonymous = store.kiosk.price_check(WATER, None)
    assert anonymous["product"]["name"] == "农夫山泉 550ml" and anonymous["product"]["price"] == 200
    assert heard == []
    _, session = join(store, kiosk)
    store.kiosk.price_check(WATER, session)
    assert heard == [(session.member.id, anonymous["product"]["id"])]
    with refused(NotFound, field="barcode"):
        store.kiosk.price_check(with_check_digit("690000000000"), session)


def gift_for(store, manager, points: int = 300) -> str:
    return store.gifts.add(manager, name="环保袋", points=points, sku="DRK001").id


def test_a_gift_redeemed_at_a_kiosk_with_a_printer_prints_a_pickup_slip_the_cashier_honours(store_with):
    store = store_with({"devices": [{"name": "自助打印机", "kind": "printer", "backend": "virtual"}]})
    kiosk = store.staff.add_device("自助机", "kiosk")[0]
    manager, cashier = terminal(store, lane=2, pin="1234", shift_float=None), terminal(store, lane=1)
    _, session = join(store, kiosk)
    store.points.adjust(manager, session.member.id, 700, "活动")
    redeemed = store.kiosk.redeem_gift(session, gift_for(store, manager), 2)
    assert redeemed["balance"] == 100 and redeemed["status"] == "pending"
    job = PrintJob.get_by_id(redeemed["slip"]["job_id"])
    slip = json.loads(job.document)
    assert (job.printer, job.kind, slip["barcode"]) == ("自助打印机", "gift_slip", redeemed["code"])
    assert not any(PHONE in line or session.member.code in line for line in slip["body"])
    assert store.gifts.collect(cashier, redeemed["code"]).status == "collected"


def test_without_a_printer_the_code_alone_is_the_pickup(store, kiosk, manager):
    _, session = join(store, kiosk)
    store.points.adjust(manager, session.member.id, 300, "活动")
    redeemed = store.kiosk.redeem_gift(session, gift_for(store, manager), 1)
    assert redeemed["slip"] is None and PrintJob.select().count() == 0
    assert store.kiosk.own_redemption(session, redeemed["code"]).id == redeemed["id"]


def test_a_member_never_reaches_another_members_pickup_code(store, kiosk, manager):
    _, owner = join(store, kiosk)
    _, other = join(store, kiosk, phone=OTHER_PHONE)
    store.points.adjust(manager, owner.member.id, 300, "活动")
    code = store.kiosk.redeem_gift(owner, gift_for(store, manager), 1)["code"]
    with refused(NotFound, field="code"):
        store.kiosk.own_redemption(other, code)


def test_too_few_points_redeem_nothing(store, kiosk, manager):
    _, session = join(store, kiosk)
    gift_id = gift_for(store, manager)
    with nothing_written(store), refused(Conflict, code="points_short"):
        store.kiosk.redeem_gift(session, gift_id, 1)


def test_a_member_changes_own_details_but_not_the_phone(store, kiosk):
    _, session = join(store, kiosk)
    store.kiosk.update_details(session, {"name": "王小明", "birthday": "1990-05-01"})
    member = Member.get_by_id(session.member.id)
    assert (member.name, member.birthday) == ("王小明", "1990-05-01")
    assert events("member.updated")[-1]["data"]["fields"] == ["birthday", "name"]
    with nothing_written(store), refused(DomainError, field="phone"):
        store.kiosk.update_details(session, {"phone": OTHER_PHONE})


def test_changing_the_pin_needs_the_current_one(store, kiosk):
    token, session = join(store, kiosk)
    with nothing_written(store, ignore=PIN_FAILURE_TABLES), refused(Forbidden, field="current_pin"):
        store.kiosk.change_pin(session, "592013", "000001")
    store.kiosk.change_pin(session, "592013", PIN)
    store.kiosk.sign_in(kiosk, phone=PHONE, pin="592013")
    with refused(Unauthorized):
        store.kiosk.sign_in(kiosk, phone=PHONE, pin=PIN)


def test_a_member_without_a_pin_signs_in_with_the_card_and_sets_one(store, kiosk, cashier):
    member = store.members.register(cashier, phone=PHONE, consent=CONSENT, channel="pos")
    token, session = store.kiosk.sign_in(kiosk, phone=PHONE, code=member.code)
    assert store.kiosk.overview(session)["pin_set"] is False
    store.kiosk.change_pin(session, "592013", None)
    store.kiosk.sign_in(kiosk, phone=PHONE, pin="592013")


def test_withdrawing_marketing_keeps_the_membership_with_a_new_consent_on_record(store, kiosk):
    _, session = join(store, kiosk)
    answer = store.kiosk.withdraw_consent(session, ["marketing"])
    assert answer == {"withdrawn": ["marketing"], "member_status": "active", "purposes": ["membership"],
                      "signed_out": False}
    consents = list(MemberConsent.select().where(MemberConsent.member_id == session.member.id)
                    .order_by(MemberConsent.agreed_at))
    assert [(json.loads(c.purposes), c.withdrawn_at is None) for c in consents] == [
        (["marketing", "membership"], False), (["membership"], True)]
    assert events("member.updated")[-1]["data"]["change"] == "consent_withdrawn"
    with nothing_written(store), refused(Conflict, code="not_consented"):
        store.kiosk.withdraw_consent(session, ["marketing"])


def test_withdrawing_membership_erases_the_personal_data_the_pin_and_the_session(store, kiosk):
    token, session = join(store, kiosk, name="王小明")
    answer = store.kiosk.withdraw_consent(session, ["membership"])
    assert answer["member_status"] == "erased" and answer["signed_out"] is True
    member = Member.get_by_id(session.member.id)
    assert (member.phone, member.name, member.status) == (None, None, "erased")
    assert KioskMemberPin.get_or_none(KioskMemberPin.member_id == member.id) is None
    assert events("member.erased")[-1]["data"]["kiosk_sessions_ended"] == 1
    with refused(Unauthorized):
        store.kiosk.session(kiosk, token)
    with refused(Unauthorized, code="sign_in_failed"):
        store.kiosk.sign_in(kiosk, phone=PHONE, pin=PIN)


def test_stored_value_left_refuses_withdrawal_at_the_kiosk_and_writes_nothing(store, kiosk, cashier):
    _, session = join(store, kiosk)
    store.stored_value.top_up(cashier, session.member.id, 5000, "cash")
    with nothing_written(store), refused(Conflict):
        store.kiosk.withdraw_consent(session, ["membership"])


def test_merging_ends_the_duplicates_sessions_and_its_pin_serves_the_member_kept(store, kiosk, cashier, manager):
    kept = store.members.register(cashier, phone=OTHER_PHONE, consent=CONSENT, channel="pos")
    token, duplicate = join(store, kiosk)
    store.members.merge(manager, kept.id, duplicate.member.id)
    with refused(Unauthorized):
        store.kiosk.session(kiosk, token)
    assert KioskMemberPin.get_by_id(kept.id) is not None
    assert KioskMemberPin.get_or_none(KioskMemberPin.member_id == duplicate.member.id) is None
    _, signed_in = store.kiosk.sign_in(kiosk, phone=OTHER_PHONE, pin=PIN)
    assert signed_in.member.id == kept.id
