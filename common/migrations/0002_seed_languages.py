"""The languages the service starts with: Vietnamese, English and the minority languages of
the northern mountains and the Central Highlands (and Khmer of the Mekong delta).

Minority languages are listed roughly by number of speakers in Vietnam (2019 census). Native
names are the speakers' own names for their language; for Tai Dam, in the Tai Viet script
taught in Vietnam.
"""

from django.db import migrations

LANGUAGES = [
    # code, native name, English name, position
    ("vi", "Tiếng Việt", "Vietnamese", 1),
    ("en", "English", "English", 2),
    ("tyz", "Tày", "Tày", 10),
    ("blt", "ꪼꪕꪒꪾ", "Tai Dam", 11),
    ("mtq", "Mường", "Muong", 12),
    ("hmn", "Hmoob", "Hmong", 13),
    ("km", "ខ្មែរ", "Khmer", 14),
    ("nut", "Nùng", "Nung", 15),
    ("ium", "Iu Mienh", "Iu Mien", 16),
    ("jra", "Jrai", "Jarai", 17),
    ("rad", "Êđê", "Rade", 18),
    ("bdq", "Bahnar", "Bahnar", 19),
]


def seed(apps, schema_editor):
    Language = apps.get_model("common", "Language")
    for code, native_name, english_name, position in LANGUAGES:
        # A row an operator already made keeps its names.
        Language.objects.get_or_create(
            code=code,
            defaults={
                "native_name": native_name,
                "english_name": english_name,
                "position": position,
                "enabled": True,
            },
        )


def unseed(apps, schema_editor):
    Language = apps.get_model("common", "Language")
    Language.objects.filter(code__in=[row[0] for row in LANGUAGES]).delete()


class Migration(migrations.Migration):
    dependencies = [("common", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
