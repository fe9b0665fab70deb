"""Once seeded notification texts of dossiers or feedback; it does nothing now.

The texts belong to the app that sends them and are seeded by feedback/migrations/0003_notification_templates.py
(rows this migration created on older databases stay). Kept so the migration graph does not
change.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("notifications", "0006_announcements_sms_fallback")]

    operations = [migrations.RunPython(migrations.RunPython.noop, migrations.RunPython.noop)]
