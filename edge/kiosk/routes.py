"""Self-service endpoints: only a kiosk's token reaches them; the member session travels as the bearer token.

Nothing here takes a member id from the request: the session names the member.
"""

from __future__ import annotations

from typing import Literal

import segno
from flask import Response
from pydantic import Field, model_validator

from edge.api.registry import Call, Routes, Schema
from edge.members.gift_routes import RedeemIn
from edge.members.routes import ConsentIn, PhoneText
from edge.members.service import Consent

routes = Routes("kiosk")
KIOSK = {"auth": "device", "kinds": ("kiosk",)}
PIN_RULES = {"min_length": 6, "max_length": 6, "pattern": r"^[0-9]+$"}
PinText = Field(description="the member's 6-digit kiosk PIN", **PIN_RULES)


class KioskMemberIn(Schema):
    phone: str = PhoneText
    pin: str = PinText
    name: str | None = Field(None, max_length=40)
    birthday: str | None = Field(None, max_length=10, description="YYYY-MM-DD")
    gender: Literal["female", "male", "other"] | None = None
    consent: ConsentIn


class SignInIn(Schema):
    phone: str = PhoneText
    pin: str | None = Field(None, description="the member's 6-digit kiosk PIN", **PIN_RULES)
    code: str | None = Field(None, min_length=1, max_length=32, description="the member code from the card")

    @model_validator(mode="after")
    def _one_credential(self):
        if (self.pin is None) == (self.code is None):
            raise ValueError("give exactly one of pin or code")
        return self


class DetailsIn(Schema):
    name: str | None = Field(None, max_length=40)
    birthday: str | None = Field(None, max_length=10, description="YYYY-MM-DD")
    gender: Literal["female", "male", "other"] | None = None


class PinChangeIn(Schema):
    pin: str = PinText
    current_pin: str | None = Field(None, description="needed when the member has a PIN already", **PIN_RULES)


class WithdrawIn(Schema):
    purposes: list[str] = Field(min_length=1, max_length=10, description="'membership' ends the membership")


class PriceCheckIn(Schema):
    barcode: str = Field(min_length=1, max_length=64)


def _session(call: Call):
    return call.store.kiosk.session(call.caller.device, call.session_token)


def _signed_in(token: str, session, call: Call) -> dict:
    return {"token": token, "expires_at": session.expires_at, "member": call.store.members.as_dict(session.member),
            "idle_seconds": call.store.config.kiosk.idle_seconds}


# Not replayable: the answers carry a member session token.
@routes.post("/kiosk/members", "Join as a member at the kiosk with the notice's consent and a PIN; signs in",
             body=KioskMemberIn, status=201, replayable=False, **KIOSK)
def kiosk_register(call: Call):
    body = call.body
    consent = Consent(notice_version=body.consent.notice_version, purposes=tuple(body.consent.purposes),
                      guardian_name=body.consent.guardian_name)
    token, session = call.store.kiosk.register(call.caller.device, phone=body.phone, pin=body.pin, consent=consent,
                                               name=body.name, birthday=body.birthday, gender=body.gender)
    return _signed_in(token, session, call)


@routes.post("/kiosk/sessions", "Sign in: phone number plus the member PIN or the member code",
             body=SignInIn, status=201, replayable=False, **KIOSK)
def kiosk_sign_in(call: Call):
    body = call.body
    token, session = call.store.kiosk.sign_in(call.caller.device, phone=body.phone, pin=body.pin, code=body.code)
    return _signed_in(token, session, call)


@routes.delete("/kiosk/session", "Sign out (the screen's idle reset ends the session)", **KIOSK)
def kiosk_sign_out(call: Call):
    return {"signed_out": call.store.kiosk.sign_out(call.caller.device, call.session_token)}


@routes.get("/kiosk/settings", "What the kiosk screen needs to know: idle time, the notice, the gifts", **KIOSK)
def kiosk_settings(call: Call):
    store = call.store
    return {"idle_seconds": store.config.kiosk.idle_seconds, "store": store.config.store.name,
            "privacy_notice": store.members.privacy_notice(), "gifts": store.gifts.gifts(active_only=True)}


@routes.get("/kiosk/me", "The signed-in member's balance, points, coupons, details and pending gifts", **KIOSK)
def kiosk_me(call: Call):
    return call.store.kiosk.overview(_session(call))


# Answers with the names of the fields changed, not their values: a replayable answer is stored in plain text.
@routes.patch("/kiosk/me", "Change one's own name, birthday or gender", body=DetailsIn, **KIOSK)
def kiosk_update_details(call: Call):
    changes = call.body.model_dump(exclude_unset=True)
    call.store.kiosk.update_details(_session(call), changes)
    return {"updated": sorted(changes)}


@routes.post("/kiosk/me/pin", "Set or change one's kiosk PIN", body=PinChangeIn, replayable=False, **KIOSK)
def kiosk_change_pin(call: Call):
    call.store.kiosk.change_pin(_session(call), call.body.pin, call.body.current_pin)
    return {"pin_set": True}


@routes.post("/kiosk/me/consent/withdraw", "Withdraw consent; 'membership' erases one's personal data",
             body=WithdrawIn, **KIOSK)
def kiosk_withdraw_consent(call: Call):
    return call.store.kiosk.withdraw_consent(_session(call), call.body.purposes)


@routes.post("/kiosk/me/gift-redemptions", "Points for a gift: the pickup code, and a slip when a printer is mapped",
             body=RedeemIn, status=201, **KIOSK)
def kiosk_redeem_gift(call: Call):
    return call.store.kiosk.redeem_gift(_session(call), call.body.gift_id, call.body.qty)


@routes.get("/kiosk/me/gift-redemptions/{code}/code.svg", "One's own pickup code as a QR image", **KIOSK)
def kiosk_pickup_code_image(call: Call, code: str):
    redemption = call.store.kiosk.own_redemption(_session(call), code)
    svg = segno.make_qr(redemption.code, error="m").svg_inline(scale=8, title=redemption.code)
    return Response(svg, mimetype="image/svg+xml")


@routes.post("/kiosk/price-checks", "The price of a scanned product; a signed-in member's check is noted",
             body=PriceCheckIn, **KIOSK)
def kiosk_price_check(call: Call):
    session = _session(call) if call.session_token else None
    return call.store.kiosk.price_check(call.body.barcode, session)
