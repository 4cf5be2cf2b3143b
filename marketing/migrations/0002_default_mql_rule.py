from django.db import migrations


def create_default_rule(apps, schema_editor):
    MqlRule = apps.get_model("marketing", "MqlRule")
    if not MqlRule.objects.exists():
        MqlRule.objects.create(version=1, score_threshold=50, note="Default rule")


class Migration(migrations.Migration):
    dependencies = [("marketing", "0001_initial")]

    operations = [migrations.RunPython(create_default_rule, migrations.RunPython.noop)]
