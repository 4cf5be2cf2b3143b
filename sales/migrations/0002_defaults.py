"""Every workspace starts with sensible pipelines, loss and rejection reasons, which it can change."""

from django.db import migrations

PIPELINES = [
    ("New business", True, [("Qualification", 10, 7), ("Discovery", 20, 14), ("Demo", 40, 14), ("Proposal", 60, 10),
                            ("Negotiation", 80, 10)]),
    ("Upsell", False, [("Identified", 20, 14), ("Proposal", 50, 14), ("Negotiation", 75, 10)]),
    ("Renewals", False, [("Upcoming", 60, 30), ("In negotiation", 80, 21)]),
]
CLOSED = {"New business": ("Won", "Lost"), "Upsell": ("Won", "Lost"), "Renewals": ("Renewed", "Churned")}
LOSS_REASONS = [
    ("pricing", "Too expensive"), ("pricing", "No budget this year"), ("competitor", "Chose Pipedrive"),
    ("competitor", "Chose HubSpot"), ("product", "Missing integration"), ("product", "Missing reporting"),
    ("positioning", "Did not see the value"), ("packaging", "Plan did not fit the team size"),
    ("timing", "Not now"), ("no_decision", "Went silent"), ("other", "Other"),
]
REJECTION_REASONS = ["Not a fit: company size", "Student or job seeker", "Competitor", "No budget",
                     "Bad contact data", "Already a customer"]


def create_defaults(apps, schema_editor):
    Pipeline = apps.get_model("sales", "Pipeline")
    Stage = apps.get_model("sales", "Stage")
    if Pipeline.objects.exists():
        return
    for index, (name, default, stages) in enumerate(PIPELINES):
        pipeline = Pipeline.objects.create(name=name, position=index, is_default=default)
        for position, (stage, probability, days) in enumerate(stages):
            Stage.objects.create(pipeline=pipeline, name=stage, position=position, probability=probability,
                                 expected_days=days)
        won, lost = CLOSED[name]
        Stage.objects.create(pipeline=pipeline, name=won, position=len(stages), kind="won", probability=100,
                             expected_days=0)
        Stage.objects.create(pipeline=pipeline, name=lost, position=len(stages) + 1, kind="lost", probability=0,
                             expected_days=0)
    apps.get_model("sales", "LossReason").objects.bulk_create(
        [apps.get_model("sales", "LossReason")(category=c, name=n) for c, n in LOSS_REASONS]
    )
    apps.get_model("sales", "RejectionReason").objects.bulk_create(
        [apps.get_model("sales", "RejectionReason")(name=n) for n in REJECTION_REASONS]
    )
    apps.get_model("sales", "SalesSettings").objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [("sales", "0001_initial")]

    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
