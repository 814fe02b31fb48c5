"""Room on each page of quiz_attemptitem for answer saves to update rows in place.

Every answer save rewrites one item row. PostgreSQL can update a row in place (a
"HOT" update: no new entry in any of the table's indexes) only when the new version
fits on the same page; with full pages about half of the saves in `make bench`
wrote a new entry into each of the table's nine indexes. A fill factor of 70 keeps
30% of each new page free for that. Existing pages change only when the table is
rewritten (VACUUM FULL or pg_repack). SQLite has no such setting.
"""

from django.db import migrations, models


def set_fillfactor(apps, schema_editor, value: int) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE quiz_attemptitem SET (fillfactor = {int(value)})")


class Migration(migrations.Migration):
    dependencies = [("quiz", "0002_item_report_columns")]

    operations = [
        migrations.RunPython(
            lambda apps, schema_editor: set_fillfactor(apps, schema_editor, 70),
            lambda apps, schema_editor: set_fillfactor(apps, schema_editor, 100),
        ),
        migrations.AlterField(
            model_name="attemptitem",
            name="attempt",
            field=models.ForeignKey(
                db_index=False,
                on_delete=models.deletion.CASCADE,
                related_name="items",
                to="quiz.attempt",
            ),
        ),
    ]
