"""The additive migration the benchmark runs over every workspace: a column with a default and an index."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("benchtenant", "0001_initial")]

    operations = [
        migrations.AddField(model_name="note", name="flagged", field=models.BooleanField(default=False)),
        migrations.AddIndex(
            model_name="note", index=models.Index(fields=["flagged", "created"], name="benchtenant_note_flagged")
        ),
    ]
