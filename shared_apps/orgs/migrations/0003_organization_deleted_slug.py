from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("orgs", "0002_platformevent_append_only")]

    operations = [
        migrations.AddField(
            model_name="organization",
            name="deleted_slug",
            field=models.CharField(blank=True, default="", max_length=40),
        ),
    ]
