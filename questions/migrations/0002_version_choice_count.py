"""QuestionVersion.choice_count, filled for existing versions; a covering pool index."""

from django.db import migrations, models


def count_choices(apps, schema_editor):
    QuestionVersion = apps.get_model("questions", "QuestionVersion")
    versions = list(QuestionVersion.objects.only("pk", "data"))
    for version in versions:
        version.choice_count = len(version.data["choices"])
    QuestionVersion.objects.bulk_update(versions, ["choice_count"], batch_size=500)


class Migration(migrations.Migration):
    dependencies = [
        ("questions", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="questionversion",
            name="choice_count",
            field=models.PositiveSmallIntegerField(default=0, editable=False),
        ),
        migrations.RunPython(count_choices, migrations.RunPython.noop),
        migrations.RemoveIndex(model_name="question", name="question_pool_idx"),
        migrations.AddIndex(
            model_name="question",
            index=models.Index(
                fields=["exam", "status", "domain"], include=("id", "current_version"), name="question_pool_idx"
            ),
        ),
    ]
