"""The member card at the checkout: what the cashier needs to serve a member, on one screen.

Level and progress to the next one, stored value (principal and bonus),
points and those expiring soon, the coupons usable today, the level's
benefits, and whether the birthday falls in this week, all read in one
snapshot of the database. Personal data is masked; the birthday is shown as
this year's date only, never the year of birth.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from edge.members.identity import mask_name, mask_phone

EXPIRING_DAYS = 30  # points whose lot ends within this many days are pointed out


def birthday_in(year: int, birthday: str) -> date:
    """The member's birthday in this year; a 29 February birthday falls on 28 February in other years."""
    month, day = int(birthday[5:7]), int(birthday[8:10])
    if (month, day) == (2, 29) and not calendar.isleap(year):
        day = 28
    return date(year, month, day)


def birthday_this_week(birthday: str | None, today: date) -> tuple[bool, date | None]:
    """Whether the birthday falls in today's week (Monday to Sunday), and the day it is kept.

    Not this week: the next birthday from today. A week across New Year looks at both years."""
    if birthday is None:
        return False, None
    monday = today - timedelta(days=today.weekday())
    sunday = monday + timedelta(days=6)
    for year in sorted({monday.year, sunday.year}):
        kept = birthday_in(year, birthday)
        if monday <= kept <= sunday:
            return True, kept
    upcoming = birthday_in(today.year, birthday)
    return False, upcoming if upcoming >= today else birthday_in(today.year + 1, birthday)


def member_card(app, member_id: str, today: date | None = None) -> dict:
    """The card of a member (a merged one answers as the member kept), as of the store's day."""
    today = today or app.today()
    with app.db.peewee.atomic():  # one read snapshot: balances and lots agree with each other
        member = app.members.find(member_id=member_id)
        progress = app.levels.progress(member.id)
        level = app.levels.level_of(member.id)
        until = (today + timedelta(days=EXPIRING_DAYS)).isoformat()
        ending = [lot for lot in app.points.lots(member.id)  # a lot without a last day never expires
                  if lot.entry.expires_on and today.isoformat() <= lot.entry.expires_on <= until]
        this_week, kept_on = birthday_this_week(member.birthday, today)
        return {
            "member": {"id": member.id, "code": member.code, "status": member.status,
                       "phone_masked": mask_phone(member.phone), "name_masked": mask_name(member.name)},
            "level": {"name": level.name, "spend_12m": progress["spend_12m"], "next_level": progress["next_level"],
                      "to_next_level": progress["to_next_level"]},
            "benefits": {"discount_percent": level.discount_percent, "points_multiplier": level.points_multiplier,
                         "birthday_multiplier": level.birthday_multiplier},
            "stored_value": app.stored_value.balance(member.id).as_dict(),
            "points": {"balance": (balance := app.points.balance(member.id)),
                       # what the points can pay, in whole fen, at the configured rate (the points tender)
                       "worth": balance * 100 // app.points.rules.redeem_per_yuan, "expiring_days": EXPIRING_DAYS,
                       "expiring": sum(lot.left for lot in ending),
                       "first_expiring_on": ending[0].entry.expires_on if ending else None},
            "coupons": app.coupons.usable(member.id),
            "birthday": {"this_week": this_week, "on": kept_on.isoformat() if kept_on else None},
            "as_of": today.isoformat(),
        }
