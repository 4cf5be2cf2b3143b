"""Deals and the lead queue: refused moves store nothing, history is recorded once, closing has rules."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from accounts.models import User
from marketing.models import Company, Contact, StageTransition
from marketing.services.contacts import contact_change_stage
from sales.models import (
    CustomerAccount,
    Deal,
    DealStageChange,
    LeadDecision,
    LossReason,
    Pipeline,
    RejectionReason,
    Team,
)
from sales.services.deals import deal_close_lost, deal_close_won, deal_create, deal_move, deal_update
from sales.services.leads import lead_accept, lead_assign, lead_queue, lead_reject
from tests.marketing import factories

pytestmark = pytest.mark.django_db


def new_business() -> Pipeline:
    return Pipeline.objects.get(name="New business")


def stage(pipeline: Pipeline, name: str):
    return pipeline.stages.get(name=name)


def test_new_workspaces_have_default_pipelines_and_reasons(alpha):
    assert list(Pipeline.objects.values_list("name", flat=True)) == ["New business", "Upsell", "Renewals"]
    assert list(new_business().stages.values_list("name", "probability", "kind")) == [
        ("Qualification", 10, "open"),
        ("Discovery", 20, "open"),
        ("Demo", 40, "open"),
        ("Proposal", 60, "open"),
        ("Negotiation", 80, "open"),
        ("Won", 100, "won"),
        ("Lost", 0, "lost"),
    ]
    assert LossReason.objects.filter(category="pricing").exists() and RejectionReason.objects.exists()


def test_deal_opens_in_the_first_stage_and_records_it(alpha):
    deal = deal_create(data={"name": "Acme", "amount": "12000"})
    assert (deal.pipeline.name, deal.stage.name, deal.status) == ("New business", "Qualification", "open")
    assert list(deal.stage_changes.values_list("from_stage", "to_stage__name")) == [(None, "Qualification")]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": "x", "amount": "-1"}, "amount"),
        ({"name": "x", "expected_close_date": "2001-01-01"}, "expected_close_date"),
        ({"name": "x", "deal_type": "barter"}, "deal_type"),
        ({"name": "", "amount": "1"}, "name"),
        ({"name": "x\x00"}, "name"),
        ({"name": "x", "company": 999999}, "company"),
        ({"name": "x", "probability_override": 150}, "probability_override"),
    ],
)
def test_deal_create_refuses_bad_input(alpha, data, field):
    with pytest.raises(ValidationError) as info:
        deal_create(data=data)
    assert field in info.value.message_dict
    assert Deal.objects.count() == 0 and DealStageChange.objects.count() == 0


def test_deal_in_a_stage_of_another_pipeline_or_closed_is_refused(alpha):
    upsell = Pipeline.objects.get(name="Upsell")
    with pytest.raises(ValidationError) as info:
        deal_create(data={"name": "x", "pipeline": new_business().pk, "stage": stage(upsell, "Proposal").pk})
    assert "stage" in info.value.message_dict
    with pytest.raises(ValidationError):
        deal_create(data={"name": "x", "stage": stage(new_business(), "Won").pk})
    assert Deal.objects.count() == 0


def test_moves_are_recorded_and_refused_moves_store_nothing(alpha):
    deal = deal_create(data={"name": "Moves", "amount": "100"})
    pipeline = new_business()
    deal = deal_move(deal=deal, stage=stage(pipeline, "Demo"))
    deal = deal_move(deal=deal, stage=stage(pipeline, "Proposal"))
    assert deal.version == 3
    refused = [
        (stage(Pipeline.objects.get(name="Upsell"), "Proposal"), "another pipeline"),
        (stage(pipeline, "Lost"), "losing needs a reason"),
    ]
    for target, message in refused:
        with pytest.raises(ValidationError, match=message):
            deal_move(deal=deal, stage=target)
    with pytest.raises(ValidationError, match="changed this deal meanwhile"):
        deal_move(deal=deal, stage=stage(pipeline, "Negotiation"), expected_version=1)
    with pytest.raises(ValidationError):
        deal_update(deal=deal, data={"stage": stage(pipeline, "Negotiation").pk})
    chain = list(deal.stage_changes.values_list("from_stage__name", "to_stage__name"))
    assert chain == [(None, "Qualification"), ("Qualification", "Demo"), ("Demo", "Proposal")]


def test_losing_needs_a_structured_reason_and_a_closed_deal_does_not_move(alpha):
    deal = deal_create(data={"name": "Lost one", "amount": "500"})
    pricing = LossReason.objects.get(name="Too expensive")
    competitor = LossReason.objects.get(name="Chose HubSpot")
    for kwargs, field in [
        ({"category": "", "reason": pricing.pk, "note": "x"}, "category"),
        ({"category": "pricing", "reason": competitor.pk, "note": "x"}, "reason"),
        ({"category": "pricing", "reason": pricing.pk, "note": " "}, "note"),
        ({"category": "pricing", "reason": 999999, "note": "x"}, "reason"),
    ]:
        with pytest.raises(ValidationError) as info:
            deal_close_lost(deal=deal, **kwargs)
        assert field in info.value.message_dict
    assert Deal.objects.get(pk=deal.pk).status == "open"
    lost = deal_close_lost(deal=deal, category="pricing", reason=pricing, note="40% over their budget")
    assert (lost.status, lost.stage.name, lost.loss_category, lost.loss_reason) == (
        "lost",
        "Lost",
        "pricing",
        pricing,
    )
    with pytest.raises(ValidationError, match="closed"):
        deal_move(deal=lost, stage=stage(new_business(), "Demo"))


def test_winning_makes_contacts_and_company_customers(alpha):
    company = factories.company()
    buyer = factories.contact(company=company)
    deal = deal_create(
        data={"name": "Win", "amount": "9000", "company": company.pk, "primary_contact": buyer.pk}
    )
    won = deal_close_won(deal=deal)
    assert (won.status, won.stage.name) == ("won", "Won")
    buyer.refresh_from_db()
    assert buyer.lifecycle_stage == "customer"
    assert Company.objects.get(pk=company.pk).is_customer
    assert CustomerAccount.objects.get(company=company).first_deal == won


def _mql(**data) -> Contact:
    contact = factories.contact(**data)
    contact_change_stage(contact=contact, to_stage="mql", rule="test")
    contact.refresh_from_db()
    return contact


def test_accepting_an_mql_records_sql_once_and_can_open_a_deal(alpha):
    campaign = factories.campaign()
    lead = _mql(company=factories.company(name="Globex"))
    Contact.objects.filter(pk=lead.pk).update(first_touch_campaign=campaign)
    lead.refresh_from_db()
    assert list(lead_queue()) == [lead]
    decision, deal = lead_accept(contact=lead, open_deal=True, deal_data={"amount": "5000"})
    assert decision.decision == "accepted" and decision.campaign == campaign
    assert (deal.name, deal.source_campaign, deal.lead) == ("Globex", campaign, lead)
    assert list(StageTransition.objects.filter(contact=lead).values_list("to_stage", flat=True)) == [
        "lead",
        "mql",
        "sql",
        "opportunity",
    ]
    with pytest.raises(ValidationError):
        lead_accept(contact=lead)
    assert LeadDecision.objects.filter(contact=lead).count() == 1 and list(lead_queue()) == []


def test_rejecting_an_mql_needs_a_reason_and_sends_it_back_to_marketing(alpha):
    lead = _mql()
    with pytest.raises(ValidationError) as info:
        lead_reject(contact=lead, reason=999999)
    assert "reason" in info.value.message_dict
    reason = RejectionReason.objects.get(name="No budget")
    decision = lead_reject(contact=lead, reason=reason, note="Said next year")
    lead.refresh_from_db()
    assert lead.lifecycle_stage == "lead"
    last = lead.transitions.order_by("-at", "-id").first()
    assert (last.to_stage, last.by_rule, last.reason) == (
        "lead",
        "lead-rejected",
        "No budget: Said next year",
    )
    assert decision.reason == reason
    with pytest.raises(ValidationError):
        lead_reject(contact=lead, reason=reason)


def test_round_robin_assignment(alpha):
    reps = [
        User.objects.create_user(email=f"rep{i}@alpha.example", full_name=f"Rep {i}", roles=["sales"])
        for i in range(3)
    ]
    team = Team.objects.create(name="EMEA")
    team.members.set(reps)
    leads = [_mql() for _ in range(4)]
    assigned = [lead_assign(contact=lead, team=team) for lead in leads]
    assert assigned == [reps[0], reps[1], reps[2], reps[0]]
    marketer = User.objects.get(email="mark@alpha.example")
    with pytest.raises(ValidationError):
        lead_assign(contact=leads[0], rep=marketer)
