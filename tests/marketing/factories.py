"""Small builders for marketing rows, through the services (so tests exercise the real rules)."""

from __future__ import annotations

import datetime as dt
import itertools

from marketing.services.campaigns import campaign_create
from marketing.services.contacts import company_create, contact_create
from marketing.services.content import content_create

_seq = itertools.count(1)


def company(**data):
    n = next(_seq)
    return company_create(data={"name": f"Company {n}", "domain": f"company{n}.example", **data})


def contact(**data):
    n = next(_seq)
    stage = data.pop("stage", "lead")
    return contact_create(data={"email": f"person{n}@example.com", **data}, stage=stage)


def campaign(**data):
    n = next(_seq)
    return campaign_create(
        data={"name": f"Campaign {n}", "channel": "email", "start_date": dt.date(2026, 1, 1), **data}
    )


def content(**data):
    n = next(_seq)
    return content_create(
        data={
            "title": f"Case study {n}",
            "kind": "case_study",
            "funnel_stage": "decision",
            "url": f"https://example.com/case-{n}",
            **data,
        }
    )
