import uuid

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

import common.crypto


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0007_session_second_factor"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="ethnic_group",
            field=common.crypto.EncryptedTextField(
                blank=True, default="", editable=False, verbose_name="dân tộc"
            ),
        ),
        migrations.AddField(
            model_name="user",
            name="deleted_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="xoá tài khoản lúc"),
        ),
        migrations.CreateModel(
            name="EthnicGroup",
            fields=[
                (
                    "code",
                    models.CharField(
                        max_length=2, primary_key=True, serialize=False, verbose_name="mã"
                    ),
                ),
                ("name", models.CharField(max_length=64, verbose_name="tên dân tộc")),
                (
                    "other_names",
                    models.JSONField(blank=True, default=list, verbose_name="tên gọi khác"),
                ),
            ],
            options={
                "verbose_name": "dân tộc",
                "verbose_name_plural": "dân tộc",
                "ordering": ("code",),
            },
        ),
        migrations.CreateModel(
            name="Consent",
            fields=[
                (
                    "id",
                    models.UUIDField(
                        default=uuid.uuid4, editable=False, primary_key=True, serialize=False
                    ),
                ),
                (
                    "purpose",
                    models.CharField(
                        choices=[
                            ("location", "Vị trí chính xác trong phản ánh"),
                            ("ethnic_group", "Dân tộc trong hồ sơ cá nhân"),
                            ("publish", "Công khai phản ánh"),
                        ],
                        max_length=20,
                        verbose_name="mục đích",
                    ),
                ),
                (
                    "text_version",
                    models.CharField(max_length=32, verbose_name="phiên bản nội dung"),
                ),
                (
                    "given_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now, verbose_name="đồng ý lúc"
                    ),
                ),
                (
                    "withdrawn_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="rút lại lúc"),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="consents",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="người dùng",
                    ),
                ),
            ],
            options={
                "verbose_name": "sự đồng ý",
                "verbose_name_plural": "sự đồng ý",
                "ordering": ("-given_at",),
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("withdrawn_at__isnull", True)),
                        fields=("user", "purpose"),
                        name="one_active_consent_per_purpose",
                    )
                ],
            },
        ),
    ]
