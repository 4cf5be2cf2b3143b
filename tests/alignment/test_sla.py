"""The sales side of the SLA on a frozen clock: business hours on the workspace calendar across a weekend,
a holiday and the autumn daylight-saving change in Europe/Berlin; the warning, the breach and each escalation
raised once; the first touch and the decision stop the clocks; the most specific policy applies; the
calendar's fields are checked."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from alignment import sla
from alignment.models import Notification, SlaClock, SlaPolicy
from marketing.models import Contact, Segment, SegmentMember, StageTransition
from sales.models import Activity, LeadDecision, Team
from tests.conftest import user_in
from tests.marketing import factories

pytestmark = pytest.mark.django_db

UTC = dt.UTC
# Friday 23 October 2026, 15:00 in Berlin (summer time, UTC+2) = 13:00 UTC.
MQL_AT = dt.datetime(2026, 10, 23, 13, 0, tzinfo=UTC)


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(2026, 10, day, hour, minute, second, tzinfo=UTC)


@pytest.fixture
def berlin(alpha):
    """Berlin hours, Monday 26 October a holiday; a 4-hour first touch and an 8-hour decision, at risk at
    75%, leadership 8 business hours after a breach. Sara (sales) in team East, led by Alice (admin)."""
    sla.calendar_update(
        data={
            "time_zone": "Europe/Berlin",
            "working_days": [1, 2, 3, 4, 5],
            "holidays": [dt.date(2026, 10, 26)],
        }
    )
    policy = SlaPolicy.objects.get()
    policy.first_touch_hours, policy.decision_hours = Decimal(4), Decimal(8)
    policy.save()
    team = Team.objects.create(name="East", lead=user_in("alpha", "admin"))
    team.members.add(user_in("alpha", "sales"))
    return policy


def mql(at_moment=MQL_AT, owner_role="sales", **fields) -> Contact:
    person = factories.contact(owner=user_in("alpha", owner_role) if owner_role else None, **fields)
    Contact.objects.filter(pk=person.pk).update(lifecycle_stage="mql", mql_at=at_moment)
    StageTransition.objects.create(contact=person, from_stage="lead", to_stage="mql", at=at_moment)
    return person


def notices(kind: str) -> list[tuple[str, str]]:
    return sorted(
        (n.user.email, n.title.split(":")[0])
        for n in Notification.objects.filter(kind=kind).select_related("user")
    )


def test_the_clock_counts_berlin_business_hours_over_a_weekend_a_holiday_and_the_clock_change(berlin):
    mql()
    # Friday 15:00-17:00 CEST: 2 hours. The weekend (and the switch to CET on Sunday) and Monday's holiday
    # count nothing. Tuesday opens at 09:00 CET = 08:00 UTC: 3 hours used (75%) at 09:00 UTC, 4 at 10:00 UTC.
    # A UTC calendar would have breached on Friday at 17:00 UTC.
    first = sla.sla_check(now=at(23, 17, 30))
    assert first.opened == 1 and first.warned == first.breached == []
    clock = SlaClock.objects.get()
    assert (clock.first_touch_hours, clock.owner) == (Decimal(4), user_in("alpha", "sales"))
    assert sla.sla_check(now=at(27, 8, 59)).warned == []
    assert len(sla.sla_check(now=at(27, 9, 0)).warned) == 1  # 3 of 4 hours: at risk
    assert notices("sla_at_risk") == [("sara@alpha.example", "SLA at risk")]
    assert sla.sla_check(now=at(27, 10, 0)).breached == []  # exactly 4 hours: not over yet
    breach = sla.sla_check(now=at(27, 10, 0, 1))
    assert breach.breached == [clock.pk]
    # the owner and the team lead hear of it; leadership not yet
    assert notices("sla_breached") == [
        ("alice@alpha.example", "SLA breached"),
        ("sara@alpha.example", "SLA breached"),
    ]
    # raised once: later checks find nothing new
    again = sla.sla_check(now=at(27, 12, 0))
    assert again.breached == again.escalated == []
    assert again.warned == [clock.pk]  # the decision's clock: 2 + 4 = 6 of its 8 hours
    assert Notification.objects.filter(kind="sla_breached").count() == 2
    # escalated to leadership 8 business hours after the breach: Tuesday 11:00:01-17:00 CET (5:59:59), then
    # Wednesday 09:00-11:00:01 CET = 10:00:01 UTC
    assert sla.sla_check(now=at(28, 10, 0)).escalated == []
    assert sla.sla_check(now=at(28, 10, 0, 1)).escalated == [clock.pk]
    assert notices("sla_escalated") == [("leo@alpha.example", "SLA breach still open")]
    assert sla.sla_check(now=at(28, 16, 0)).escalated == []
    clock.refresh_from_db()
    assert (clock.escalation_level, clock.first_touch_breached_at) == (2, at(27, 10, 0, 1))


def test_a_touch_in_time_stops_the_first_touch_clock_and_a_decision_the_other(berlin):
    person = mql()
    sla.sla_check(now=at(23, 14, 0))
    # a call on Tuesday 08:30 UTC (2.5 business hours in): in time
    Activity.objects.create(
        kind="call", subject="Intro", contact=person, owner=user_in("alpha", "sales"), done_at=at(27, 8, 30)
    )
    result = sla.sla_check(now=at(27, 9, 0))
    clock = SlaClock.objects.get()
    assert clock.first_touch_at == at(27, 8, 30) and result.warned == []  # the decision clock: 3 of 8 hours
    LeadDecision.objects.create(contact=person, mql_at=MQL_AT, decision="accepted", decided_at=at(27, 12, 0))
    sla.sla_check(now=at(29, 12, 0))  # the decision came at 6 of 8 business hours: met
    clock.refresh_from_db()
    assert clock.decided_at == at(27, 12, 0)
    assert (clock.first_touch_breached_at, clock.decision_breached_at) == (None, None)
    assert not Notification.objects.filter(kind="sla_breached").exists()


def test_a_late_touch_is_a_breach_too(berlin):
    person = mql()
    sla.sla_check(now=at(23, 14, 0))
    Activity.objects.create(
        kind="email", subject="Late", contact=person, owner=user_in("alpha", "sales"), done_at=at(27, 11, 0)
    )
    # the check runs after the touch: it came 5 business hours in, over the 4 allowed
    assert len(sla.sla_check(now=at(27, 11, 30)).breached) == 1
    assert SlaClock.objects.get().first_touch_breached_at == at(27, 11, 30)


def test_the_most_specific_policy_applies(berlin):
    vip = Segment.objects.create(name="VIP", kind="static")
    team_policy = SlaPolicy.objects.create(name="East", team=Team.objects.get(), first_touch_hours=2)
    segment_policy = SlaPolicy.objects.create(name="VIP", segment=vip, first_touch_hours=1)
    in_segment = mql(email="vip@example.com")
    SegmentMember.objects.create(segment=vip, contact=in_segment)
    in_team = mql(email="east@example.com")
    nobody = mql(email="nobody@example.com", owner_role=None)
    sla.sla_check(now=at(23, 14, 0))
    policies = {k.contact_id: (k.policy_id, k.first_touch_hours) for k in SlaClock.objects.all()}
    assert policies == {
        in_segment.pk: (segment_policy.pk, Decimal(1)),
        in_team.pk: (team_policy.pk, Decimal(2)),
        nobody.pk: (berlin.pk, Decimal(4)),
    }


def test_an_unowned_breach_goes_to_leadership_and_a_breach_can_reassign(berlin):
    berlin.reassign_on_breach = True
    berlin.save()
    team = Team.objects.get()
    other = user_in("alpha", "admin")
    team.members.add(other)
    person = mql()
    orphan = mql(email="orphan@example.com", owner_role=None)
    sla.sla_check(now=at(23, 14, 0))
    result = sla.sla_check(now=at(27, 10, 30))
    assert len(result.breached) == 2 and result.reassigned == 1
    person.refresh_from_db()
    assert person.owner == other  # dealt to the next member of Sara's team
    assert ("leo@alpha.example", "SLA breached") in notices("sla_breached")
    assert SlaClock.objects.get(contact=orphan).first_touch_breached_at is not None  # unowned, breached too


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"time_zone": "CET"}, "time_zone"),
        ({"working_days": [0, 8]}, "working_days"),
        ({"working_days": []}, "working_days"),
        ({"day_start": dt.time(17), "day_end": dt.time(9)}, "day_end"),
    ],
)
def test_calendar_fields_are_checked(alpha, data, field):
    with pytest.raises(ValidationError) as error:
        sla.calendar_update(data=data)
    assert field in error.value.message_dict
    assert sla.calendar().time_zone == "UTC"  # nothing stored


def test_only_leadership_and_admins_set_the_calendar_and_policies(alpha):
    from django.core.exceptions import PermissionDenied

    for role in ("marketing", "sales"):
        with pytest.raises(PermissionDenied):
            sla.calendar_update(actor=user_in("alpha", role), data={"time_zone": "Europe/Paris"})
        with pytest.raises(PermissionDenied):
            sla.policy_save(
                actor=user_in("alpha", role), data={"name": "Mine"}, policy=SlaPolicy.objects.get()
            )
        with pytest.raises(PermissionDenied):
            sla.policy_deactivate(actor=user_in("alpha", role), policy=SlaPolicy.objects.get())
    assert sla.calendar().time_zone == "UTC" and SlaPolicy.objects.get().is_active
    sla.calendar_update(actor=user_in("alpha", "leadership"), data={"time_zone": "Europe/Paris"})
    assert sla.calendar().time_zone == "Europe/Paris"
